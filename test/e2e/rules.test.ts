/**
 * "Show iptables Rules" in a real VS Code (code-server) in a real Chromium, against the lab:
 * right-click node lab-worker → the rules open as a read-only `iptables` document titled with
 * the node and backend; with the cursor on the KUBE-SERVICES rule of lab-apps/web, the
 * Outline view lists KUBE-SERVICES; Go to Definition (F12) on its
 * `-j KUBE-SVC-…` lands on that chain's definition line. The line numbers and texts are
 * checked against `iptables-nft-save` run independently in the node's network namespace.
 * The debug pod is removed at the end (checked through the API).
 *
 * Needs the lab (KNI_LAB_KUBECONFIG), root (`ip netns exec`) and the built extension.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Page } from 'playwright-core';
import { VsCodeSession, formatRows, poll } from './harness';
import {
  CONTAINER_TITLE,
  DIAGNOSTIC_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  acceptConsent,
  contextMenu,
  contextPrefix,
  cursorLine,
  debugPods,
  deleteNewDebugPods,
  escapeRegExp,
  inNodeNetns,
  manifestTitles,
  notifications,
  rowUnder,
  waitForNoNewDebugPods,
} from './dataPlaneUi';

const NODE = 'lab-worker';
const SERVICE = 'lab-apps/web';

/** The DOM the page functions below read (the project compiles without the DOM library). */
interface DomElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

/** Labels of the rows the Outline view renders. */
async function outlineRows(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<DomElement> } };
    for (const pane of Array.from(document.querySelectorAll('.part.sidebar .pane'))) {
      // The header's accessible name is "Outline Section".
      if (!/^Outline\b/.test(pane.querySelector('.pane-header')?.getAttribute('aria-label') ?? '')) {
        continue;
      }
      return Array.from(pane.querySelectorAll('.monaco-list-row .label-name')).map((label) => (label.textContent ?? '').trim());
    }
    return [];
  });
}

async function goToLine(page: Page, line: number, column: number): Promise<void> {
  await page.keyboard.press('Control+g');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
}

test('Show iptables Rules on a lab node: KUBE-SERVICES in the outline, Go to Definition from -j KUBE-SVC-… lands on the chain', { timeout: 10 * 60_000 }, async (t) => {
  const kubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(kubeconfig && fs.existsSync(kubeconfig), 'KNI_LAB_KUBECONFIG is not set to a kubeconfig file: start the lab with `npm run lab -- up` and set KNI_LAB_KUBECONFIG to the path it prints');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const { viewName, commandTitle } = manifestTitles();
  const before = new Set((await debugPods(api)).keys());

  // The truth, read by hand in the node's namespace: the rule that sends web's ClusterIP to its
  // service chain, and where that chain is defined.
  const truth = inNodeNetns(NODE, ['iptables-nft-save']).split('\n');
  const ruleIndex = truth.findIndex((line) => line.startsWith('-A KUBE-SERVICES ') && line.includes(`"${SERVICE}:http cluster IP"`) && /-j KUBE-SVC-[A-Z0-9]+$/.test(line));
  assert.ok(ruleIndex >= 0, `iptables-nft-save in ${NODE} has the KUBE-SERVICES rule of ${SERVICE}`);
  const rule = truth[ruleIndex] as string;
  const chain = /-j (KUBE-SVC-[A-Z0-9]+)$/.exec(rule)?.[1] as string;
  const declarationIndex = truth.findIndex((line) => line.startsWith(`:${chain} `));
  const firstRuleIndex = truth.findIndex((line) => line.startsWith(`-A ${chain} `));
  assert.ok(declarationIndex >= 0 || firstRuleIndex >= 0, `${chain} is defined`);
  t.diagnostic(`truth: line ${ruleIndex + 1} "${rule}"; ${chain} declared on line ${declarationIndex + 1}, first rule on line ${firstRuleIndex + 1}`);

  const session = await VsCodeSession.start({
    name: 'rules',
    kubeconfig,
    settings: { 'kubeNet.debugPod.idleTimeoutSeconds': 600, 'outline.collapseItems': 'alwaysExpand', 'workbench.list.defaultFindMode': 'filter' },
  });
  const page = session.page;
  try {
    await session.openView(CONTAINER_TITLE);
    const prefix = await contextPrefix(session, viewName, kc.getCurrentContext());
    const nodesPath = [...prefix, /^Nodes$/];
    await session.expand(viewName, nodesPath);
    await session.resizeSidebar(380);
    const row = await rowUnder(session, viewName, nodesPath, NODE);
    await contextMenu(session, viewName, row, commandTitle('kubeNet.showRules'));
    await acceptConsent(page, [NODE]);

    // The document: its tab names the node and the backend, its language is iptables.
    // (The tab may leave out the `.iptables` extension.)
    const tabPattern = new RegExp(`^${escapeRegExp(NODE)} iptables-save \\(nf_tables\\)(\\.iptables)?$`);
    const tab = await poll(
      async () => {
        const labels = await page.locator('.tabs-container .tab.active .label-name').allInnerTexts().catch(() => []);
        return labels.find((label) => tabPattern.test(label.trim()));
      },
      DIAGNOSTIC_TIMEOUT_MS,
      `an editor tab ${tabPattern}`,
      async () => `tabs: ${(await page.locator('.tabs-container .tab .label-name').allInnerTexts().catch(() => [])).join(' | ')}; notifications: ${(await notifications(page)).join(' | ')}`,
    );
    t.diagnostic(`editor tab: ${tab}`);
    // The status bar names the language by its first alias.
    await poll(async () => (/^iptables(-save)?$/.test((await page.locator('.statusbar-item[id="status.editor.mode"]').innerText().catch(() => '')).trim()) ? true : undefined), UI_TIMEOUT_MS, 'the language mode "iptables-save" in the status bar');

    // The Outline view next to the document, following the cursor.
    await session.runCommand('Explorer: Focus on Outline View');
    await session.runCommand('View: Focus Active Editor Group');

    // The cursor into the chain name of `-j KUBE-SVC-…` on the KUBE-SERVICES rule.
    const column = rule.lastIndexOf(chain) + 1 + 4;
    const toRule = async (): Promise<void> => {
      await goToLine(page, ruleIndex + 1, column);
      const onRule = await poll(async () => {
        const position = await cursorLine(page);
        return position.line === ruleIndex + 1 && position.column === column ? position : undefined;
      }, UI_TIMEOUT_MS, `the cursor on line ${ruleIndex + 1}, column ${column}`);
      assert.equal(onRule.text, rule, 'the document line under the cursor is the rule read from iptables-nft-save');
    };
    await toRule();

    // The Outline view follows the cursor to the chain it is in; if it does not scroll there by
    // itself, its own filter (type in the tree) finds the chain among the document's symbols.
    // (VS Code shows no breadcrumbs for documents of a content provider's scheme.)
    let outline = await poll(async () => {
      const labels = await outlineRows(page);
      return labels.includes('KUBE-SERVICES') ? labels : undefined;
    }, 5_000, 'KUBE-SERVICES in the Outline view').catch(() => undefined);
    if (outline === undefined) {
      await page.locator('.part.sidebar .pane:has(.pane-header[aria-label^="Outline"]) .monaco-list-row').first().click({ timeout: UI_TIMEOUT_MS });
      await page.keyboard.type('KUBE-SERVICES');
      outline = await poll(async () => {
        const labels = await outlineRows(page);
        return labels.includes('KUBE-SERVICES') ? labels : undefined;
      }, UI_TIMEOUT_MS, 'KUBE-SERVICES in the Outline view', async () => `outline rows: ${(await outlineRows(page)).join(', ')}`);
      await session.runCommand('View: Focus Active Editor Group');
    }
    t.diagnostic(`outline shows: ${outline.slice(0, 30).join(', ')}${outline.length > 30 ? ', …' : ''}`);
    await page.mouse.move(5, 5);
    await session.screenshot('rules-outline');

    // Go to Definition (choosing a row in the Outline moved the cursor: back to the rule first).
    await toRule();
    await page.keyboard.press('F12');
    const landed = await poll(async () => {
      const position = await cursorLine(page);
      return position.line !== ruleIndex + 1 ? position : undefined;
    }, UI_TIMEOUT_MS, 'the cursor to move after Go to Definition');
    t.diagnostic(`Go to Definition landed on line ${landed.line}: ${landed.text}`);
    const expectedLines = [declarationIndex + 1, firstRuleIndex + 1].filter((line) => line > 0);
    assert.ok(expectedLines.includes(landed.line), `the cursor is on line ${expectedLines.join(' or ')} (the definition of ${chain}), not ${landed.line}`);
    assert.equal(landed.text, truth[landed.line - 1], 'the line under the cursor is that line of iptables-nft-save');
    assert.ok(landed.text.startsWith(`:${chain} `) || landed.text.startsWith(`-A ${chain} `), `the line defines ${chain}: ${landed.text}`);
    await session.screenshot('rules-definition');

    // No debug pod left behind.
    await session.runCommand(`${manifestTitles().category}: ${commandTitle('kubeNet.removeDebugPods')}`);
    await waitForNoNewDebugPods(api, before, 'the debug pod to be deleted after "Remove Debug Pods"');
  } catch (error) {
    await session.screenshot('rules-failure').catch(() => undefined);
    const logs = session.collectLogs();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${session.extensionLog().slice(-6000)}\n${formatRows(await session.treeItems(viewName).catch(() => []))}`, { cause: error });
  } finally {
    await session.dispose();
    await deleteNewDebugPods(api, before);
    await waitForNoNewDebugPods(api, before, 'no debug pod of this test left').catch((error: unknown) => t.diagnostic(String(error)));
  }
});

/**
 * The extension in Russian, in a real VS Code (code-server) started with `--locale ru`, against
 * the lab: the view container and view titles, the tree's folders and counts, the pod's context
 * menu, the consent modal, the Show veth report (its headings, its buttons, its `lang`), a
 * command run by its Russian title from the Command Palette, and the status bar.
 *
 * VS Code switches its display language only to one a language pack provides: with `--locale
 * ru` and no pack, `vscode.env.language` stays `en` and neither package.nls.ru.json nor
 * l10n/bundle.l10n.ru.json is read (checked with code-server 4.139.1). The real pack cannot be
 * downloaded here, so the test installs a minimal one (test/e2e/fixtures/language-pack-ru) the
 * way a user adds a pack to code-server, "Extensions: Install from VSIX…" (an install by the
 * running server is what registers a pack; `--install-extension` does not), then reloads.
 *
 * Every expected string is read from package.nls.ru.json and l10n/bundle.l10n.ru.json, every
 * expected fact (pods, services, nodes) from the lab's API. Needs the lab (KNI_LAB_KUBECONFIG)
 * and the built extension (`npm run build`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Frame, Page } from 'playwright-core';
import { VsCodeSession, findRepoRoot, formatRows, poll } from './harness';
import type { TreeRow } from './harness';

const NAMESPACE = 'lab-apps';
const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=kube-net-inspector';
const DIAGNOSTIC_TIMEOUT_MS = 90_000;
const UI_TIMEOUT_MS = 30_000;

const root = findRepoRoot();
const readJson = <T>(...segments: string[]): T => JSON.parse(fs.readFileSync(path.join(root, ...segments), 'utf8')) as T;
const nls = readJson<Record<string, string>>('package.nls.json');
const nlsRu = readJson<Record<string, string>>('package.nls.ru.json');
const bundleRu = readJson<Record<string, string>>('l10n', 'bundle.l10n.ru.json');

/** A message of the code in Russian, as `vscode.l10n.t` gives it with the Russian bundle. */
function ru(message: string, ...args: Array<string | number>): string {
  const translated = bundleRu[message];
  assert.ok(translated !== undefined, `l10n/bundle.l10n.ru.json has no ${JSON.stringify(message)}`);
  return translated.replace(/\{(\d+)\}/g, (match, position: string) => (Number(position) < args.length ? String(args[Number(position)]) : match));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

interface CodeServerPackaging {
  packageVsix(extensionRoot: string, outFile: string, patterns?: RegExp[]): { file: string };
}

/**
 * Installs the language pack fixture through the running server, as a user would with
 * "Extensions: Install from VSIX…", and reloads the page so the workbench starts in Russian.
 */
async function installLanguagePack(session: VsCodeSession): Promise<void> {
  const page = session.page;
  const codeServer = require(path.join(root, 'scripts', 'codeServer.js')) as CodeServerPackaging;
  const vsix = codeServer.packageVsix(path.join(root, 'test', 'e2e', 'fixtures', 'language-pack-ru'), path.join(session.server.stateDir, 'language-pack-ru.vsix'), [/^/]).file;
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  // The command appears once the Extensions contributions have started: type it again until then.
  await poll(
    async () => {
      await input.fill('>Extensions: Install from VSIX...');
      await new Promise((resolve) => setTimeout(resolve, 500));
      const focused = await page.locator('.quick-input-widget .monaco-list-row.focused').getAttribute('aria-label').catch(() => null);
      if (focused?.startsWith('Extensions: Install from VSIX')) {
        return true;
      }
      await input.fill('>');
      return undefined;
    },
    90_000,
    '"Extensions: Install from VSIX..." in the Command Palette',
  );
  await page.keyboard.press('Enter');
  // The same quick input becomes VS Code's simple file dialog, which fills in its start folder
  // a moment later: type the path until it stays, wait for the dialog to list the file, then
  // press its Install button; the dialog closes when the install starts.
  const installButton = page.locator('.quick-input-widget .monaco-button', { hasText: 'Install' }).first();
  await installButton.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await poll(
    async () => {
      if (!(await input.isVisible())) {
        return true;
      }
      if ((await input.inputValue().catch(() => '')) !== vsix) {
        await input.fill(vsix);
        return undefined;
      }
      if ((await page.locator('.quick-input-widget .monaco-list-row', { hasText: path.basename(vsix) }).count()) > 0) {
        await installButton.click({ timeout: 5_000 }).catch(() => undefined);
      }
      return undefined;
    },
    UI_TIMEOUT_MS,
    `the file dialog of "Install from VSIX" to take ${vsix}`,
  );
  const languagePacks = path.join(session.server.userDataDir, 'languagepacks.json');
  await poll(
    async () => (fs.existsSync(languagePacks) && 'ru' in (JSON.parse(fs.readFileSync(languagePacks, 'utf8')) as object) ? true : undefined),
    90_000,
    'VS Code to register the Russian language pack (languagepacks.json)',
    async () => `notifications: ${(await page.locator('.notifications-toasts .notification-list-item-message').allTextContents().catch(() => [])).join(' | ')}`,
  );
  await page.reload({ timeout: 90_000 });
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: 90_000 });
}

/** The little of the DOM the page functions use (the project compiles without the DOM library). */
interface ReportElement {
  readonly textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): ReportElement | null;
  querySelectorAll(selector: string): ArrayLike<ReportElement>;
}
interface ReportDocument {
  readonly documentElement: { readonly lang: string };
  querySelector(selector: string): ReportElement | null;
  querySelectorAll(selector: string): ArrayLike<ReportElement>;
}

interface ShownReport {
  readonly title: string;
  readonly lang: string;
  readonly headings: string[];
  readonly keys: string[];
  readonly columns: string[];
  readonly buttons: string[];
  readonly notices: string[];
}

async function readReport(frame: Frame): Promise<ShownReport | undefined> {
  try {
    return await frame.evaluate(() => {
      const { document } = globalThis as unknown as { document: ReportDocument };
      const main = document.querySelector('main#report');
      const title = (main?.querySelector('header h1')?.textContent ?? '').trim();
      if (!main || title === '') {
        return undefined;
      }
      const texts = (selector: string): string[] => Array.from(main.querySelectorAll(selector)).map((element) => (element.textContent ?? '').trim());
      return {
        title,
        lang: document.documentElement.lang,
        headings: texts('section .section-heading h2'),
        keys: texts('dl > dt'),
        columns: texts('thead th'),
        buttons: Array.from(main.querySelectorAll('button.copy')).map((button) => button.getAttribute('aria-label') ?? ''),
        notices: texts('section.notice p'),
      };
    });
  } catch {
    return undefined;
  }
}

async function waitForReport(page: Page, title: string, ready: (report: ShownReport) => boolean): Promise<ShownReport> {
  return poll(
    async () => {
      for (const frame of page.frames()) {
        const report = await readReport(frame);
        if (report?.title === title && ready(report)) {
          return report;
        }
      }
      return undefined;
    },
    DIAGNOSTIC_TIMEOUT_MS,
    `the report "${title}"`,
    async () => {
      const shown: string[] = [];
      for (const frame of page.frames()) {
        const report = await readReport(frame);
        if (report) {
          shown.push(`${report.title} [${report.headings.join(' | ')}]`);
        }
      }
      const notifications = await page.locator('.notifications-toasts .notification-list-item-message').allTextContents().catch(() => []);
      return `reports: ${shown.join(' ;; ') || '(none)'}; notifications: ${notifications.join(' | ') || '(none)'}`;
    },
  );
}

/** Chooses `item` in the context menu that is open (hovering gives it the focus; Enter runs it). */
async function chooseMenuItem(page: Page, item: string): Promise<void> {
  const entry = page.getByRole('menuitem', { name: item, exact: true }).first();
  await entry.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await entry.hover({ timeout: UI_TIMEOUT_MS });
  await poll(async () => ((await entry.evaluate((element) => (element as unknown as { matches(selector: string): boolean }).matches(':focus'))) ? true : undefined), UI_TIMEOUT_MS, `menu item "${item}" to take the focus`);
  await page.keyboard.press('Enter');
  await entry.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
}

/** Every notice of a report is in Russian (the core's English sentences included). */
function assertRussianNotices(report: ShownReport): void {
  assert.ok(report.notices.length > 0, `the report "${report.title}" has notices`);
  for (const notice of report.notices) {
    assert.match(notice, /[а-яё]/i, `a notice of "${report.title}" is not in Russian: ${notice}`);
  }
}

async function newDebugPods(api: CoreV1Api, before: ReadonlySet<string>): Promise<string[]> {
  const list = await api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR });
  return list.items.map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`).filter((name) => !before.has(name));
}

test('the extension in Russian: view, tree, context menu, consent, Show veth report, palette and status bar', { timeout: 10 * 60_000 }, async (t) => {
  const kubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(kubeconfig && fs.existsSync(kubeconfig), 'KNI_LAB_KUBECONFIG is not set to a kubeconfig file: start the lab with `npm run lab -- up` and set KNI_LAB_KUBECONFIG to the path it prints');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const pods = (await api.listNamespacedPod({ namespace: NAMESPACE })).items;
  const services = (await api.listNamespacedService({ namespace: NAMESPACE })).items;
  const web = pods.find((pod) => pod.metadata?.name?.startsWith('web-') && pod.status?.phase === 'Running' && pod.spec?.nodeName && !pod.spec.hostNetwork);
  assert.ok(web, `the lab has a running web pod in ${NAMESPACE}`);
  const podName = web.metadata!.name!;
  const nodeName = web.spec!.nodeName!;
  const before = new Set((await api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR })).items.map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`));

  const containerTitle = nlsRu['viewsContainer.kubeNet.title']!;
  const viewName = nlsRu['view.cluster.name']!;
  assert.notEqual(containerTitle, nls['viewsContainer.kubeNet.title'], 'the Russian container title differs from the English one');

  const session = await VsCodeSession.start({ name: 'russian', kubeconfig, locale: 'ru', settings: { 'kubeNet.debugPod.idleTimeoutSeconds': 600 } });
  const page = session.page;
  try {
    await installLanguagePack(session);
    // VS Code itself now speaks the pack's Russian (the fixture translates the Explorer).
    const activity = await page.locator('.part.activitybar a.action-label').evaluateAll((elements) => elements.map((element) => element.getAttribute('aria-label') ?? ''));
    assert.ok(activity.some((label) => label.startsWith('Проводник')), `VS Code is in Russian: ${activity.join(' | ')}`);

    // 1. The view container and the view, by their Russian titles.
    await session.openView(containerTitle);
    // A container with one view shows "CONTAINER: VIEW" as the side bar's title (more views:
    // the container's title, and each view's name on its pane header).
    const sidebarTitle = (await page.locator('.part.sidebar .composite.title .title-label').innerText()).trim().toLowerCase();
    const paneTitles = await page.locator('.part.sidebar .pane-header h3.title').allTextContents();
    t.diagnostic(`side bar title: ${sidebarTitle}; pane titles: ${paneTitles.join(' | ')}`);
    assert.ok(
      sidebarTitle === `${containerTitle}: ${viewName}`.toLowerCase() || (sidebarTitle === containerTitle.toLowerCase() && paneTitles.includes(viewName)),
      `the side bar shows the Russian titles "${containerTitle}" and "${viewName}": ${sidebarTitle} / ${paneTitles.join(' | ')}`,
    );

    // 2. The tree: Russian folders and counts built from the lab's real numbers.
    const rows = await session.waitForRows(viewName, (current) => current.length > 0, `any row in view "${viewName}"`, DIAGNOSTIC_TIMEOUT_MS);
    const contextRow = new RegExp(`^${escapeRegExp(ru('context: {0}', kc.getCurrentContext()))}$`);
    assert.ok(rows.some((row) => contextRow.test(row.label)), `the context row reads ${contextRow}:\n${formatRows(rows)}`);
    const tree = await session.waitForRows(viewName, (current) => current.some((row) => row.label === ru('Nodes')) && current.some((row) => row.label === NAMESPACE), `"${ru('Nodes')}" and ${NAMESPACE}`);
    const namespaceRow = tree.find((row) => row.label === NAMESPACE);
    const expectedCounts = [
      pods.length === 1 ? ru('1 pod') : ru('{0} pods', pods.length),
      services.length === 1 ? ru('1 service') : ru('{0} services', services.length),
    ].join(' · ');
    assert.equal(namespaceRow?.description, expectedCounts, `the namespace counts pods and services in Russian (${pods.length} pods, ${services.length} services from the API)`);
    const podsPath = [contextRow, NAMESPACE, new RegExp(`^${escapeRegExp(ru('Pods'))}$`)];
    await session.expand(viewName, podsPath);
    const expanded = await session.treeItems(viewName);
    const namespaceChildren = VsCodeSession.childrenOf(expanded, VsCodeSession.findPath(expanded, podsPath.slice(0, 2))!);
    assert.ok(namespaceChildren.some((row) => row.label === ru('Services')), `"${ru('Services')}" folder:\n${formatRows(expanded)}`);
    const podRow: TreeRow = await poll(
      async () => {
        const current = await session.treeItems(viewName);
        const folder = VsCodeSession.findPath(current, podsPath);
        return folder ? VsCodeSession.childrenOf(current, folder).find((row) => row.label === podName) : undefined;
      },
      UI_TIMEOUT_MS,
      `pod ${podName} in the tree`,
      () => session.describeView(viewName),
    );
    await session.resizeSidebar(420);

    // 3. The pod's context menu: every diagnostic by its Russian title, no English one.
    const titles = ['command.showVeth', 'command.digInPod', 'command.runInPodNetns', 'command.openPodNetnsTerminal', 'command.copyPodIp'];
    await page.locator(`.monaco-list[role="tree"][aria-label="${viewName}"] .monaco-list-row[data-index="${podRow.index}"]`).click({ button: 'right', timeout: UI_TIMEOUT_MS });
    const showVeth = page.getByRole('menuitem', { name: nlsRu['command.showVeth']!, exact: true }).first();
    await showVeth.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const menuItems = await page.getByRole('menuitem').evaluateAll((elements) => elements.map((element) => element.getAttribute('aria-label') ?? element.textContent ?? ''));
    t.diagnostic(`context menu: ${menuItems.join(' | ')}`);
    for (const key of titles) {
      assert.ok(menuItems.includes(nlsRu[key]!), `the context menu has "${nlsRu[key]}" (${key}): ${menuItems.join(' | ')}`);
      assert.ok(!menuItems.includes(nls[key]!) || nls[key] === nlsRu[key], `the context menu has no English "${nls[key]}"`);
    }
    await session.screenshot('russian-context-menu');
    await chooseMenuItem(page, nlsRu['command.showVeth']!);

    // 4. The consent modal, in Russian, naming the node and the privileges.
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible', timeout: DIAGNOSTIC_TIMEOUT_MS });
    const consent = (await dialog.innerText()).replace(/\s+/g, ' ');
    t.diagnostic(`consent: ${consent}`);
    for (const part of [ru('Create a privileged debug pod on node {0}?', nodeName), ru("runs in the node's network namespace (hostNetwork)"), ru('sees every process on the node (hostPID)'), ru('The pod:')]) {
      assert.ok(consent.includes(part), `the consent dialog says "${part}": ${consent}`);
    }
    await session.screenshot('russian-consent');
    await dialog.getByRole('button', { name: ru('Create Debug Pod'), exact: true }).click({ timeout: UI_TIMEOUT_MS });
    await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });

    // 5. The report: Russian title, headings, keys, columns and buttons; the page's lang is ru.
    const nodeSide = ru('Node side (on node {0})', nodeName);
    const report = await waitForReport(page, ru('veth of {0}', `${NAMESPACE}/${podName}`), (shown) => shown.headings.includes(nodeSide));
    t.diagnostic(`report headings: ${report.headings.join(' | ')}`);
    for (const heading of [ru("Pod side (in the pod's network namespace)"), nodeSide, ru("Every interface in the pod's network namespace"), ru('Container process'), ru('The same by hand: on your workstation (kubectl)')]) {
      assert.ok(report.headings.includes(heading), `the report has the heading "${heading}": ${report.headings.join(' | ')}`);
    }
    assert.ok(report.keys.includes(ru('Interface')) && report.keys.includes(ru('PID on the node')), `Russian keys: ${report.keys.join(', ')}`);
    assert.ok(report.columns.includes(ru('Node end')), `Russian columns: ${report.columns.join(', ')}`);
    assert.ok(report.buttons.includes(ru('Copy command')) && report.buttons.includes(ru('Copy all commands')), `Russian copy buttons: ${report.buttons.join(', ')}`);
    assert.equal(report.lang, 'ru');
    t.diagnostic(`report notices: ${report.notices.join(' | ')}`);
    assertRussianNotices(report);
    await page.mouse.move(5, 5);
    await session.screenshot('russian-veth');

    // 5b. Dig for the web service from the same pod: the quick pick and the report in Russian,
    // the core's DNS explanations included.
    const serviceName = `web.${NAMESPACE}.svc.cluster.local`;
    await page.locator(`.monaco-list[role="tree"][aria-label="${viewName}"] .monaco-list-row[data-index="${podRow.index}"]`).click({ button: 'right', timeout: UI_TIMEOUT_MS });
    await chooseMenuItem(page, nlsRu['command.digInPod']!);
    const pickTitle = page.locator('.quick-input-widget .quick-input-title');
    await poll(async () => ((await pickTitle.innerText().catch(() => '')).trim() === ru('Name to look up from inside the pod') ? true : undefined), UI_TIMEOUT_MS, `the quick pick titled "${ru('Name to look up from inside the pod')}"`);
    const pickInput = page.locator('.quick-input-widget .quick-input-box input');
    await pickInput.fill(serviceName);
    const pickRow = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: serviceName }).first();
    await pickRow.click({ timeout: UI_TIMEOUT_MS });
    const dig = await waitForReport(page, ru('dig {0} in {1}/{2}', serviceName, NAMESPACE, podName), (shown) => shown.headings.includes(ru('Results per server')));
    t.diagnostic(`dig notices: ${dig.notices.join(' | ')}`);
    assert.ok(dig.columns.includes(ru('Answers')) && dig.keys.includes(ru('Cluster DNS service')), `Russian dig columns and keys: ${dig.columns.join(', ')} / ${dig.keys.join(', ')}`);
    assertRussianNotices(dig);
    await session.screenshot('russian-dig');

    // 6. The status bar, then a command by its Russian title in the Command Palette.
    const status = async (): Promise<string> => (await page.locator('.part.statusbar').innerText().catch(() => '')).replace(/\s+/g, ' ');
    const oneDebugPod = ru('$(debug) 1 debug pod').replace('$(debug) ', '');
    await poll(async () => ((await status()).includes(oneDebugPod) ? true : undefined), UI_TIMEOUT_MS, `the status bar to say "${oneDebugPod}"`, status);
    assert.equal((await newDebugPods(api, before)).length, 1, 'one debug pod for Show veth');
    await session.runCommand(`${nlsRu.category}: ${nlsRu['command.removeDebugPods']}`);
    await poll(async () => ((await newDebugPods(api, before)).length === 0 ? true : undefined), UI_TIMEOUT_MS, 'the debug pod to be deleted by the Russian-titled command');
    await poll(
      async () => ((await page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).includes(ru('Removed 1 debug pod.')) ? true : undefined),
      UI_TIMEOUT_MS,
      `the message "${ru('Removed 1 debug pod.')}"`,
    );
  } catch (error) {
    await session.screenshot('russian-failure').catch(() => undefined);
    const logs = session.collectLogs();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${session.extensionLog().slice(-6000)}\n${formatRows(await session.treeItems(viewName).catch(() => []))}`, { cause: error });
  } finally {
    await session.dispose();
    // Never leave a debug pod of this test behind.
    for (const name of await newDebugPods(api, before).catch(() => [])) {
      const [namespace, pod] = name.split('/');
      await api.deleteNamespacedPod({ namespace: namespace!, name: pod!, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  }
});

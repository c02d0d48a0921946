/**
 * The integration with Microsoft's Kubernetes extension, in a real VS Code (code-server) in a
 * real Chromium, against the lab. The real extension cannot be installed on the test machines,
 * so a stand-in with its id that implements the parts of its v1 API we use
 * (test/e2e/fixtures/k8s-tools-provider) is installed next to ours.
 *
 * code-server's KUBECONFIG names a file that does not exist, and the provider's kubeconfig (its
 * `vs-kubernetes.kubeconfig` setting) is a JSON copy of the lab's: whatever our view shows of
 * the lab, it got by following the provider. Checked:
 * - right-click a lab-apps web pod in the provider's Clusters tree: our pod commands are on the
 *   menu; "Show veth" (which also activates our extension) asks for consent and reports the
 *   node-side veth that `ip` in the node's namespace names as the peer of the pod's eth0;
 * - our tree shows the provider's context, and follows "Set as Current Cluster" to lab-viewer
 *   and back;
 * - "Copy ClusterIP" on the provider's `web` service copies its ClusterIP from the API;
 * - "Remove Debug Pods" from the palette leaves no debug pod of this window (other tests may
 *   be using the shared lab at the same time: this window's pods are those with its owner ids,
 *   which our log names);
 * - with our view switched to another context than the provider's, a command on its pod is
 *   refused with the reason; on the same context again, "Copy Pod IP" copies the pod's IP.
 *
 * A second test starts code-server without the provider: our tree works from KUBECONFIG and
 * the integration logs exactly one info line.
 *
 * Needs the lab (KNI_LAB_KUBECONFIG), root (for `ip -n` in the lab's namespaces) and the built
 * extension (`npm run build`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { Frame, Page } from 'playwright-core';
import { LAB_PREFIX, nodeNetnsName } from '../../lab/config';
import { podNetnsName } from '../../lab/net/index';
import { deleteOwnedDebugPods, ownedDebugPods, ownerIds } from './dataPlaneUi';
import { VsCodeSession, findRepoRoot, formatRows, poll } from './harness';
import type { TreeRow } from './harness';

const NAMESPACE = 'lab-apps';
const CONTAINER_TITLE = 'Kubernetes Network';
/** The provider's activity-bar container and view (as the real extension names them). */
const PROVIDER_CONTAINER = 'Kubernetes';
const PROVIDER_VIEW = 'Clusters';
const DIAGNOSTIC_TIMEOUT_MS = 90_000;
const UI_TIMEOUT_MS = 30_000;

interface Manifest {
  contributes: {
    viewsContainers: { activitybar: Array<{ id: string; title: string }> };
    views: Record<string, Array<{ id: string; name: string; type?: string }>>;
    commands: Array<{ command: string; title: string }>;
  };
}

/** View name, command titles and category from our manifest (through package.nls.json). */
function manifestTitles(): { viewName: string; title: (id: string) => string; category: string } {
  const root = findRepoRoot();
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
  const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
  const localized = (value: string): string => nls[/^%(.+)%$/.exec(value)?.[1] ?? ''] ?? value;
  const container = manifest.contributes.viewsContainers.activitybar.find((each) => localized(each.title) === CONTAINER_TITLE);
  assert.ok(container, `no activity-bar container titled "${CONTAINER_TITLE}"`);
  const tree = manifest.contributes.views[container.id]?.find((view) => view.type === undefined || view.type === 'tree');
  assert.ok(tree, 'no tree view');
  const title = (id: string): string => {
    const command = manifest.contributes.commands.find((each) => each.command === id);
    assert.ok(command, `package.json does not contribute ${id}`);
    return localized(command.title);
  };
  return { viewName: localized(tree.name), title, category: localized('%category%') };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `ip -o link` of a lab network namespace, read as root, independently of the extension. */
function ipLinks(netns: string, ...args: string[]): Array<{ index: number; name: string; link: string | null }> {
  const text = execFileSync('ip', ['-n', netns, '-o', 'link', 'show', ...args], { encoding: 'utf8', timeout: 10_000 });
  return text
    .split('\n')
    .map((line) => /^(\d+):\s+([^:@\s]+)(?:@([^:\s]+))?:/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ index: Number(match[1]), name: match[2] ?? '', link: match[3] ?? null }));
}

/** The node-side peer of the pod's eth0 as `name@ifM`, from `ip` in the lab's namespaces. */
function vethPeerFromIp(pod: V1Pod): string {
  const uid = pod.metadata?.uid;
  const nodeName = pod.spec?.nodeName;
  assert.ok(uid && nodeName, 'the pod has a UID and a node');
  const [eth0] = ipLinks(podNetnsName(LAB_PREFIX, uid), 'eth0');
  assert.ok(eth0?.link, `eth0 in ${podNetnsName(LAB_PREFIX, uid)} names its peer`);
  const peerIndex = Number(/^if(\d+)$/.exec(eth0.link)?.[1]);
  const peer = ipLinks(nodeNetnsName(nodeName)).find((link) => link.index === peerIndex);
  assert.ok(peer, `${nodeNetnsName(nodeName)} has an interface with index ${peerIndex}`);
  return peer.link === null ? peer.name : `${peer.name}@${peer.link}`;
}

/** A report webview as rendered: its title and each section's heading and key/value pairs. */
interface RenderedReport {
  readonly title: string;
  readonly sections: ReadonlyArray<{ readonly heading: string; readonly pairs: ReadonlyArray<readonly [string, string]> }>;
}

/** The little of the DOM the page function uses (the project compiles without the DOM library). */
interface ReportElement {
  readonly textContent: string | null;
  readonly tagName: string;
  readonly children: ArrayLike<ReportElement>;
  querySelector(selector: string): ReportElement | null;
  querySelectorAll(selector: string): ArrayLike<ReportElement>;
}

async function readReportFrame(frame: Frame): Promise<RenderedReport | undefined> {
  try {
    return await frame.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelector(selector: string): ReportElement | null } };
      const main = document.querySelector('main#report');
      const text = (element: ReportElement | null | undefined): string => (element?.textContent ?? '').trim();
      const title = text(main?.querySelector('header h1'));
      if (!main || title === '') {
        return undefined;
      }
      const sections = Array.from(main.children)
        .filter((element) => element.tagName === 'SECTION')
        .map((section) => {
          const terms = Array.from(section.querySelectorAll('dl > dt')).map(text);
          const values = Array.from(section.querySelectorAll('dl > dd')).map(text);
          return { heading: text(section.querySelector('.section-heading h2')), pairs: terms.map((term, position) => [term, values[position] ?? ''] as const) };
        });
      return { title, sections };
    });
  } catch {
    // A frame navigating or gone: not the one.
    return undefined;
  }
}

/** Waits for a report webview whose title matches and whose content satisfies `ready`. */
async function waitForReport(page: Page, title: RegExp, ready: (report: RenderedReport) => boolean): Promise<RenderedReport> {
  return poll(
    async () => {
      for (const frame of page.frames()) {
        const report = await readReportFrame(frame);
        if (report && title.test(report.title) && ready(report)) {
          return report;
        }
      }
      return undefined;
    },
    DIAGNOSTIC_TIMEOUT_MS,
    `a report titled ${title}`,
    async () => `notifications: ${(await page.locator('.notifications-toasts .notification-list-item-message').allTextContents().catch(() => [])).join(' | ') || '(none)'}`,
  );
}

function pairValue(report: RenderedReport, heading: RegExp, key: string): string | undefined {
  return report.sections.find((section) => heading.test(section.heading))?.pairs.find(([term]) => term === key)?.[1];
}

/** Right-clicks `row` of the view and returns the titles its context menu offers (the menu stays open). */
async function openContextMenu(session: VsCodeSession, viewName: string, row: TreeRow): Promise<string[]> {
  const page = session.page;
  await page.locator(`.monaco-list[role="tree"][aria-label="${viewName}"] .monaco-list-row[data-index="${row.index}"]`).click({ button: 'right', timeout: UI_TIMEOUT_MS });
  // The context menu's items (not the title bar's "Application Menu", also a menuitem).
  const items = page.locator('.context-view .monaco-menu [role="menuitem"]');
  await items.first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  return (await items.evaluateAll((elements) => elements.map((element) => (element.querySelector('.action-label')?.textContent ?? '').trim()))).filter((label) => label !== '');
}

/** Chooses `item` in the open context menu (hover focuses it; Enter runs it, as in diagnostics.test.ts). */
async function chooseMenuItem(page: Page, item: string): Promise<void> {
  const entry = page.locator('.context-view .monaco-menu').getByRole('menuitem', { name: item, exact: true }).first();
  await entry.hover({ timeout: UI_TIMEOUT_MS });
  await poll(
    async () => ((await entry.evaluate((element) => (element as unknown as { matches(selector: string): boolean }).matches(':focus'))) ? true : undefined),
    UI_TIMEOUT_MS,
    `menu item "${item}" to take the focus`,
  );
  await page.keyboard.press('Enter');
  await entry.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
}

/**
 * Runs a palette command that opens a quick pick, and picks `label` in it: types it, waits for
 * it to lead the list, Enter. (The harness's runCommand waits for the palette to close, which
 * does not happen when the command's quick pick takes its widget over.)
 */
async function runCommandAndPick(page: Page, commandTitle: string, label: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const firstLabel = async (): Promise<string | undefined> =>
    (await rows.evaluateAll((elements) => elements.map((element) => element.querySelector('.label-name')?.textContent ?? '')))[0];
  await page.keyboard.press('F1');
  await input.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await input.fill(`>${commandTitle}`);
  await poll(async () => ((await firstLabel()) === commandTitle ? true : undefined), UI_TIMEOUT_MS, `"${commandTitle}" first in the Command Palette`);
  await page.keyboard.press('Enter');
  // The palette hands its widget over to the command's quick pick: wait for the latter.
  await poll(
    async () => ((await input.isVisible()) && !((await input.getAttribute('placeholder')) ?? '').startsWith('Type the name of a command') ? true : undefined),
    UI_TIMEOUT_MS,
    'the quick pick to open',
  );
  await input.fill(label);
  await poll(async () => ((await firstLabel()) === label ? true : undefined), UI_TIMEOUT_MS, `"${label}" first in the quick pick`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
}

/** The row labelled `label` under the row reached by `folder` in the view. */
async function rowUnder(session: VsCodeSession, viewName: string, folder: ReadonlyArray<string | RegExp>, label: string): Promise<TreeRow> {
  return poll(
    async () => {
      const rows = await session.treeItems(viewName);
      const parent = VsCodeSession.findPath(rows, folder);
      return parent ? VsCodeSession.childrenOf(rows, parent).find((row) => row.label === label) : undefined;
    },
    UI_TIMEOUT_MS,
    `row ${label} in view "${viewName}"`,
    () => session.describeView(viewName),
  );
}

/** Our log's lines from the Kubernetes extension integration. */
function kubernetesToolsLines(log: string): string[] {
  return log.split('\n').filter((line) => line.includes('[KubernetesTools]'));
}

function diagnosticLines(t: TestContext, lines: readonly string[]): void {
  lines.forEach((line) => t.diagnostic(line));
}

test('Our commands on the Kubernetes extension\'s explorer (test provider) run on the right pod; our tree follows its kubeconfig and context', { timeout: 10 * 60_000 }, async (t) => {
  const labKubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(
    labKubeconfig && fs.existsSync(labKubeconfig),
    'KNI_LAB_KUBECONFIG is not set to a kubeconfig file: start the lab with `npm run lab -- up` and set KNI_LAB_KUBECONFIG to the path it prints (npm test does both)',
  );
  const started = Date.now();
  const kc = new KubeConfig();
  kc.loadFromFile(labKubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const labContext = kc.getCurrentContext();
  const otherContext = kc.getContexts().find((context) => context.name !== labContext)?.name;
  assert.ok(otherContext, 'the lab kubeconfig has a second context');
  const { viewName, title, category } = manifestTitles();

  const webPod = (await api.listNamespacedPod({ namespace: NAMESPACE })).items.find(
    (pod) => pod.metadata?.name?.startsWith('web-') && pod.status?.phase === 'Running' && pod.spec?.nodeName && !pod.spec.hostNetwork && !pod.metadata.deletionTimestamp,
  );
  assert.ok(webPod, `a running web pod in ${NAMESPACE}`);
  const podName = webPod.metadata!.name!;
  const clusterIP = (await api.readNamespacedService({ namespace: NAMESPACE, name: 'web' })).spec?.clusterIP;
  assert.ok(clusterIP, 'the web service has a ClusterIP');

  // The provider's kubeconfig: a JSON copy of the lab's (it switches contexts in it).
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-k8stools-e2e-'));
  const providerKubeconfig = path.join(scratch, 'kubeconfig.json');
  fs.writeFileSync(providerKubeconfig, kc.exportConfig(), { mode: 0o600 });
  const absentKubeconfig = path.join(scratch, 'no-such-kubeconfig');
  const provider = path.join(findRepoRoot(), 'test', 'e2e', 'fixtures', 'k8s-tools-provider');

  let session: VsCodeSession | undefined;
  const owners = new Set<string>();
  try {
    session = await VsCodeSession.start({
      name: 'kubernetes-tools',
      kubeconfig: absentKubeconfig,
      extraExtensionRoots: [provider],
      settings: { 'vs-kubernetes': { 'vs-kubernetes.kubeconfig': providerKubeconfig }, 'kubeNet.debugPod.idleTimeoutSeconds': 600 },
    });
    const page = session.page;
    t.diagnostic(`code-server: install ${session.timings.installSeconds.toFixed(1)} s, listen ${session.timings.listenSeconds.toFixed(1)} s, first paint ${session.timings.firstPaintSeconds.toFixed(1)} s`);

    try {
      // 1. The provider's tree: the lab's pods, listed from the API.
      await session.openView(PROVIDER_CONTAINER);
      await session.expand(PROVIDER_VIEW, [labContext, 'Pods']);
      await session.resizeSidebar(420);
      const podRow = await rowUnder(session, PROVIDER_VIEW, [labContext, 'Pods'], podName);
      assert.equal(podRow.description, NAMESPACE);

      // 2. Our pod commands are on its menu; Show veth activates us and runs on that pod.
      const podMenu = await openContextMenu(session, PROVIDER_VIEW, podRow);
      t.diagnostic(`pod menu: ${podMenu.join(' | ')}`);
      for (const id of ['kubeNet.showVeth', 'kubeNet.digInPod', 'kubeNet.runInPodNetns', 'kubeNet.openPodNetnsTerminal', 'kubeNet.copyPodIp']) {
        assert.ok(podMenu.includes(title(id)), `the pod's menu offers "${title(id)}": ${podMenu.join(' | ')}`);
      }
      assert.ok(!podMenu.includes(title('kubeNet.copyClusterIp')), 'no service command on a pod');
      await chooseMenuItem(page, title('kubeNet.showVeth'));
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ state: 'visible', timeout: DIAGNOSTIC_TIMEOUT_MS });
      const consent = (await dialog.innerText()).replace(/\s+/g, ' ');
      assert.ok(consent.includes(webPod.spec!.nodeName!), `the consent names the pod's node ${webPod.spec!.nodeName}: ${consent}`);
      await dialog.getByRole('button', { name: 'Create Debug Pod', exact: true }).click({ timeout: UI_TIMEOUT_MS });
      const report = await waitForReport(page, new RegExp(`^veth of ${escapeRegExp(`${NAMESPACE}/${podName}`)}$`), (candidate) => pairValue(candidate, /^Node side/, 'Interface') !== undefined);
      const shown = pairValue(report, /^Node side/, 'Interface');
      const fromIp = vethPeerFromIp(webPod);
      t.diagnostic(`report "${report.title}": node side ${shown}; ip in ${nodeNetnsName(webPod.spec!.nodeName!)}: ${fromIp}`);
      assert.equal(shown, fromIp, 'the report names the veth that ip reports as the peer of the pod\'s eth0');
      await page.mouse.move(5, 5);
      await session.screenshot('kubernetes-tools-veth');

      // 3. A service of the provider's tree: Copy ClusterIP copies the one the API has.
      await session.openView(PROVIDER_CONTAINER);
      await session.expand(PROVIDER_VIEW, [labContext, 'Services']);
      const serviceRow = await rowUnder(session, PROVIDER_VIEW, [labContext, 'Services'], 'web');
      const serviceMenu = await openContextMenu(session, PROVIDER_VIEW, serviceRow);
      t.diagnostic(`service menu: ${serviceMenu.join(' | ')}`);
      assert.ok(!serviceMenu.includes(title('kubeNet.showVeth')), 'no pod command on a service');
      await chooseMenuItem(page, title('kubeNet.copyClusterIp'));
      await poll(
        async () => ((await page.locator('.part.statusbar').innerText().catch(() => '')).includes(`Copied ${clusterIP}`) ? true : undefined),
        UI_TIMEOUT_MS,
        `"Copied ${clusterIP}" in the status bar`,
        async () => `status bar: ${await page.locator('.part.statusbar').innerText().catch(() => '')}; notifications: ${(await page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).join(' | ')}`,
      );

      // 4. Remove Debug Pods from the palette: none of this window's is left.
      ownerIds(session.extensionLog()).forEach((owner) => owners.add(owner));
      const created = await ownedDebugPods(api, owners);
      t.diagnostic(`debug pods of this window (owners ${[...owners].join(', ')}): ${created.join(', ')}`);
      assert.equal(created.length, 1, 'Show veth created one debug pod');
      await session.runCommand(`${category}: ${title('kubeNet.removeDebugPods')}`);
      await poll(async () => ((await ownedDebugPods(api, owners)).length === 0 ? true : undefined), UI_TIMEOUT_MS, 'no debug pod of this window to remain', async () => (await ownedDebugPods(api, owners)).join(', '));

      // 5. Our tree shows the lab, which only the provider's kubeconfig holds.
      await session.openView(CONTAINER_TITLE);
      const contextLabel = (name: string): RegExp => new RegExp(`(^|: )${escapeRegExp(name)}$`);
      await session.waitForRows(viewName, (rows) => rows.some((row) => row.level === 1 && contextLabel(labContext).test(row.label)), `our tree to show context ${labContext}`);

      // 6. "Set as Current Cluster" in the provider: our tree follows, there and back.
      for (const [target, previous] of [
        [otherContext, labContext],
        [labContext, otherContext],
      ] as const) {
        await session.openView(PROVIDER_CONTAINER);
        const contextRow = await poll(async () => (await session!.treeItems(PROVIDER_VIEW)).find((row) => row.level === 1 && row.label === target), UI_TIMEOUT_MS, `context ${target} in the provider's tree`, () => session!.describeView(PROVIDER_VIEW));
        const contextMenu = await openContextMenu(session, PROVIDER_VIEW, contextRow);
        assert.ok(!contextMenu.includes(title('kubeNet.showVeth')), 'no pod command on a context');
        await chooseMenuItem(page, 'Set as Current Cluster');
        await poll(async () => (JSON.parse(fs.readFileSync(providerKubeconfig, 'utf8'))['current-context'] === target ? true : undefined), UI_TIMEOUT_MS, `the provider to write current-context ${target}`);
        await session.openView(CONTAINER_TITLE);
        await session.waitForRows(
          viewName,
          (rows) => rows.some((row) => row.level === 1 && contextLabel(target).test(row.label)) && !rows.some((row) => row.level === 1 && contextLabel(previous).test(row.label)),
          `our tree to follow the provider from ${previous} to ${target}`,
        );
        t.diagnostic(`our tree followed the provider to context ${target}`);
      }

      // 7. Our view switched to another context than the provider shows: a command on its pod
      // refuses to guess, and says why. Back on the same context, Copy Pod IP copies the pod's IP.
      const podIP = webPod.status?.podIP;
      assert.ok(podIP, 'the web pod has an IP');
      for (const [ours, expected] of [
        [otherContext, `The Kubernetes extension shows context ${labContext} and Kubernetes Network shows context ${otherContext}.`],
        [labContext, `Copied ${podIP}`],
      ] as const) {
        await runCommandAndPick(page, `${category}: ${title('kubeNet.switchContext')}`, ours);
        await session.openView(CONTAINER_TITLE);
        await session.waitForRows(viewName, (rows) => rows.some((row) => row.level === 1 && contextLabel(ours).test(row.label)), `our tree to switch to ${ours}`);
        await session.openView(PROVIDER_CONTAINER);
        await session.expand(PROVIDER_VIEW, [labContext, 'Pods']);
        await openContextMenu(session, PROVIDER_VIEW, await rowUnder(session, PROVIDER_VIEW, [labContext, 'Pods'], podName));
        await chooseMenuItem(page, title('kubeNet.copyPodIp'));
        const shownText = async (): Promise<string> =>
          `${await page.locator('.part.statusbar').innerText().catch(() => '')} ${(await page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).join(' | ')}`;
        const seen = await poll(async () => {
          const text = await shownText();
          return text.includes(expected) ? text : undefined;
        }, UI_TIMEOUT_MS, `"${expected}" in a notification or the status bar`, shownText);
        t.diagnostic(`Copy Pod IP with our view on ${ours}: ${seen.replace(/\s+/g, ' ').slice(0, 300)}`);
      }

      const log = session.extensionLog();
      diagnosticLines(t, kubernetesToolsLines(log));
      assert.match(log, new RegExp(`\\[KubernetesTools\\] following the Kubernetes extension's kubeconfig \\(initial\\): ${escapeRegExp(providerKubeconfig)}`));
      assert.match(log, /\[KubernetesTools\] using the Kubernetes extension's API: Cluster Explorer v1, configuration v1_1/);
      t.diagnostic(`e2e kubernetes-tools test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      await session.screenshot('kubernetes-tools-failure').catch(() => undefined);
      const logs = session.collectLogs();
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${session.extensionLog().slice(-6000)}\n${formatRows(await session.treeItems(PROVIDER_VIEW).catch(() => []))}`,
        { cause: error },
      );
    }
  } finally {
    ownerIds(session?.extensionLog() ?? '').forEach((owner) => owners.add(owner));
    await session?.dispose();
    // Never leave a debug pod of this window behind, whatever failed.
    await deleteOwnedDebugPods(api, owners);
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

test('Without the Kubernetes extension: our tree works on its own, and the integration logs one info line', { timeout: 5 * 60_000 }, async (t) => {
  const labKubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(labKubeconfig && fs.existsSync(labKubeconfig), 'KNI_LAB_KUBECONFIG is not set to a kubeconfig file');
  const kc = new KubeConfig();
  kc.loadFromFile(labKubeconfig);
  const { viewName } = manifestTitles();
  const session = await VsCodeSession.start({ name: 'kubernetes-tools-standalone', kubeconfig: labKubeconfig });
  try {
    await session.openView(CONTAINER_TITLE);
    const contextRow = new RegExp(`(^|: )${escapeRegExp(kc.getCurrentContext())}$`);
    await session.waitForRows(viewName, (rows) => rows.some((row) => row.level === 1 && contextRow.test(row.label)), 'our tree to show the lab from KUBECONFIG');
    await session.expand(viewName, [contextRow, NAMESPACE, /^Pods\b/]);
    const log = await poll(async () => {
      const text = session.extensionLog();
      return kubernetesToolsLines(text).length > 0 ? text : undefined;
    }, UI_TIMEOUT_MS, 'the integration\'s log line');
    const lines = kubernetesToolsLines(log);
    diagnosticLines(t, lines);
    assert.equal(lines.length, 1, `one line: ${lines.join('\n')}`);
    assert.match(lines[0] ?? '', /\[info\] \[KubernetesTools\] ms-kubernetes-tools\.vscode-kubernetes-tools is not installed; working on our own$/);
    const exthostErrors = log.split('\n').filter((line) => /\[error\]/.test(line) && /kubernetes-tools|KubernetesTools/i.test(line));
    assert.deepEqual(exthostErrors, [], 'no error about the Kubernetes extension');
  } catch (error) {
    const logs = session.collectLogs();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${session.extensionLog().slice(-4000)}`, { cause: error });
  } finally {
    await session.dispose();
  }
});

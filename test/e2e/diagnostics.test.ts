/**
 * The pod diagnostics in a real VS Code (code-server) in a real Chromium, against the lab:
 * right-click a web pod → "Show veth" → consent → the report names the node-side veth that
 * `ip` in the node's namespace reports as the peer of the pod's eth0; "Dig in Pod Netns" for
 * the web service answers with its real ClusterIP; the debug pod is created once per node and
 * reused; "Remove Debug Pods" leaves none; and a stopping extension host removes its pods.
 *
 * Needs the lab (KNI_LAB_KUBECONFIG), root (to read the lab's namespaces with `ip -n`) and the
 * built extension (`npm run build`).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { Page } from 'playwright-core';
import { LAB_PREFIX, nodeNetnsName } from '../../lab/config';
import { podNetnsName } from '../../lab/net/index';
import {
  CONTAINER_TITLE,
  DIAGNOSTIC_TIMEOUT_MS,
  UI_TIMEOUT_MS,
  acceptConsent,
  contextMenu,
  debugPods,
  deleteOwnedDebugPods,
  diagnostic,
  escapeRegExp,
  manifestTitles,
  ownerIds,
  pairValue,
  quickPick,
  rowUnder,
  waitForNoNewDebugPods,
  waitForReport,
} from './dataPlaneUi';
import { VsCodeSession, formatRows, poll, withTimeout } from './harness';
import type { TreeRow } from './harness';

const NAMESPACE = 'lab-apps';

/** `ip -o link` lines of a lab network namespace (read as root, independently of the extension). */
function ipLinks(netns: string, ...args: string[]): Array<{ index: number; name: string; link: string | null }> {
  const text = execFileSync('ip', ['-n', netns, '-o', 'link', 'show', ...args], { encoding: 'utf8', timeout: 10_000 });
  return text
    .split('\n')
    .map((line) => /^(\d+):\s+([^:@\s]+)(?:@([^:\s]+))?:/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ index: Number(match[1]), name: match[2], link: match[3] ?? null }));
}

/** The node-side peer of the pod's eth0 as `name@ifM`, from `ip` in the lab's namespaces. */
function vethPeerFromIp(pod: V1Pod): { label: string; podIndex: number; nodeIndex: number } {
  const uid = pod.metadata?.uid;
  const nodeName = pod.spec?.nodeName;
  assert.ok(uid && nodeName, 'the pod has a UID and a node');
  const [eth0] = ipLinks(podNetnsName(LAB_PREFIX, uid), 'eth0');
  assert.ok(eth0 && eth0.link !== null, `eth0 in ${podNetnsName(LAB_PREFIX, uid)}`);
  const peerIndex = Number(/^if(\d+)$/.exec(eth0.link)?.[1]);
  assert.ok(Number.isInteger(peerIndex), `eth0@${eth0.link} names a peer index`);
  const peer = ipLinks(nodeNetnsName(nodeName)).find((link) => link.index === peerIndex);
  assert.ok(peer, `${nodeNetnsName(nodeName)} has an interface with index ${peerIndex}`);
  return { label: peer.link === null ? peer.name : `${peer.name}@${peer.link}`, podIndex: eth0.index, nodeIndex: peer.index };
}

/** Debug pods that were not there before the test. */
async function newDebugPods(api: CoreV1Api, before: ReadonlySet<string>): Promise<Map<string, string>> {
  const now = await debugPods(api);
  return new Map([...now].filter(([name]) => !before.has(name)));
}

async function statusBarText(page: Page): Promise<string> {
  return (await page.locator('.part.statusbar').innerText().catch(() => '')).replace(/\s+/g, ' ');
}

test('Show veth and Dig in Pod Netns in VS Code against the lab, with one debug pod per node, reused and removed', { timeout: 15 * 60_000 }, async (t) => {
  const kubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(
    kubeconfig && fs.existsSync(kubeconfig),
    'KNI_LAB_KUBECONFIG is not set to a kubeconfig file: start the lab with `npm run lab -- up` and set KNI_LAB_KUBECONFIG to the path it prints (npm test does both)',
  );
  const started = Date.now();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const { viewName, commandTitle, category } = manifestTitles();

  // Two web pods on two different nodes (the lab spreads them).
  const webPods = (await api.listNamespacedPod({ namespace: NAMESPACE })).items.filter(
    (pod) => pod.metadata?.name?.startsWith('web-') && pod.status?.phase === 'Running' && pod.spec?.nodeName && !pod.spec.hostNetwork,
  );
  const first = webPods[0];
  const second = webPods.find((pod) => pod.spec?.nodeName !== first?.spec?.nodeName);
  assert.ok(first && second, `the lab has running web pods on two nodes in ${NAMESPACE}`);
  const firstName = first.metadata!.name!;
  const secondName = second.metadata!.name!;
  const webService = await api.readNamespacedService({ namespace: NAMESPACE, name: 'web' });
  const clusterIP = webService.spec?.clusterIP;
  assert.ok(clusterIP, 'the web service has a ClusterIP');
  const serviceName = `web.${NAMESPACE}.svc.cluster.local`;
  // Debug pods someone else (another test, another window) has on the lab are left alone.
  const before = new Set((await debugPods(api)).keys());

  const session = await VsCodeSession.start({ name: 'diagnostics', kubeconfig, settings: { 'kubeNet.debugPod.idleTimeoutSeconds': 600, 'terminal.integrated.gpuAcceleration': 'off' } });
  t.diagnostic(`code-server: install ${session.timings.installSeconds.toFixed(1)} s, listen ${session.timings.listenSeconds.toFixed(1)} s, first paint ${session.timings.firstPaintSeconds.toFixed(1)} s`);
  const page = session.page;
  try {
    await session.openView(CONTAINER_TITLE);
    const rows = await session.waitForRows(viewName, (current) => current.length > 0, `any row in view "${viewName}"`);
    const contextRow = new RegExp(`(^|: )${escapeRegExp(kc.getCurrentContext())}$`);
    const podsPath = [...(rows.some((row) => row.level === 1 && contextRow.test(row.label)) ? [contextRow] : []), NAMESPACE, /^Pods\b/];
    await session.expand(viewName, podsPath);
    const podRow = async (name: string): Promise<TreeRow> => rowUnder(session, viewName, podsPath, name);
    await session.resizeSidebar(420);

    // 1. Show veth on the first web pod: consent, then the report.
    const showVeth = commandTitle('kubeNet.showVeth');
    await contextMenu(session, viewName, await podRow(firstName), showVeth);
    const firstNode = first.spec!.nodeName!;
    const consentText = await acceptConsent(page, [firstNode, 'default', 'docker.io/nicolaka/netshoot:v0.13', 'hostNetwork', 'hostPID', 'privileged', '/host']);
    t.diagnostic(`consent dialog: ${consentText}`);
    const veth = await waitForReport(page, new RegExp(`^veth of ${escapeRegExp(`${NAMESPACE}/${firstName}`)}$`), (report) => report.sections.some((section) => /^Node side/.test(section.heading)));
    const shownPeer = pairValue(veth.report, /^Node side/, 'Interface');
    const fromIp = vethPeerFromIp(first);
    t.diagnostic(`webview node side: ${shownPeer}; ip in ${nodeNetnsName(firstNode)}: ${fromIp.label} (index ${fromIp.nodeIndex}, pod eth0 index ${fromIp.podIndex})`);
    assert.equal(shownPeer, fromIp.label, 'the webview names the node-side veth that ip reports as the peer of eth0');
    assert.equal(pairValue(veth.report, /^Node side/, 'Index'), String(fromIp.nodeIndex));
    assert.equal(pairValue(veth.report, /^Pod side/, 'Interface'), `eth0@if${fromIp.nodeIndex}`);
    assert.ok(
      veth.report.sections.some((section) => /both ways/.test(section.text)),
      'the index match is reported as checked both ways',
    );
    await page.mouse.move(5, 5);
    await session.screenshot('diagnostics-veth');
    // The rest of the report: the interface table, the PID and the commands.
    await veth.frame.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; scrollIntoView(): void }> } };
      Array.from(document.querySelectorAll('main#report section h2'))
        .find((heading) => (heading.textContent ?? '').startsWith('Every interface'))
        ?.scrollIntoView();
    });
    await session.screenshot('diagnostics-veth-more');

    const afterVeth = await newDebugPods(api, before);
    assert.deepEqual([...afterVeth.values()], [firstNode], `one debug pod, on ${firstNode}: ${[...afterVeth.keys()].join(', ')}`);
    const firstDebugPod = [...afterVeth.keys()][0];
    await poll(async () => (/\b1 debug pod\b/.test(await statusBarText(page)) ? true : undefined), UI_TIMEOUT_MS, 'the status bar to show 1 debug pod', () => statusBarText(page));

    // 2. Dig for the web service from the same pod: the same debug pod is reused.
    await contextMenu(session, viewName, await podRow(firstName), commandTitle('kubeNet.digInPod'));
    await quickPick(page, serviceName);
    const dig = await waitForReport(page, new RegExp(`^dig ${escapeRegExp(serviceName)} in ${escapeRegExp(`${NAMESPACE}/${firstName}`)}$`), (report) => report.sections.some((section) => section.rows.length > 0));
    const results = dig.report.sections.find((section) => /^Results per server/.test(section.heading));
    assert.ok(results, 'the dig report has the per-server table');
    const answersColumn = results.columns.indexOf('Answers');
    const clusterIpRow = results.rows.find((row) => /ClusterIP/.test(row[0] ?? ''));
    assert.ok(clusterIpRow, `a row for the kube-dns ClusterIP: ${JSON.stringify(results.rows)}`);
    t.diagnostic(`dig rows: ${results.rows.map((row) => row.join(' | ')).join(' ;; ')}`);
    assert.equal(clusterIpRow[results.columns.indexOf('Status')], 'NOERROR');
    assert.equal(clusterIpRow[answersColumn], `A ${clusterIP}`, `the answer is the web service's ClusterIP ${clusterIP} (read from the API)`);
    await session.screenshot('diagnostics-dig');
    assert.deepEqual([...(await newDebugPods(api, before)).keys()], [firstDebugPod], 'the debug pod was reused, not recreated');

    // 3. Show veth on a pod of another node: a second debug pod, and no second consent.
    await contextMenu(session, viewName, await podRow(secondName), showVeth);
    const secondVeth = await waitForReport(page, new RegExp(`^veth of ${escapeRegExp(`${NAMESPACE}/${secondName}`)}$`), (report) =>
      report.sections.some((section) => /^Node side/.test(section.heading)),
    );
    assert.equal(pairValue(secondVeth.report, /^Node side/, 'Interface'), vethPeerFromIp(second).label);
    const afterSecond = await newDebugPods(api, before);
    assert.deepEqual([...afterSecond.values()].sort(), [firstNode, second.spec!.nodeName!].sort(), 'one debug pod per node');
    assert.ok(afterSecond.has(firstDebugPod), 'the first node keeps its debug pod');
    await poll(async () => (/\b2 debug pods\b/.test(await statusBarText(page)) ? true : undefined), UI_TIMEOUT_MS, 'the status bar to show 2 debug pods', () => statusBarText(page));
    diagnostic(t, `debug pods while in use:\n${[...afterSecond].map(([name, node]) => `  ${node} → ${name}`).join('\n')}`);

    // 3b. A hostNetwork pod on the first node: explained, with the node's interfaces (the
    // first pod's veth among them), through the same debug pod.
    const hostNetworkPod = (await api.listNamespacedPod({ namespace: 'kube-system' })).items.find(
      (pod) => pod.spec?.hostNetwork === true && pod.spec.nodeName === firstNode && pod.status?.phase === 'Running',
    );
    assert.ok(hostNetworkPod, `the lab has a running hostNetwork pod on ${firstNode} in kube-system`);
    const hostNetworkName = hostNetworkPod.metadata!.name!;
    const systemPodsPath = [...podsPath.slice(0, -2), 'kube-system', /^Pods\b/];
    await session.expand(viewName, systemPodsPath);
    const hostNetworkRow = await rowUnder(session, viewName, systemPodsPath, hostNetworkName);
    await contextMenu(session, viewName, hostNetworkRow, showVeth);
    const hostVeth = await waitForReport(page, new RegExp(`^veth of kube-system/${escapeRegExp(hostNetworkName)}$`));
    assert.ok(hostVeth.report.sections.some((section) => /hostNetwork: true/.test(section.text)), 'the hostNetwork pod is explained');
    const nodeTable = hostVeth.report.sections.find((section) => section.columns.length > 0);
    assert.ok(nodeTable?.rows.some((row) => row[0] === fromIp.label), `the node's interfaces include ${fromIp.label}`);
    assert.deepEqual([...(await newDebugPods(api, before)).keys()].sort(), [...afterSecond.keys()].sort(), 'still one debug pod per node');

    // 3c. Run in Pod Netns: the command's output, its exit code, in the output channel.
    await contextMenu(session, viewName, await podRow(firstName), commandTitle('kubeNet.runInPodNetns'));
    const commandInput = page.locator('.quick-input-widget .quick-input-box input');
    await commandInput.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await commandInput.fill("ip -o link show 'eth0'");
    await page.keyboard.press('Enter');
    const expectedLink = `eth0@if${fromIp.nodeIndex}`;
    const outputText = await poll(
      async () => {
        // The output view's editor renders its lines as text (non-breaking spaces included).
        const text = (await page.locator('.part.panel').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
        return text.includes('# exit code') ? text.slice(text.indexOf('$ ip')) : undefined;
      },
      DIAGNOSTIC_TIMEOUT_MS,
      'the command output in the "Kubernetes Network: Pod Netns" channel',
      async () => page.locator('.part.panel').innerText().catch(() => '(no panel)'),
    );
    t.diagnostic(`output channel: ${outputText.replace(/\s+/g, ' ')}`);
    assert.ok(outputText.includes('$ ip -o link show eth0'), 'the command line is echoed');
    assert.ok(outputText.includes(`${fromIp.podIndex}: ${expectedLink}`), `the output shows ${expectedLink}`);
    assert.match(outputText, /# exit code 0\b/);

    // 3d. Open Pod Netns Terminal: a shell in the pod's namespace.
    await contextMenu(session, viewName, await podRow(firstName), commandTitle('kubeNet.openPodNetnsTerminal'));
    const terminalRows = page.locator('.part.panel .terminal-wrapper.active .xterm-rows, .part.panel .xterm .xterm-rows').first();
    await poll(async () => (/Shell in the network namespace/.test(await terminalRows.innerText().catch(() => '')) ? true : undefined), DIAGNOSTIC_TIMEOUT_MS, 'the pod netns terminal to open', () => page.locator('.part.panel').innerText().catch(() => ''));
    await page.locator('.part.panel .xterm').first().click();
    await page.keyboard.type('ip -o link show eth0');
    await page.keyboard.press('Enter');
    const terminalText = await poll(
      async () => {
        const text = await terminalRows.innerText().catch(() => '');
        return text.includes(`${fromIp.podIndex}: ${expectedLink}`) ? text : undefined;
      },
      UI_TIMEOUT_MS,
      `${expectedLink} in the terminal`,
      () => terminalRows.innerText().catch(() => ''),
    );
    t.diagnostic(`terminal: ${terminalText.replace(/\s+/g, ' ').slice(0, 400)}`);
    await session.screenshot('diagnostics-terminal');
    await page.keyboard.type('exit');
    await page.keyboard.press('Enter');
    // The shell ended normally: the terminal closes, as a local one does.
    await poll(async () => ((await page.locator('.part.panel .xterm').count()) === 0 ? true : undefined), UI_TIMEOUT_MS, 'the terminal to close after exit', () => terminalRows.innerText().catch(() => ''));

    // 4. Remove Debug Pods: none of them is left.
    await session.runCommand(`${category}: ${commandTitle('kubeNet.removeDebugPods')}`);
    await waitForNoNewDebugPods(api, before, 'the debug pods to be deleted after "Remove Debug Pods"');
    await poll(
      async () => ((await page.locator('.notifications-toasts .notification-list-item-message').allTextContents()).some((text) => /Removed 2 debug pods/.test(text)) ? true : undefined),
      UI_TIMEOUT_MS,
      'the "Removed 2 debug pods" message',
    );
    await poll(async () => (/debug pod/.test(await statusBarText(page)) ? undefined : true), UI_TIMEOUT_MS, 'the status bar item to hide', () => statusBarText(page));

    // 5. A debug pod again (consent is remembered), then the extension host stops: its
    // deactivate deletes the pod.
    await session.runCommand('View: Close All Editors');
    await contextMenu(session, viewName, await podRow(firstName), showVeth);
    await waitForReport(page, new RegExp(`^veth of ${escapeRegExp(`${NAMESPACE}/${firstName}`)}$`));
    assert.equal((await newDebugPods(api, before)).size, 1, 'a debug pod for the third Show veth');
    // Reloading the window ends this window's extension host (a new one starts).
    await page.keyboard.press('F1');
    const palette = page.locator('.quick-input-widget .quick-input-box input');
    await palette.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await palette.fill('>Developer: Reload Window');
    await poll(
      async () => ((await page.locator('.quick-input-widget .monaco-list-row.focused').getAttribute('aria-label').catch(() => null))?.startsWith('Developer: Reload Window') ? true : undefined),
      UI_TIMEOUT_MS,
      '"Developer: Reload Window" in the Command Palette',
    );
    const reloaded = page.waitForEvent('load', { timeout: 90_000 });
    await page.keyboard.press('Enter');
    await waitForNoNewDebugPods(api, before, 'the debug pod to be deleted when the extension host stopped (window reload)');
    t.diagnostic('reloading the window stopped the extension host, whose deactivate deleted the debug pod');

    // 6. And when code-server itself stops.
    await reloaded;
    await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: 90_000 });
    await session.runCommand('View: Close All Editors');
    await session.openView(CONTAINER_TITLE);
    await session.expand(viewName, podsPath);
    await contextMenu(session, viewName, await podRow(firstName), showVeth);
    await acceptConsent(page, [firstNode]);
    await waitForReport(page, new RegExp(`^veth of ${escapeRegExp(`${NAMESPACE}/${firstName}`)}$`));
    await poll(async () => ((await newDebugPods(api, before)).size === 1 ? true : undefined), DIAGNOSTIC_TIMEOUT_MS, 'a debug pod before stopping code-server');
    // SIGTERM to code-server alone, as a service manager stops it; it ends its extension hosts.
    process.kill(session.server.pid, 'SIGTERM');
    await waitForNoNewDebugPods(api, before, 'the debug pod to be deleted when code-server stopped');
    await withTimeout(session.dispose(), 60_000, 'code-server to stop');
    t.diagnostic('stopping code-server deleted the debug pod');
    t.diagnostic(`e2e diagnostics test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await session.screenshot('diagnostics-failure').catch(() => undefined);
    const logs = session.collectLogs();
    const extensionLog = session.extensionLog().slice(-8000);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${extensionLog}\n${formatRows(await session.treeItems(viewName).catch(() => []))}`, { cause: error });
  } finally {
    const owners = ownerIds(session.extensionLog());
    await session.dispose();
    // Never leave a debug pod of this window behind, whatever failed; other windows' pods stay.
    ownerIds(session.extensionLog()).forEach((owner) => owners.add(owner));
    await deleteOwnedDebugPods(api, owners);
  }
});

/**
 * The data-plane commands in a real VS Code (code-server) in a real Chromium, against the lab:
 * - "Trace Service Path" on lab-apps/web names exactly the pods that the traced node's rules
 *   DNAT to, read independently from `iptables-nft-save` in that node's namespace and the API;
 * - after 3 requests from the client pod to the web ClusterIP, "Show Conntrack" on the service
 *   (on the client's node) lists each connection with a web pod's IP as the reply source, its
 *   filter finds them, its usage is the node's /proc/sys/net/netfilter values, and its raw text
 *   opens as a document; "Stream Conntrack Events" shows a further request until stopped;
 *   "Raise nf_conntrack_max…" (read-only in a node's namespace) changes nothing and says how;
 * - "IPVS Backends" on a lab node says it is not in IPVS mode and names its mode, and its
 *   button for a service opens the trace instead;
 * - "Show Data Plane" names the mode; the debug pods are gone at the end (checked in the API).
 *
 * Traffic: at most 6 HTTP requests from the client pod's namespace to the web ClusterIP, each
 * bounded by 2 s, inside the lab. Needs the lab (KNI_LAB_KUBECONFIG), root and the built extension.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import type { Frame, Page } from 'playwright-core';
import { LAB_PREFIX } from '../../lab/config';
import { podNetnsName } from '../../lab/net/index';
import { VsCodeSession, formatRows, poll } from './harness';
import {
  CONTAINER_TITLE,
  UI_TIMEOUT_MS,
  acceptConsent,
  contextMenu,
  contextPrefix,
  debugPods,
  deleteNewDebugPods,
  diagnostic,
  escapeRegExp,
  inNetns,
  inNodeNetns,
  manifestTitles,
  netfilterValue,
  pairValue,
  quickPick,
  readConntrack,
  rowUnder,
  waitForConntrack,
  waitForNoNewDebugPods,
  waitForReport,
} from './dataPlaneUi';
import type { RenderedConntrack, RenderedReport } from './dataPlaneUi';

const NAMESPACE = 'lab-apps';
const SERVICE = 'web';
const IPVS_NODE = 'lab-worker';

/** What the lab's web server answers: the pod that served the request and the client's port. */
interface EchoReply {
  readonly podIP: string;
  readonly clientPort: number;
  readonly pod: string;
}

/**
 * The endpoints kube-proxy's rules on `node` send the service's port `http` to, read by hand:
 * KUBE-SERVICES rule → KUBE-SVC chain → each KUBE-SEP chain → its DNAT target.
 */
function dnatTargetsFromRules(node: string): { svcChain: string; targets: string[] } {
  const lines = inNodeNetns(node, ['iptables-nft-save', '-t', 'nat']).split('\n');
  const entry = lines.find((line) => line.startsWith('-A KUBE-SERVICES ') && line.includes(`"${NAMESPACE}/${SERVICE}:http cluster IP"`));
  const svcChain = entry === undefined ? undefined : /-j (KUBE-SVC-[A-Z0-9]+)$/.exec(entry)?.[1];
  assert.ok(svcChain, `node ${node} has a KUBE-SERVICES rule for ${NAMESPACE}/${SERVICE}`);
  const sepChains = lines.filter((line) => line.startsWith(`-A ${svcChain} `)).map((line) => /-j (KUBE-SEP-[A-Z0-9]+)$/.exec(line)?.[1]).filter((chain): chain is string => chain !== undefined);
  const targets = sepChains.map((chain) => {
    const dnat = lines.find((line) => line.startsWith(`-A ${chain} `) && line.includes(' -j DNAT '));
    const target = dnat === undefined ? undefined : /--to-destination (\S+)/.exec(dnat)?.[1];
    assert.ok(target, `${chain} has a DNAT rule`);
    return target;
  });
  return { svcChain, targets };
}

function sectionOf(report: RenderedReport, heading: RegExp): RenderedReport['sections'][number] {
  const section = report.sections.find((candidate) => heading.test(candidate.heading));
  assert.ok(section, `the report has a section ${heading}: ${report.sections.map((candidate) => candidate.heading).join(' | ')}`);
  return section;
}

function column(section: RenderedReport['sections'][number], name: string): string[] {
  const position = section.columns.indexOf(name);
  assert.ok(position >= 0, `section "${section.heading}" has a column ${name}: ${section.columns.join(', ')}`);
  return section.rows.map((row) => row[position] ?? '');
}

/** Before a screenshot: the mouse off the tree (no hover), the progress notifications gone. */
async function quiet(page: Page): Promise<void> {
  await page.mouse.move(640, 790);
  await poll(async () => ((await page.locator('.notifications-toasts .notification-toast').count()) === 0 ? true : undefined), 15_000, 'the notifications to close').catch(() => undefined);
}

/** Types `text` into the conntrack view's filter and waits for the table to follow. */
async function filterConntrack(frame: Frame, text: string): Promise<RenderedConntrack> {
  await frame.locator('#filter').fill(text);
  // The filter runs 150 ms after the last key: wait until the filter is applied (every row
  // shown contains the text) and the rows stay the same between two reads.
  let last = '';
  return poll(
    async () => {
      const view = await readConntrack(frame);
      const now = JSON.stringify([view.shown, view.rows]);
      const settled = now === last && view.rows.every((row) => Object.values(row).join(' ').includes(text));
      last = now;
      return settled ? view : undefined;
    },
    UI_TIMEOUT_MS,
    `the conntrack view filtered on ${text}`,
  );
}

test('Trace Service Path, Show Conntrack, IPVS Backends and Show Data Plane in VS Code against the lab', { timeout: 15 * 60_000 }, async (t) => {
  const kubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(kubeconfig && fs.existsSync(kubeconfig), 'KNI_LAB_KUBECONFIG is not set to a kubeconfig file: start the lab with `npm run lab -- up` and set KNI_LAB_KUBECONFIG to the path it prints');
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  const { viewName, commandTitle, category } = manifestTitles();
  const before = new Set((await debugPods(api)).keys());

  const web = await api.readNamespacedService({ namespace: NAMESPACE, name: SERVICE });
  const clusterIP = web.spec?.clusterIP;
  assert.ok(clusterIP, 'the web service has a ClusterIP');
  const client = await api.readNamespacedPod({ namespace: NAMESPACE, name: 'client' });
  const clientNode = client.spec?.nodeName;
  const clientIP = client.status?.podIP;
  assert.ok(clientNode && clientIP && client.metadata?.uid, 'the client pod runs on a node with an IP');
  const podsByIP = new Map<string, V1Pod>();
  for (const pod of (await api.listNamespacedPod({ namespace: NAMESPACE })).items) {
    if (pod.status?.podIP) {
      podsByIP.set(pod.status.podIP, pod);
    }
  }

  // Three requests from the client pod's own namespace to the ClusterIP (bounded, inside the lab).
  const replies: EchoReply[] = [];
  for (let index = 0; index < 3; index++) {
    replies.push(JSON.parse(inNetns(podNetnsName(LAB_PREFIX, client.metadata.uid), ['curl', '-s', '--max-time', '2', `http://${clusterIP}/`])) as EchoReply);
  }
  t.diagnostic(`requests from ${clientIP} on ${clientNode}: ${replies.map((reply) => `port ${reply.clientPort} → ${reply.pod} (${reply.podIP})`).join(', ')}`);

  const session = await VsCodeSession.start({ name: 'dataPlane', kubeconfig, settings: { 'kubeNet.debugPod.idleTimeoutSeconds': 600 } });
  const page = session.page;
  try {
    await session.openView(CONTAINER_TITLE);
    const prefix = await contextPrefix(session, viewName, kc.getCurrentContext());
    const servicesPath = [...prefix, NAMESPACE, /^Services\b/];
    await session.expand(viewName, servicesPath);
    await session.resizeSidebar(380);

    // 1. Trace Service Path.
    await contextMenu(session, viewName, await rowUnder(session, viewName, servicesPath, SERVICE), commandTitle('kubeNet.traceService'));
    await acceptConsent(page, []);
    const trace = await waitForReport(page, new RegExp(`^Path of ${escapeRegExp(`${NAMESPACE}/${SERVICE}`)}$`), (report) => report.sections.some((section) => /→ endpoints/.test(section.heading)));
    const tracedNode = pairValue(trace.report, /^Service$/, 'Traced on node').split(' ')[0] as string;
    const truth = dnatTargetsFromRules(tracedNode);
    const truthPods = truth.targets.map((target) => {
      const pod = podsByIP.get(target.split(':')[0] as string);
      return pod === undefined ? '(no pod)' : `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    });
    const endpoints = sectionOf(trace.report, /^Port http 80\/tcp: .*→ endpoints/);
    diagnostic(t, `trace on ${tracedNode}: ${endpoints.rows.map((row) => row.join(' | ')).join('\n  ')}`);
    t.diagnostic(`iptables-nft-save on ${tracedNode}: ${truth.svcChain} → ${truth.targets.join(', ')} = ${truthPods.join(', ')}`);
    assert.deepEqual(column(endpoints, 'Pod').sort(), [...truthPods].sort(), 'the trace names exactly the pods the node\'s rules DNAT to');
    assert.deepEqual(column(endpoints, 'DNAT to').sort(), [...truth.targets].sort());
    assert.deepEqual(column(endpoints, 'Endpoint chain').length, truth.targets.length);
    assert.ok(endpoints.heading.includes(truth.svcChain), `the endpoints come from ${truth.svcChain}: ${endpoints.heading}`);
    await quiet(page);
    await session.screenshot('dataPlane-trace');
    await trace.frame.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; scrollIntoView(): void }> } };
      Array.from(document.querySelectorAll('main#report section h2'))
        .find((heading) => (heading.textContent ?? '').includes('the rules on the path'))
        ?.scrollIntoView();
    });
    await session.screenshot('dataPlane-trace-rules');
    await trace.frame.evaluate(() => {
      const { document } = globalThis as unknown as { document: { querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; scrollIntoView(): void }> } };
      Array.from(document.querySelectorAll('main#report section h2'))
        .find((heading) => (heading.textContent ?? '').includes('→ endpoints'))
        ?.scrollIntoView();
    });
    await session.screenshot('dataPlane-trace-endpoints');

    // 2. Show Conntrack on the service, read on the client's node (in the whole editor area).
    await session.runCommand('View: Close All Editors');
    const countBefore = netfilterValue(clientNode, 'count');
    const max = netfilterValue(clientNode, 'max');
    await contextMenu(session, viewName, await rowUnder(session, viewName, servicesPath, SERVICE), commandTitle('kubeNet.showConntrack'));
    await quickPick(page, clientNode);
    const conntrack = await waitForConntrack(page, new RegExp(`^Conntrack of ${escapeRegExp(`${NAMESPACE}/${SERVICE}`)}$`));
    const countAfter = netfilterValue(clientNode, 'count');
    t.diagnostic(`conntrack view: ${conntrack.view.shown}; usage ${conntrack.view.usageCount}/${conntrack.view.usageMax}; node ${clientNode} count ${countBefore} → ${countAfter}, max ${max}`);
    assert.equal(conntrack.view.usageMax, String(max), 'nf_conntrack_max as the node\'s /proc/sys/net/netfilter/nf_conntrack_max');
    const shownCount = Number(conntrack.view.usageCount);
    assert.ok(shownCount >= Math.min(countBefore, countAfter) && shownCount <= Math.max(countBefore, countAfter), `nf_conntrack_count ${shownCount} is what the node had while the view was read (${countBefore} … ${countAfter})`);
    for (const reply of replies) {
      const view = await filterConntrack(conntrack.frame, `${clientIP}:${reply.clientPort}`);
      const row: Readonly<Record<string, string>> | undefined = view.rows.find((candidate) => candidate.source === `${clientIP}:${reply.clientPort}`);
      assert.ok(row, `a row for the request from port ${reply.clientPort}: ${JSON.stringify(view.rows)}`);
      assert.equal(row.destination, `${clusterIP}:80`);
      assert.equal(row.replySource, `${reply.podIP}:8080`, 'the reply source is the web pod that answered (the DNAT)');
      assert.ok(podsByIP.get(reply.podIP)?.metadata?.name?.startsWith(`${SERVICE}-`), `${reply.podIP} is a web pod's IP`);
    }
    const filtered = await filterConntrack(conntrack.frame, clusterIP);
    assert.ok(filtered.rows.length >= 3, `at least the 3 connections to ${clusterIP}: ${filtered.shown}`);
    assert.ok(filtered.rows.every((row) => (row.destination ?? '').startsWith(`${clusterIP}:`)), 'every row shown goes to the ClusterIP');
    await quiet(page);
    await session.screenshot('dataPlane-conntrack');

    // The raw `conntrack -L` text as a read-only document.
    await conntrack.frame.locator('#open-raw').click({ timeout: UI_TIMEOUT_MS });
    const rawTab = await poll(async () => (await page.locator('.tabs-container .tab.active .label-name').allInnerTexts().catch(() => [])).find((label) => label.includes('conntrack -L')), UI_TIMEOUT_MS, 'the raw text document');
    const rawText = await poll(async () => {
      const text = (await page.locator('.editor-group-container.active .monaco-editor .view-lines').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
      return text.includes(`dst=${clusterIP}`) ? text : undefined;
    }, UI_TIMEOUT_MS, `dst=${clusterIP} in the raw text`);
    t.diagnostic(`raw document "${rawTab}": ${rawText.split('\n')[0]}`);
    assert.ok(replies.every((reply) => rawText.includes(`sport=${reply.clientPort} dport=80 src=${reply.podIP} `)), 'the raw text has each connection, answered by its pod');
    await session.runCommand('View: Close All Editors');

    // The client pod's own connections: from its IP, each answered by a web pod.
    const podsPath = [...prefix, NAMESPACE, /^Pods\b/];
    await session.expand(viewName, podsPath);
    await contextMenu(session, viewName, await rowUnder(session, viewName, podsPath, 'client'), commandTitle('kubeNet.showConntrack'));
    const podView = await waitForConntrack(page, new RegExp(`^Conntrack of ${escapeRegExp(`${NAMESPACE}/client`)}$`));
    for (const reply of replies) {
      const view = await filterConntrack(podView.frame, `${clientIP}:${reply.clientPort}`);
      assert.ok(view.rows.some((row) => row.replySource === `${reply.podIP}:8080`), `the pod view has the request from port ${reply.clientPort}: ${JSON.stringify(view.rows)}`);
    }
    await session.runCommand('View: Close All Editors');

    // 2b. Conntrack events of the client's node while one more request is made, then stopped.
    const nodesPath = [...prefix, /^Nodes$/];
    await session.expand(viewName, nodesPath);
    await contextMenu(session, viewName, await rowUnder(session, viewName, nodesPath, clientNode), commandTitle('kubeNet.streamConntrackEvents'));
    // The output view's editor renders its spaces as non-breaking ones.
    const panelText = async (): Promise<string> => (await page.locator('.part.panel').innerText().catch(() => '')).replace(/\u00a0/g, ' ');
    await poll(async () => (/# conntrack -E on node/.test(await panelText()) ? true : undefined), UI_TIMEOUT_MS, 'the events channel to start');
    // conntrack -E needs a moment to subscribe after it starts: request until an event shows (at most 3).
    let eventReply: EchoReply | undefined;
    for (let attempt = 0; attempt < 3 && eventReply === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const reply = JSON.parse(inNetns(podNetnsName(LAB_PREFIX, client.metadata.uid), ['curl', '-s', '--max-time', '2', `http://${clusterIP}/`])) as EchoReply;
      const seen = await poll(async () => ((await panelText()).includes(`sport=${reply.clientPort} dport=80`) ? true : undefined), 5_000, 'the event').catch(() => false);
      if (seen) {
        eventReply = reply;
      }
    }
    assert.ok(eventReply, `the events channel shows a request's connection: ${await panelText()}`);
    await session.runCommand(`${category}: ${commandTitle('kubeNet.stopConntrackEvents')}`);
    await poll(async () => (/# stopped after/.test(await panelText()) ? true : undefined), UI_TIMEOUT_MS, 'the stream to stop');
    await quiet(page);
    await session.screenshot('dataPlane-events');

    // 2c. Raise nf_conntrack_max…: read-only in a node's namespace, so nothing changes and the
    // report says how to set it on the node.
    await contextMenu(session, viewName, await rowUnder(session, viewName, nodesPath, clientNode), commandTitle('kubeNet.raiseConntrackMax'));
    const valueInput = page.locator('.quick-input-widget .quick-input-box input');
    await valueInput.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await valueInput.fill(String(max * 2));
    await page.keyboard.press('Enter');
    const raise = await waitForReport(page, new RegExp(`^nf_conntrack_max on ${escapeRegExp(clientNode)}$`));
    assert.equal(pairValue(raise.report, /^nf_conntrack_max$/, 'Now'), String(max));
    assert.equal(pairValue(raise.report, /^nf_conntrack_max$/, 'Requested'), String(max * 2));
    assert.ok(raise.report.sections.some((section) => /read-only/.test(section.text)), 'the report says the value is read-only from the debug pod');
    assert.ok(raise.report.sections.some((section) => section.text.includes(`net.netfilter.nf_conntrack_max = ${max * 2}`)), 'and how to keep the value');
    assert.equal(netfilterValue(clientNode, 'max'), max, 'nothing changed');

    // 3. IPVS Backends on a node: not in IPVS mode, its real mode named.
    await contextMenu(session, viewName, await rowUnder(session, viewName, nodesPath, IPVS_NODE), commandTitle('kubeNet.ipvsBackends'));
    const ipvs = await waitForReport(page, new RegExp(`^IPVS on ${escapeRegExp(IPVS_NODE)}$`));
    const message = ipvs.report.sections.find((section) => /is not in IPVS mode/.test(section.text));
    assert.ok(message, `the report says the node is not in IPVS mode: ${ipvs.report.sections.map((section) => section.text).join(' | ')}`);
    assert.match(message.text, /kube-proxy runs in iptables mode/, 'and names its mode');
    assert.equal(pairValue(ipvs.report, /^Data plane of/, 'Mode'), 'iptables mode');
    assert.equal(fs.existsSync(`/proc/net/ip_vs`), false, 'this machine has no IPVS (so no lab node can be in IPVS mode)');
    await quiet(page);
    await session.screenshot('dataPlane-ipvs');

    // The same for the service; its button opens the trace of the real mode (in a panel that
    // only the button can have opened: every editor is closed first).
    await session.runCommand('View: Close All Editors');
    await contextMenu(session, viewName, await rowUnder(session, viewName, servicesPath, SERVICE), commandTitle('kubeNet.ipvsBackends'));
    const serviceIpvs = await waitForReport(page, new RegExp(`^IPVS backends of ${escapeRegExp(`${NAMESPACE}/${SERVICE}`)}$`));
    const traceButton = serviceIpvs.report.sections.flatMap((section) => section.buttons).find((label) => label.startsWith('Trace Service Path'));
    assert.ok(traceButton, `a button to trace instead: ${serviceIpvs.report.sections.flatMap((section) => section.buttons).join(', ')}`);
    await serviceIpvs.frame.locator('button.action', { hasText: traceButton }).click({ timeout: UI_TIMEOUT_MS });
    const ipvsNode = /^node (\S+) ·/.exec(serviceIpvs.report.subtitle)?.[1];
    assert.ok(ipvsNode, `the IPVS report names its node: ${serviceIpvs.report.subtitle}`);
    const traced = await waitForReport(page, new RegExp(`^Path of ${escapeRegExp(`${NAMESPACE}/${SERVICE}`)}$`), (report) => report.sections.some((section) => /→ endpoints/.test(section.heading)));
    assert.equal(pairValue(traced.report, /^Service$/, 'Traced on node'), `${ipvsNode} (chosen)`, 'the button traces on the node the IPVS report was about');

    // 4. Show Data Plane.
    await contextMenu(session, viewName, await rowUnder(session, viewName, nodesPath, IPVS_NODE), commandTitle('kubeNet.showDataPlane'));
    const dataPlane = await waitForReport(page, new RegExp(`^Data plane of ${escapeRegExp(IPVS_NODE)}$`));
    assert.match(dataPlane.report.subtitle, /^iptables mode/);
    assert.equal(pairValue(dataPlane.report, /^Data plane of node/, 'Mode'), 'iptables mode');
    await quiet(page);
    await session.screenshot('dataPlane-mode');

    // 5. No debug pod left.
    await session.runCommand(`${category}: ${commandTitle('kubeNet.removeDebugPods')}`);
    await waitForNoNewDebugPods(api, before, 'the debug pods to be deleted after "Remove Debug Pods"');
  } catch (error) {
    await session.screenshot('dataPlane-failure').catch(() => undefined);
    const logs = session.collectLogs();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${session.extensionLog().slice(-6000)}\n${formatRows(await session.treeItems(viewName).catch(() => []))}`, { cause: error });
  } finally {
    await session.dispose();
    await deleteNewDebugPods(api, before);
    await waitForNoNewDebugPods(api, before, 'no debug pod of this test left').catch((error: unknown) => t.diagnostic(String(error)));
  }
});

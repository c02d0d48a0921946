/**
 * The "Show veth" and "Dig in pod netns" results as reports: built from real captured `ip addr`,
 * dig and resolv.conf output (the shared corpus) through the real parsers and the core's own
 * manual-command builders, then converted; every expectation is read from those inputs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import type { PodSummary } from '../../../src/diagnostics/context.js';
import { digOutcome } from '../../../src/diagnostics/dig.js';
import type { DigQuery, PodDigResult } from '../../../src/diagnostics/dig.js';
import { commandLine, crictlPidCommand, kubectlDebugNodeCommand, kubectlGetPodCommand, nsenterCommand } from '../../../src/diagnostics/manualCommands.js';
import type { ManualCommand } from '../../../src/diagnostics/manualCommands.js';
import { primaryInterface } from '../../../src/diagnostics/veth.js';
import type { ExtraInterface, PidInfo, VethResult } from '../../../src/diagnostics/veth.js';
import type { Translate } from '../../../src/features/clusterNodes.js';
import { addressList, interfaceLabel } from '../../../src/features/reports/common.js';
import { digReport, digReportKey } from '../../../src/features/reports/digReport.js';
import { vethReport, vethReportKey } from '../../../src/features/reports/vethReport.js';
import { parseDig } from '../../../src/parsers/dig.js';
import { parseIpAddr } from '../../../src/parsers/ipAddr.js';
import type { IpInterface } from '../../../src/parsers/ipAddr.js';
import { parseResolvConf } from '../../../src/parsers/resolvConf.js';
import { copyableTexts, isReport } from '../../../src/protocol/report.js';
import type { CodeSection, CommandsSection, KeyValueSection, NoticeSection, Report, TableSection } from '../../../src/protocol/report.js';
import { corpusFiles, repoRoot } from '../parsers/corpusFiles.js';

/** `vscode.l10n.t` without VS Code: fills `{0}`-style placeholders. */
const t: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (_match, position: string) => String(args[Number(position)]));

function corpusText(kind: string, name: string): string {
  const entry = corpusFiles(kind).find((candidate) => candidate.name === name);
  assert.ok(entry, `corpus file ${kind}/${name} is missing`);
  return entry.body;
}

function interfacesOf(name: string): IpInterface[] {
  return parseIpAddr(corpusText('ip-addr', name)).value;
}

function sections<K extends Report['sections'][number]['kind']>(report: Report, kind: K): Array<Extract<Report['sections'][number], { kind: K }>> {
  return report.sections.filter((section): section is Extract<Report['sections'][number], { kind: K }> => section.kind === kind);
}

function keyValue(report: Report, heading: RegExp): KeyValueSection {
  const found = sections(report, 'keyValue').find((section) => heading.test(section.heading));
  assert.ok(found, `no key/value section ${heading} in ${report.sections.map((section) => ('heading' in section ? section.heading : section.kind)).join(' | ')}`);
  return found;
}

function value(section: KeyValueSection, key: string): string {
  const item = section.items.find((candidate) => candidate.key === key);
  assert.ok(item, `${section.heading} has no ${key}`);
  return item.value;
}

function allCommands(report: Report): string[] {
  return sections(report, 'commands').flatMap((section: CommandsSection) => [...section.commands]);
}

/** Hostile names: markup, shell metacharacters, a line break and a bidi override. */
const hostileNamespace = 'ns<script>alert(1)</script>';
const hostilePod = 'web";$(touch /tmp/x)`id`\n<img src=x onerror=alert(1)>\u202e';

function podSummary(namespace: string, name: string, overrides: Partial<PodSummary> = {}): PodSummary {
  return {
    namespace,
    name,
    uid: '7d9a2f4e-0000-4000-8000-000000000001',
    nodeName: 'node-a',
    podIP: null,
    podIPs: [],
    hostIP: null,
    hostNetwork: false,
    phase: 'Running',
    ...overrides,
  };
}

const pid: PidInfo = { pid: 4200, method: 'cgroup-scan', containerName: 'nginx', containerId: 'a'.repeat(64), runtime: 'containerd' };

/** A VethResult as `showVeth` assembles it, from a pod-side and a node-side capture. */
function vethResult(pod: PodSummary, podInterfaces: IpInterface[], nodeInterface: IpInterface | null, bridge: IpInterface | null): VethResult {
  const podInterface = primaryInterface(podInterfaces, pod.podIPs);
  assert.ok(podInterface);
  const extraInterfaces: ExtraInterface[] = podInterfaces
    .filter((item) => item !== podInterface && item.name !== 'lo' && item.linkType !== 'loopback')
    .map((item) => ({ podInterface: item, nodeInterface: null }));
  const manualCommands: ManualCommand[] = [
    kubectlGetPodCommand(pod.namespace, pod.name),
    kubectlDebugNodeCommand(pod.nodeName ?? '', 'docker.io/nicolaka/netshoot:v0.13'),
    crictlPidCommand(pid.containerId),
    nsenterCommand(pid.pid, ['ip', 'addr'], "The pod's interfaces"),
  ];
  return {
    pod,
    hostNetwork: false,
    pid,
    podInterface,
    nodeInterface,
    indexMatch: {
      podPeerIndex: podInterface.peerIndex,
      nodeIndex: nodeInterface?.index ?? null,
      nodePeerIndex: nodeInterface?.peerIndex ?? null,
      podIndex: podInterface.index,
      forward: nodeInterface !== null && nodeInterface.index === podInterface.peerIndex,
      reverse: nodeInterface !== null && nodeInterface.peerIndex === podInterface.index,
    },
    bridge,
    route: pod.podIP === null ? null : { destination: pod.podIP, dev: bridge?.name ?? null, via: null, src: null, text: `${pod.podIP} dev ${bridge?.name ?? 'eth0'}` },
    extraInterfaces,
    podInterfaces,
    nodeInterfaces: [],
    notes: [],
    problems: [],
    manualCommands,
  };
}

describe('vethReport', () => {
  const podSide = interfacesOf('minikube-kindnet-pod-nsenter-ip-a.txt');
  const nodeSide = interfacesOf('kube-router337-centos-node-ip-link-kube-bridge-veth-netnsid1.txt');
  const eth0 = podSide.find((item) => item.name === 'eth0');
  const nodeVeth = nodeSide.find((item) => item.kind === 'veth' || item.name.startsWith('veth'));
  const bridge = nodeSide.find((item) => item.name === nodeVeth?.master);
  assert.ok(eth0 && nodeVeth && bridge, 'the captures hold eth0, a veth and its bridge');
  const podIP = eth0.addresses[0]?.address ?? null;

  it('shows both ends, says the index match held both ways, lists every pod interface, the PID and the commands', () => {
    // The node end as the node lists it for this pod: the captured veth, at the index the
    // pod's eth0 names, pointing back at eth0's index.
    assert.ok(eth0.peerIndex !== null && eth0.index !== null);
    const peer: IpInterface = { ...nodeVeth, index: eth0.peerIndex, peerIndex: eth0.index, link: `if${eth0.index}` };
    const pod = podSummary('lab-apps', 'web-1', { podIP, podIPs: podIP === null ? [] : [podIP] });
    const result = vethResult(pod, podSide, peer, bridge);
    const report = vethReport(result, t);

    assert.ok(isReport(report), 'the report passes the protocol check the webview applies');
    assert.equal(report.title, 'veth of lab-apps/web-1');
    assert.match(report.subtitle ?? '', new RegExp(`node ${pod.nodeName}`));

    const podKv = keyValue(report, /^Pod side/);
    assert.equal(value(podKv, 'Interface'), `eth0@if${eth0.peerIndex}`);
    assert.equal(value(podKv, 'Index'), String(eth0.index));
    assert.equal(value(podKv, 'MAC'), eth0.mac);
    assert.equal(value(podKv, 'MTU'), String(eth0.mtu));
    assert.equal(value(podKv, 'State'), eth0.state);
    assert.equal(value(podKv, 'Addresses'), addressList(eth0));

    const nodeKv = keyValue(report, /^Node side/);
    assert.equal(value(nodeKv, 'Interface'), `${nodeVeth.name}@if${eth0.index}`);
    assert.equal(value(nodeKv, 'Index'), String(eth0.peerIndex));
    assert.equal(value(nodeKv, 'MAC'), nodeVeth.mac);
    assert.equal(value(nodeKv, 'MTU'), String(nodeVeth.mtu));
    assert.match(value(nodeKv, 'Master (bridge)'), new RegExp(`^${bridge.name}\\b`));
    assert.equal(value(nodeKv, `Route to ${podIP}`), result.route?.text);

    const first = report.sections[0] as NoticeSection;
    assert.equal(first.kind, 'notice');
    assert.equal(first.level, 'info');
    assert.match(first.text, /both ways/);
    assert.ok(first.text.includes(nodeVeth.name) && first.text.includes(`index ${eth0.peerIndex}`));

    const table = sections(report, 'table')[0] as TableSection;
    assert.equal(table.rows.length, podSide.length, 'one row per interface of the pod namespace');
    assert.deepEqual(
      table.rows.map((row) => row[0]),
      podSide.map(interfaceLabel),
    );
    const eth0Row = table.rows.find((row) => row[0] === interfaceLabel(eth0));
    assert.equal(eth0Row?.[table.columns.indexOf('Node end')], interfaceLabel(peer));

    const process = keyValue(report, /^Container process/);
    assert.equal(value(process, 'PID on the node'), String(pid.pid));
    assert.match(value(process, 'Found by'), /cgroup/);
    assert.equal(value(process, 'Container ID'), pid.containerId);

    // Every manual command, as the core built it, is copyable and preceded by its description.
    const copyable = copyableTexts(report);
    for (const command of result.manualCommands) {
      const block = allCommands(report).find((candidate) => candidate.endsWith(`\n${command.command}`));
      assert.ok(block, `command ${command.command} is in the report`);
      assert.equal(block, `# ${command.description}\n${command.command}`);
      assert.ok(copyable.has(block));
    }
    const headings = sections(report, 'commands').map((section) => section.heading);
    assert.equal(headings.length, 2, 'workstation and node commands apart');
  });

  it('reports a failed index match when the node has no interface at the index the pod names', () => {
    // The real node capture has no interface at the index this real pod capture names.
    const otherPod = interfacesOf('cniguru2-flannel-ip-netns-exec-addr.txt');
    const otherEth0 = otherPod.find((item) => item.name === 'eth0');
    assert.ok(otherEth0 && otherEth0.peerIndex !== null);
    assert.equal(nodeSide.find((item) => item.index === otherEth0.peerIndex), undefined);
    const result = vethResult(podSummary('lab-apps', 'web-2'), otherPod, null, null);
    const report = vethReport(result, t);
    assert.ok(isReport(report));
    const first = report.sections[0] as NoticeSection;
    assert.equal(first.level, 'error');
    assert.match(first.text, new RegExp(`index ${otherEth0.peerIndex}\\b`));
    assert.match(value(keyValue(report, /^Node side/), 'Interface'), /not found/);
  });

  it('warns when the node end points back at another index', () => {
    assert.ok(eth0.peerIndex !== null);
    // The captured veth points at index 3 (its @if3), not at eth0's index.
    assert.notEqual(nodeVeth.peerIndex, eth0.index);
    const atIndex: IpInterface = { ...nodeVeth, index: eth0.peerIndex };
    const result = vethResult(podSummary('lab-apps', 'web-3'), podSide, atIndex, bridge);
    const first = vethReport(result, t).sections[0] as NoticeSection;
    assert.equal(first.level, 'warning');
    assert.match(first.text, new RegExp(`points back at index ${nodeVeth.peerIndex}`));
  });

  it('lists Multus-style extra interfaces with the primary one', () => {
    const interfaces = interfacesOf('macvtap-cni98-kubevirt-virt-launcher-netns-ip-link-net1-promisc-alias.txt');
    const net1 = interfaces.find((item) => item.name === 'net1');
    assert.ok(net1);
    const result = vethResult(podSummary('vms', 'virt-launcher'), interfaces, null, null);
    const table = sections(vethReport(result, t), 'table')[0] as TableSection;
    assert.ok(table.rows.some((row) => row[0] === interfaceLabel(net1)));
    assert.equal(table.rows.length, interfaces.length);
  });

  it('explains a hostNetwork pod and lists the node interfaces it shares', () => {
    const note = 'Pod kube-system/kube-proxy-x uses the host network (hostNetwork: true): it has no veth of its own.';
    const result: VethResult = {
      ...vethResult(podSummary('kube-system', 'kube-proxy-x'), podSide, null, null),
      hostNetwork: true,
      pid: null,
      podInterface: null,
      nodeInterface: null,
      indexMatch: null,
      bridge: null,
      route: null,
      extraInterfaces: [],
      podInterfaces: [],
      nodeInterfaces: nodeSide,
      notes: [note],
    };
    const report = vethReport(result, t);
    assert.ok(isReport(report));
    assert.deepEqual(report.sections[0], { kind: 'notice', level: 'info', text: note });
    const table = sections(report, 'table')[0] as TableSection;
    assert.deepEqual(
      table.rows.map((row) => row[0]),
      nodeSide.map(interfaceLabel),
    );
    assert.equal(sections(report, 'keyValue').length, 0, 'no pod side, node side or PID');
  });

  it('keeps hostile cluster text as plain strings and cannot end a command comment early', () => {
    const pod = podSummary(hostileNamespace, hostilePod, { nodeName: 'node;reboot' });
    const base = vethResult(pod, podSide, null, null);
    const echo: ManualCommand = { where: 'node', description: `Look at ${hostilePod}`, command: commandLine('echo', hostilePod) };
    const report = vethReport({ ...base, manualCommands: [...base.manualCommands, echo] }, t);
    assert.ok(isReport(report));
    assert.equal(report.title, `veth of ${hostileNamespace}/${hostilePod}`, 'the title is the text itself, for textContent');
    for (const block of allCommands(report)) {
      const newline = block.indexOf('\n');
      assert.ok(block.startsWith('# ') && newline > 0);
      // After the comment line comes exactly one of the core's commands (which may hold a
      // quoted line break of its own).
      const rest = block.slice(newline + 1);
      assert.ok([...base.manualCommands, echo].some((command) => command.command === rest), `unexpected command ${JSON.stringify(rest)}`);
    }
    const echoBlock = allCommands(report).find((block) => block.endsWith(`\n${echo.command}`));
    assert.equal(echoBlock, `# Look at ${hostilePod.replace(/\n/g, ' ')}\n${echo.command}`);
    // The pod's name reaches the command only shell-quoted (as the core built it).
    assert.ok(allCommands(report).some((block) => block.endsWith(commandLine('kubectl', 'get', 'pod', '-n', hostileNamespace, hostilePod, '-o', 'wide'))));
  });

  it('keys a panel per context and pod', () => {
    assert.notEqual(vethReportKey('ctx', 'a', 'b'), vethReportKey('ctx', 'a', 'c'));
    assert.notEqual(vethReportKey('ctx1', 'a', 'b'), vethReportKey('ctx2', 'a', 'b'));
  });
});

describe('digReport', () => {
  const dnsService = { namespace: 'kube-system', name: 'kube-dns', clusterIP: '10.96.0.10', port: 53 };

  function query(target: DigQuery['target'], file: string, explanation: string, endpointPod: string | null = null): DigQuery {
    const raw = corpusText('dns', file);
    const parsed = parseDig(raw).value;
    return {
      target,
      server: parsed.server ?? dnsService.clusterIP,
      port: parsed.serverPort ?? 53,
      endpointPod,
      exitCode: 0,
      result: parsed,
      outcome: digOutcome(parsed, 0),
      explanation,
      raw,
    };
  }

  function digResult(queries: DigQuery[], summary: string[]): PodDigResult {
    const resolvConfText = corpusText('dns', 'resolvconf-draymonders9-standard-clusterfirst.txt');
    return {
      pod: podSummary('lab-apps', 'client'),
      name: 'web.lab-apps.svc.cluster.local',
      type: 'A',
      pid,
      dnsService,
      endpoints: queries.filter((item) => item.target === 'endpoint').map((item) => ({ address: item.server, port: item.port, ready: true, podName: item.endpointPod, nodeName: 'node-b' })),
      queries,
      resolvConf: parseResolvConf(resolvConfText).value,
      resolvConfText,
      summary,
      problems: [],
      manualCommands: [
        kubectlDebugNodeCommand('node-a', 'docker.io/nicolaka/netshoot:v0.13'),
        nsenterCommand(pid.pid, ['dig', 'web.lab-apps.svc.cluster.local', `@${dnsService.clusterIP}`], 'Ask kube-dns from inside the pod'),
      ],
    };
  }

  it('shows one row per server with status, answers and query time, the resolv.conf and the commands', () => {
    const viaService = query('cluster-ip', 'kubernetai25-kubespray-flannel-dig-success-10.233.0.3.txt', 'The ClusterIP answered.');
    const direct = query('endpoint', 'k8s90403-microk8s-dig-search-showsearch-nxdomain-soa.txt', 'That endpoint says the name does not exist (NXDOMAIN).', 'kube-system/coredns-1');
    assert.equal(viaService.outcome, 'answer');
    assert.equal(direct.outcome, 'nxdomain');
    const result = digResult([viaService, direct], [viaService.explanation]);
    const report = digReport(result, t);
    assert.ok(isReport(report));
    assert.equal(report.title, `dig ${result.name} in lab-apps/client`);

    assert.deepEqual(report.sections[0], { kind: 'notice', level: 'info', text: viaService.explanation });
    const question = keyValue(report, /^Question/);
    assert.equal(value(question, 'Name'), result.name);
    assert.match(value(question, 'Cluster DNS service'), new RegExp(dnsService.clusterIP.replace(/\./g, '\\.')));

    const table = sections(report, 'table')[0] as TableSection;
    assert.deepEqual(table.columns, ['Server', 'Address', 'Status', 'Answers', 'Query time']);
    assert.equal(table.rows.length, 2);
    const [serviceRow, endpointRow] = table.rows;
    assert.match(serviceRow?.[0] ?? '', /ClusterIP/);
    assert.equal(serviceRow?.[1], `${viaService.server}#${viaService.port}`);
    assert.equal(serviceRow?.[2], viaService.result.status);
    for (const answer of viaService.result.answers) {
      assert.ok(serviceRow?.[3]?.includes(answer.data), `answer ${answer.data} shown`);
    }
    assert.equal(serviceRow?.[4], `${viaService.result.queryTimeMs} ms`);
    assert.match(endpointRow?.[0] ?? '', /coredns-1/);
    assert.equal(endpointRow?.[2], 'NXDOMAIN');

    // The failing endpoint's explanation is a notice of its own.
    const notices = sections(report, 'notice') as NoticeSection[];
    assert.ok(notices.some((notice) => notice.text === direct.explanation && notice.level === 'warning'));

    const resolv = sections(report, 'code').find((section: CodeSection) => /resolv\.conf/.test(section.heading));
    assert.equal(resolv?.text, result.resolvConfText);
    const resolver = keyValue(report, /resolver/);
    assert.equal(value(resolver, 'Nameservers'), result.resolvConf?.nameservers.join(', '));
    assert.equal(value(resolver, 'Search'), result.resolvConf?.search.join(' '));
    assert.ok(copyableTexts(report).has(result.resolvConfText ?? ''));

    for (const command of result.manualCommands) {
      assert.ok(allCommands(report).includes(`# ${command.description}\n${command.command}`));
    }
    assert.notEqual(digReportKey('c', 'ns', 'pod', 'a.example'), digReportKey('c', 'ns', 'pod', 'b.example'));
  });

  it('makes a failing ClusterIP lookup the first, error-level notice, and says when resolv.conf is missing', () => {
    const raw = 'dig: couldn\'t get address for \'x\': not found\n;; connection timed out; no servers could be reached\n';
    const parsed = parseDig(raw).value;
    const timedOut: DigQuery = {
      target: 'cluster-ip',
      server: dnsService.clusterIP,
      port: 53,
      endpointPod: null,
      exitCode: 9,
      result: parsed,
      outcome: digOutcome(parsed, 9),
      explanation: 'No reply from the kube-dns ClusterIP within 2 s.',
      raw,
    };
    assert.equal(timedOut.outcome, 'timeout');
    const report = digReport({ ...digResult([timedOut], [timedOut.explanation]), resolvConf: null, resolvConfText: null }, t);
    assert.ok(isReport(report));
    assert.deepEqual(report.sections[0], { kind: 'notice', level: 'error', text: timedOut.explanation });
    const table = sections(report, 'table')[0] as TableSection;
    assert.match(table.rows[0]?.[2] ?? '', /timeout/);
    assert.ok((sections(report, 'notice') as NoticeSection[]).some((notice) => /resolv\.conf could not be read/.test(notice.text)));
  });
});

describe('the report webview', () => {
  it('renders report text with textContent only (no HTML sinks in its source)', () => {
    const source = fs.readFileSync(path.join(repoRoot(), 'webview-ui', 'src', 'main.ts'), 'utf8');
    assert.match(source, /textContent/);
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'DOMParser', 'createContextualFragment', 'srcdoc']) {
      // The comment at the top may name innerHTML as what is not used; code may not.
      const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
      assert.ok(!code.includes(sink), `webview-ui/src/main.ts uses ${sink}`);
    }
  });
});

/**
 * The VS Code side of the data-plane diagnostics, without VS Code: the conntrack view's
 * columnar encoding, filter and sort (on the real corpus listings and on a generated
 * 262,144-entry table, each result compared with a plain reading of the parsed entries), the
 * typed webview contracts, and the result → report converters on results the real core
 * builds from the lab's own kube-proxy rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';

import { collectServicePorts, kubeProxyRestoreText } from '../../../lab/net/kubeProxyRules.js';
import { indexPodsByAddress } from '../../../src/diagnostics/cluster.js';
import { ConntrackCollector, conntrackMaxPersistence } from '../../../src/diagnostics/conntrack.js';
import type { ConntrackListing, ConntrackUsage } from '../../../src/diagnostics/conntrack.js';
import { interpretDataPlane } from '../../../src/diagnostics/dataPlane.js';
import { ipvsBackends } from '../../../src/diagnostics/ipvs.js';
import type { DiagnosticContext } from '../../../src/diagnostics/context.js';
import { traceFromRules } from '../../../src/diagnostics/trace.js';
import type { ServiceTrace } from '../../../src/diagnostics/trace.js';
import type { Translate } from '../../../src/features/clusterNodes.js';
import { commandIds } from '../../../src/features/commandIds.js';
import { conntrackMaxReport, conntrackViewModel } from '../../../src/features/reports/conntrackReport.js';
import { dataPlaneReport } from '../../../src/features/reports/dataPlaneReport.js';
import { ipvsReport } from '../../../src/features/reports/ipvsReport.js';
import { traceReport } from '../../../src/features/reports/traceReport.js';
import { parseConntrack } from '../../../src/parsers/conntrack.js';
import type { ConntrackEntry } from '../../../src/parsers/conntrack.js';
import { parseIptablesSave } from '../../../src/parsers/iptablesSave.js';
import {
  conntrackColumns,
  encodeChunks,
  fieldCount,
  isConntrackHostMessage,
  isConntrackViewModel,
  isConntrackWebviewMessage,
  isConntrackWebviewState,
} from '../../../src/protocol/conntrack.js';
import type { ConntrackTarget, RowsMessage } from '../../../src/protocol/conntrack.js';
import { ConntrackTable } from '../../../src/protocol/conntrackTable.js';
import { isReport, isWebviewToHostMessage, reportActionAt } from '../../../src/protocol/report.js';
import type { Report } from '../../../src/protocol/report.js';
import { corpusFiles } from '../parsers/corpusFiles.js';
import { generateConntrackListing } from '../parsers/generators.js';

/** `vscode.l10n.t` without VS Code. */
// Like VS Code's: a placeholder without a value stays (the conntrack view fills its templates itself).
const t: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (match, position: string) => (args[Number(position)] === undefined ? match : String(args[Number(position)])));

/** The listings of the corpus (`conntrack -L`, `-E`, XML), parsed. */
function corpusEntries(): Array<{ name: string; entries: ConntrackEntry[] }> {
  return corpusFiles('conntrack')
    .map((file) => ({ name: file.name, entries: parseConntrack(file.body).value }))
    .filter((item) => item.entries.length > 0);
}

function tableOf(entries: readonly ConntrackEntry[], chunkSize?: number): ConntrackTable {
  const table = new ConntrackTable(entries.length);
  for (const chunk of encodeChunks(entries, 1, chunkSize)) {
    assert.equal(table.append(chunk), true);
  }
  assert.equal(table.received, entries.length);
  return table;
}

// A plain reading of an entry, written out here rather than taken from the code under test.
function side(address: string | undefined, port: number | null | undefined): string {
  if (address === undefined || address === '') {
    return '';
  }
  if (port === null || port === undefined) {
    return address;
  }
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

function texts(entry: ConntrackEntry): string[] {
  return [
    entry.protocol,
    entry.state ?? '',
    entry.original.src,
    entry.original.dst,
    entry.reply?.src ?? '',
    entry.reply?.dst ?? '',
    entry.flags.join(' '),
    entry.mark === null ? '' : String(entry.mark),
    entry.zone === null ? '' : String(entry.zone),
    Object.entries(entry.original.extra ?? {})
      .map(([key, value]) => `${key}=${value}`)
      .join(' '),
  ].map((text) => text.toLowerCase());
}

/** Which entries the documented filter keeps, entry by entry. */
function naiveFilter(entries: readonly ConntrackEntry[], text: string, protocol: string | null = null, state: string | null = null): number[] {
  const tokens = text.split(/\s+/).filter((word) => word !== '').map((word) => word.toLowerCase());
  const kept: number[] = [];
  entries.forEach((entry, index) => {
    if ((protocol !== null && entry.protocol !== protocol) || (state !== null && entry.state !== state)) {
      return;
    }
    const pairs: Array<[string, number | null]> = [
      [entry.original.src, entry.original.sport],
      [entry.original.dst, entry.original.dport],
      [entry.reply?.src ?? '', entry.reply?.sport ?? null],
      [entry.reply?.dst ?? '', entry.reply?.dport ?? null],
    ];
    const matches = (token: string): boolean => {
      if (texts(entry).some((field) => field !== '' && field.includes(token))) {
        return true;
      }
      if (/^\d{1,5}$/.test(token) && pairs.some(([, port]) => port === Number(token))) {
        return true;
      }
      const addressPort = /^([0-9.]+):(\d{1,5})$/.exec(token);
      return addressPort !== null && pairs.some(([address, port]) => address.includes(addressPort[1] as string) && port === Number(addressPort[2]));
    };
    if (tokens.every(matches)) {
      kept.push(index);
    }
  });
  return kept;
}

function ipv4Value(address: string): number {
  return address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

describe('conntrack view: columnar encoding, filter and sort', () => {
  it('every corpus listing survives the encoding: each row shows its entry', () => {
    const listings = corpusEntries();
    assert.ok(listings.length >= 4, 'corpus conntrack listings');
    for (const { name, entries } of listings) {
      // Small chunks, so strings added by later chunks are exercised too.
      const table = tableOf(entries, 3);
      entries.forEach((entry, index) => {
        const row = table.row(index);
        assert.equal(row.protocol, entry.protocol, name);
        assert.equal(row.state, entry.state ?? '', name);
        assert.equal(row.timeout, entry.timeout === null ? '' : String(entry.timeout), name);
        assert.equal(row.source, side(entry.original.src, entry.original.sport), name);
        assert.ok(row.destination.startsWith(side(entry.original.dst, entry.original.dport)), name);
        assert.equal(row.replySource, side(entry.reply?.src, entry.reply?.sport), name);
        assert.equal(row.replyDestination, side(entry.reply?.dst, entry.reply?.dport), name);
        assert.equal(row.flags, entry.flags.join(' '), name);
      });
    }
  });

  it('filters corpus listings like a plain reading of the entries', () => {
    for (const { name, entries } of corpusEntries()) {
      const table = tableOf(entries);
      const first = entries[0] as ConntrackEntry;
      const queries = [first.original.dst, first.reply?.src ?? '', String(first.original.dport ?? ''), `${first.original.src}:${first.original.sport ?? ''}`, first.protocol, 'assured'];
      for (const text of queries) {
        assert.deepEqual([...table.filter({ text, protocol: null, state: null })], naiveFilter(entries, text), `${name}: ${text}`);
      }
    }
  });

  it('262,144 generated entries: filter, protocol and state choices, and sorts agree with a plain reading', () => {
    const generated = generateConntrackListing(262_144);
    const entries = parseConntrack(generated.text).value;
    assert.equal(entries.length, generated.entryCount);
    const table = tableOf(entries);
    const sample = generated.sample;
    for (const [text, protocol, state] of [
      [sample.clusterIP, null, null],
      [`${sample.backend}:8443`, null, null],
      ['53', 'udp', null],
      ['', 'tcp', 'TIME_WAIT'],
      [`${sample.clusterIP} unreplied`, null, null],
    ] as const) {
      const fast = [...table.filter({ text, protocol, state })];
      assert.deepEqual(fast, naiveFilter(entries, text, protocol, state), `${text} ${protocol ?? ''} ${state ?? ''}`);
    }
    const byState = table.filter({ text: '', protocol: 'tcp', state: 'TIME_WAIT' });
    assert.equal(byState.length, generated.byState.TIME_WAIT);
    const sampleRows = [...table.filter({ text: `${sample.clusterIP}`, protocol: null, state: null })];
    assert.ok(sampleRows.includes(sample.index));

    const all = table.filter({ text: '', protocol: null, state: null });
    assert.equal(all.length, entries.length);
    const bySource = table.sort(all, 'source', false);
    assert.equal(new Set(bySource).size, entries.length, 'a permutation');
    for (let position = 1; position < bySource.length; position++) {
      const previous = entries[bySource[position - 1] as number] as ConntrackEntry;
      const current = entries[bySource[position] as number] as ConntrackEntry;
      const order = ipv4Value(previous.original.src) - ipv4Value(current.original.src) || (previous.original.sport ?? 0) - (current.original.sport ?? 0);
      assert.ok(order <= 0, `source order at ${position}`);
      if (order === 0) {
        assert.ok((bySource[position - 1] as number) < (bySource[position] as number), 'ties keep the order received');
      }
    }
    const byTimeout = table.sort(all, 'timeout', true);
    for (let position = 1; position < byTimeout.length; position++) {
      assert.ok(((entries[byTimeout[position - 1] as number] as ConntrackEntry).timeout ?? -1) >= ((entries[byTimeout[position] as number] as ConntrackEntry).timeout ?? -1));
    }
  });

  it('chunks must arrive in order and point only at strings they bring', () => {
    const entries = corpusEntries().reduce<ConntrackEntry[]>((longest, item) => (item.entries.length > longest.length ? item.entries : longest), []);
    assert.ok(entries.length >= 2);
    const chunks = [...encodeChunks(entries, 1, 1)];
    const table = new ConntrackTable(entries.length);
    assert.equal(table.append(chunks[1] as RowsMessage), false, 'a chunk out of order');
    const forged = { ...(chunks[0] as RowsMessage), data: Int32Array.from((chunks[0] as RowsMessage).data, (value, index) => (index === 0 ? 999_999 : value)) };
    assert.equal(table.append(forged), false, 'a string index past the table');
    assert.equal(table.append(chunks[0] as RowsMessage), true);
    assert.equal(table.received, 1);
  });
});

describe('conntrack view and report contracts', () => {
  const listingOf = (text: string, node: string): ConntrackListing => {
    const collector = new ConntrackCollector();
    collector.push(text);
    collector.end();
    return {
      node,
      filters: [{}],
      entries: collector.entries,
      counts: collector.counts,
      entriesTruncated: collector.entriesTruncated,
      shownByTool: collector.shownByTool,
      raw: collector.raw(),
      rawTruncated: false,
      problems: collector.problems,
      notes: [],
      manualCommands: [{ where: 'node', description: 'Every tracked connection', command: 'conntrack -L' }],
    };
  };

  it('the view model of a real listing: counts as the collector counted them, usage, commands; valid', () => {
    const file = corpusFiles('conntrack').find((item) => item.name.startsWith('k8s91216')) ?? corpusFiles('conntrack')[0];
    assert.ok(file);
    const listing = listingOf(file.body, 'node-a');
    const usage: ConntrackUsage = {
      node: 'node-a',
      count: listing.counts.total,
      max: 262_144,
      ratio: listing.counts.total / 262_144,
      buckets: 65_536,
      nearLimit: false,
      stats: null,
      tableFullEvents: [{ timestamp: '1.5', message: 'nf_conntrack: table full, dropping packet', conntrackTableFull: true, line: 1 }],
      kernelLogSource: 'dmesg',
      kernelLogLines: 1,
      warnings: [],
      manualCommands: [],
    };
    const target: ConntrackTarget = { kind: 'node', node: 'node-a' };
    const view = conntrackViewModel(target, listing, usage, new Date(0), t);
    assert.equal(isConntrackViewModel(view), true);
    assert.equal(view.counts.total, listing.counts.total);
    assert.deepEqual(Object.fromEntries(view.counts.byState), listing.counts.byState);
    assert.equal(view.entries, listing.entries.length);
    assert.equal(view.usage?.count, usage.count);
    assert.equal(view.usage?.tableFullTotal, 1);
    assert.deepEqual(view.commands, ['# Every tracked connection\nconntrack -L']);
    assert.equal(isConntrackWebviewState({ view, settings: { text: '', protocol: null, state: null, sortColumn: 'source', sortDescending: true } }), true);
    // Hostile text stays text: it is a string in the model, nothing is interpreted.
    const hostile = conntrackViewModel({ kind: 'pod', namespace: 'a', name: 'b', node: 'node-a' }, { ...listing, notes: ['<img src=x onerror=alert(1)>'] }, null, new Date(0), t);
    assert.equal(hostile.notices[0]?.text, '<img src=x onerror=alert(1)>');
  });

  it('messages: the host accepts only the page\'s own requests; the page only well-formed chunks', () => {
    assert.equal(isConntrackWebviewMessage({ type: 'ready' }), true);
    assert.equal(isConntrackWebviewMessage({ type: 'copy', text: 'x'.repeat(200_000) }), false);
    assert.equal(isConntrackWebviewMessage({ type: 'run', command: 'rm -rf /' }), false);
    const [chunk] = [...encodeChunks(corpusEntries()[0]?.entries ?? [], 3)];
    assert.ok(chunk);
    assert.equal(isConntrackHostMessage(chunk), true);
    assert.equal(isConntrackHostMessage({ ...chunk, data: Array.from(chunk.data) }), false);
    assert.equal(isConntrackHostMessage({ ...chunk, data: chunk.data.subarray(0, fieldCount) , count: chunk.count + 1 }), false);
    assert.deepEqual([...conntrackColumns].sort(), ['destination', 'flags', 'mark', 'protocol', 'replyDestination', 'replySource', 'source', 'state', 'timeout']);
    assert.equal(isConntrackWebviewState({ view: {}, settings: {} }), false);
  });

  it('report actions: only kubeNet commands with plain arguments, looked up by position', () => {
    const report: Report = {
      title: 'x',
      sections: [
        { kind: 'notice', level: 'info', text: 'n' },
        { kind: 'actions', actions: [{ label: 'Trace', command: commandIds.traceService, args: [{ namespace: 'a', name: 'b', node: 'n' }], icon: 'list-tree' }] },
      ],
    };
    assert.equal(isReport(report), true);
    assert.equal(reportActionAt(report, 1, 0)?.command, commandIds.traceService);
    assert.equal(reportActionAt(report, 0, 0), undefined);
    assert.equal(isReport({ ...report, sections: [{ kind: 'actions', actions: [{ label: 'x', command: 'workbench.action.terminal.new', args: [] }] }] }), false);
    assert.equal(isReport({ ...report, sections: [{ kind: 'actions', actions: [{ label: 'x', command: commandIds.showRules, args: [{ nested: { deep: 1 } }] }] }] }), false);
    assert.equal(isWebviewToHostMessage({ type: 'action', section: 1, action: 0 }), true);
    assert.equal(isWebviewToHostMessage({ type: 'action', section: -1, action: 0 }), false);
  });
});

/** The lab's web service with three endpoints, its slice, its pods, and node A's rules for it. */
function labTrace(sliceIps: readonly string[], ruleIps: readonly string[]): { trace: ServiceTrace; pods: Map<string, V1Pod> } {
  const service: V1Service = {
    metadata: { namespace: 'lab-apps', name: 'web' },
    spec: { type: 'ClusterIP', clusterIP: '198.19.0.80', clusterIPs: ['198.19.0.80'], sessionAffinity: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  };
  const slice = (ips: readonly string[]): V1EndpointSlice => ({
    metadata: { namespace: 'lab-apps', name: 'web-abcde', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip, index) => ({ addresses: [ip], nodeName: `node-${index}`, conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'lab-apps', name: `web-${ip.split('.')[2]}` } })),
  });
  const all = [...new Set([...sliceIps, ...ruleIps])];
  const pods = indexPodsByAddress(
    all.map((ip) => ({
      metadata: { namespace: 'lab-apps', name: `web-${ip.split('.')[2]}` },
      spec: { nodeName: `node-${ip.split('.')[2]}`, containers: [] },
      status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] },
    })),
  );
  const parsed = parseIptablesSave(kubeProxyRestoreText({ name: 'node-a', podCIDR: '198.18.1.0/24', internalIP: '198.18.0.11' }, collectServicePorts([service], [slice(ruleIps)])).text).value;
  const { ports, flags } = traceFromRules({ service, slices: [slice(sliceIps)], podsByAddress: pods, node: 'node-a', rules: { kind: 'iptables', backend: 'iptables-nft', parsed } });
  return {
    pods,
    trace: {
      service: { namespace: 'lab-apps', name: 'web', type: 'ClusterIP', clusterIP: '198.19.0.80', clusterIPs: ['198.19.0.80'], externalIPs: [], sessionAffinity: 'None', internalTrafficPolicy: null, externalTrafficPolicy: null },
      node: 'node-a',
      nodeChoice: 'given',
      mode: 'iptables',
      dataPlane: null,
      backend: 'iptables-nft',
      ports,
      flags,
      alternative: null,
      notes: [],
      problems: [],
      manualCommands: [{ where: 'node', description: 'The service chain', command: 'iptables-nft -t nat -L KUBE-SVC-X -n' }],
    },
  };
}

function tableSection(report: Report, heading: RegExp): { columns: readonly string[]; rows: ReadonlyArray<readonly string[]> } {
  const section = report.sections.find((candidate) => candidate.kind === 'table' && heading.test(candidate.heading));
  assert.ok(section && section.kind === 'table', `a table ${heading}: ${report.sections.map((candidate) => ('heading' in candidate ? candidate.heading : candidate.kind)).join(' | ')}`);
  return section;
}

describe('reports of the data-plane results', () => {
  const ips = ['198.18.1.5', '198.18.2.5', '198.18.3.5'];

  it('trace: one row per DNAT target of the rules, with the pod that holds it; the rules on the path', () => {
    const { trace } = labTrace(ips, ips);
    const report = traceReport(trace, t);
    assert.equal(isReport(report), true);
    const endpoints = tableSection(report, /→ endpoints \(DNAT\)$/);
    const port = trace.ports[0];
    assert.ok(port);
    const podColumn = endpoints.columns.indexOf('Pod');
    const dnatColumn = endpoints.columns.indexOf('DNAT to');
    assert.deepEqual(endpoints.rows.map((row) => row[dnatColumn]).sort(), port.endpoints.map((endpoint) => endpoint.dnatTo).sort());
    assert.deepEqual(endpoints.rows.map((row) => row[podColumn]).sort(), port.endpoints.map((endpoint) => `${endpoint.pod?.namespace}/${endpoint.pod?.name}`).sort());
    const shares = endpoints.rows.map((row) => Number((row[0] ?? '').replace('%', '')));
    assert.ok(Math.abs(shares.reduce((sum, share) => sum + share, 0) - 100) < 0.5);
    const rules = tableSection(report, /the rules on the path$/);
    assert.ok(rules.rows.some((row) => row[2] === 'KUBE-SERVICES' && (row[3] ?? '').includes(`-j ${port.svcChain}`)));
    assert.ok(report.sections.some((section) => section.kind === 'actions' && section.actions.some((action) => action.command === commandIds.showRules)));
  });

  it('trace: an endpoint removed from the slice but in the rules is an error notice and a STALE row; a missing one a MISSING row', () => {
    const stale = traceReport(labTrace(ips.slice(0, 2), ips).trace, t);
    const notices = stale.sections.filter((section) => section.kind === 'notice' && section.level === 'error');
    assert.equal(notices.length, 1);
    assert.ok(notices[0]?.kind === 'notice' && notices[0].text.includes(ips[2] as string));
    const rows = tableSection(stale, /→ endpoints/).rows;
    assert.deepEqual(rows.filter((row) => (row[7] ?? '').startsWith('STALE')).map((row) => row[3]), [`${ips[2]}:8080`]);

    const missing = traceReport(labTrace(ips, ips.slice(0, 2)).trace, t);
    const missingRows = tableSection(missing, /→ endpoints/).rows.filter((row) => (row[7] ?? '').startsWith('MISSING'));
    assert.deepEqual(missingRows.map((row) => row[3]), [`${ips[2]}:8080`]);
  });

  it('IPVS on a node in iptables mode: says so, names the mode, offers the rules; for a service, the trace', async () => {
    // What the data-plane script prints on an iptables-mode node without ip_vs.
    const stdout = ['@@kni:proxyMode@@', 'iptables', '@@kni:exit=0@@', '@@kni:iptables-nft@@', '1 nat KUBE-SERVICES', '3 nat KUBE-SVC-*', '6 nat KUBE-SEP-*', '@@kni:exit=0@@', '@@kni:iptables-legacy@@', '@@kni:exit=0@@', '@@kni:nft@@', 'table ip nat', '@@kni:exit=0@@', '@@kni:ipvs@@', 'absent', '@@kni:exit=3@@', '@@kni:links@@', 'lo', 'eth0', 'cni0', '@@kni:exit=0@@', ''].join('\n');
    const dataPlane = interpretDataPlane('node-a', stdout, { kubeProxyPod: 'kube-system/kube-proxy-1' });
    assert.equal(dataPlane.proxyMode, 'iptables');
    // No cluster access is needed when the mode is known and not IPVS.
    const context = { runner: { debugImage: () => 'image' } } as unknown as DiagnosticContext;
    const forNode = ipvsReport(await ipvsBackends(context, 'node-a', { dataPlane }), t);
    assert.equal(isReport(forNode), true);
    assert.ok(forNode.sections.some((section) => section.kind === 'notice' && /not in IPVS mode/.test(section.text) && /iptables mode/.test(section.text)));
    const mode = forNode.sections.find((section) => section.kind === 'keyValue');
    assert.ok(mode?.kind === 'keyValue' && mode.items.some((item) => item.key === 'Mode' && item.value === 'iptables mode'));
    assert.ok(forNode.sections.some((section) => section.kind === 'actions' && section.actions.some((action) => action.command === commandIds.showRules)));

    const withService = { ...context, core: { readNamespacedService: async () => ({ metadata: { namespace: 'lab-apps', name: 'web' }, spec: {} }) } } as unknown as DiagnosticContext;
    const forService = ipvsReport(await ipvsBackends(withService, 'node-a', { dataPlane, service: { namespace: 'lab-apps', name: 'web' } }), t);
    const trace = forService.sections.flatMap((section) => (section.kind === 'actions' ? section.actions : [])).find((action) => action.command === commandIds.traceService);
    assert.deepEqual(trace?.args, [{ namespace: 'lab-apps', name: 'web', node: 'node-a' }]);

    const plane = dataPlaneReport(dataPlane, t);
    assert.equal(isReport(plane), true);
    assert.match(plane.subtitle ?? '', /^iptables mode, nf_tables/);
  });

  it('nf_conntrack_max: before, now and how to keep it', () => {
    const persist = conntrackMaxPersistence(524_288);
    const report = conntrackMaxReport(
      { node: 'node-a', requested: 524_288, before: 262_144, after: 524_288, count: 10, applied: true, dryRun: false, writable: true, persist, notes: [persist.text], manualCommands: [] },
      t,
    );
    assert.equal(isReport(report), true);
    assert.ok(report.sections.some((section) => section.kind === 'code' && section.text.includes(persist.line)));
    assert.ok(report.sections.some((section) => section.kind === 'notice' && section.text.includes('524288') && section.text.includes('262144')));
  });
});

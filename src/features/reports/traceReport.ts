/**
 * "Trace Service Path" result → report: per service port, the way in (ClusterIP:port, NodePort,
 * external IPs) → the KUBE-SERVICES rule (or `service-ips` map element) → the service chain →
 * each endpoint chain with its probability and share → the DNAT target → the pod, its node and
 * readiness; what disagrees with the EndpointSlices as notices; the rules on the path; the
 * commands to do it by hand. Pure (no `vscode` import).
 */

import type { KubeServicesView } from '../../diagnostics/rules.js';
import type { ServiceTrace, TraceFlag, TracedEndpoint, TracedPort } from '../../diagnostics/trace.js';
import type { KeyValueItem, NoticeSection, Report, ReportAction, ReportSection } from '../../protocol/report.js';
import type { Translate } from '../clusterNodes.js';
import { commandIds } from '../commandIds.js';
import { modeText } from './dataPlaneReport.js';
import { manualCommandSections, missing, orMissing, problemSections } from './common.js';
import { localizeCoreSentence } from './coreSentences.js';

/** The panel key of a service's trace (one panel per service, whatever the node). */
export function traceReportKey(context: string, namespace: string, name: string): string {
  return `trace:${context}/${namespace}/${name}`;
}

/** A share (0…1) as a percentage with one decimal. */
export function shareText(share: number | null): string {
  return share === null ? missing : `${(Math.round(share * 1000) / 10).toFixed(1)}%`;
}

function probabilityText(endpoint: TracedEndpoint, t: Translate): string {
  if (endpoint.probability === null) {
    // The last endpoint of an iptables service chain matches whatever is left.
    return endpoint.sepChain === null ? missing : t('the rest');
  }
  return String(endpoint.probability);
}

function statusText(endpoint: TracedEndpoint, t: Translate): string {
  switch (endpoint.status) {
    case 'ok':
      return t('ready in the EndpointSlice');
    case 'stale':
      return t('STALE: in no EndpointSlice');
    case 'not-ready':
      return t('not ready in the EndpointSlice');
    case 'terminating-fallback':
      return t('terminating, still serving');
    case 'unknown':
      return t('DNAT target unknown');
  }
}

function flagLevel(flag: TraceFlag): NoticeSection['level'] {
  return flag.severity;
}

function portTitle(port: TracedPort): string {
  return `${port.portName === null ? '' : `${port.portName} `}${port.port}/${port.protocol}`;
}

function ruleRows(port: TracedPort, t: Translate): string[][] {
  const rows: string[][] = [];
  for (const rule of port.entryRules) {
    rows.push([t('ClusterIP → service chain'), rule.table, rule.chain, rule.text]);
  }
  for (const rule of port.nodePortRules) {
    rows.push([t('NodePort / external'), rule.table, rule.chain, rule.text]);
  }
  for (const rule of port.rejectRules) {
    rows.push([t('No endpoints: reject'), rule.table, rule.chain, rule.text]);
  }
  for (const rule of port.svcChainRules) {
    rows.push([t('Service chain'), rule.table, rule.chain, rule.text]);
  }
  for (const endpoint of port.endpoints) {
    for (const rule of endpoint.rules) {
      rows.push([t('Endpoint chain'), rule.table, rule.chain, rule.text]);
    }
  }
  return rows;
}

/** The path in one line: `ClusterIP:port → KUBE-SERVICES → KUBE-SVC-… → 3 endpoint chains → DNAT a, b, c`. */
function pathText(port: TracedPort, entry: string, t: Translate): string {
  const steps = [entry];
  const entryChains = port.entryRules.map((rule) => rule.chain).filter((chain, index, all) => all.indexOf(chain) === index);
  steps.push(...entryChains);
  if (port.svcChain !== null) {
    steps.push(port.svcChain);
  }
  const chains = port.endpoints.filter((endpoint) => endpoint.sepChain !== null).length;
  if (chains > 0) {
    steps.push(chains === 1 ? t('1 endpoint chain') : t('{0} endpoint chains', chains));
  }
  const targets = port.endpoints.map((endpoint) => endpoint.dnatTo).filter((target): target is string => target !== null);
  if (targets.length > 0) {
    steps.push(t('DNAT {0}', targets.join(', ')));
  } else if (port.rules.noEndpoints) {
    steps.push(t('REJECT (no endpoints)'));
  }
  return steps.join(' → ');
}

function portSections(trace: ServiceTrace, port: TracedPort, t: Translate): ReportSection[] {
  const sections: ReportSection[] = [];
  const title = portTitle(port);
  const entry = port.clusterIP === null ? missing : `${port.clusterIP}:${port.port}`;
  const items: KeyValueItem[] = [
    { key: t('Path'), value: pathText(port, entry, t), emphasis: 'strong' },
    { key: t('ClusterIP:port'), value: entry },
    { key: t('Target port'), value: orMissing(port.targetPort) },
  ];
  if (port.nodePort !== null) {
    items.push({ key: t('NodePort'), value: t('{0} on every node address', port.nodePort), ...(port.rules.nodePorts.includes(port.nodePort) || port.rules.noEndpoints ? {} : { emphasis: 'warning' as const }) });
  }
  if (port.externalIPs.length > 0) {
    items.push({ key: t('External IPs'), value: port.externalIPs.map((address) => `${address}:${port.port}`).join(', ') });
  }
  if (port.loadBalancerIPs.length > 0) {
    items.push({ key: t('Load balancer IPs'), value: port.loadBalancerIPs.map((address) => `${address}:${port.port}`).join(', ') });
  }
  items.push({
    key: t('In the rules of {0}', trace.node),
    value: port.inRules ? t('yes') : t('no'),
    emphasis: port.inRules ? 'good' : 'bad',
  });
  items.push({ key: t('Entry'), value: port.entryRules.length > 0 ? port.entryRules.map((rule) => rule.chain).filter((chain, index, all) => all.indexOf(chain) === index).join(', ') : missing });
  items.push({ key: t('Service chain'), value: orMissing(port.svcChain), ...(port.svcChain === null ? {} : { emphasis: 'strong' as const }) });
  items.push({
    key: t('Session affinity'),
    value:
      port.sessionAffinity.spec === 'ClientIP'
        ? t('ClientIP, {0} s{1}', orMissing(port.sessionAffinity.timeoutSeconds), port.sessionAffinity.inRules ? t(' (in the rules)') : t(' (not in the rules)'))
        : port.sessionAffinity.inRules
          ? t('None, but the rules pin clients')
          : t('None'),
  });
  if (port.rules.noEndpoints) {
    items.push({ key: t('No-endpoints rule'), value: t('yes: connections are rejected'), emphasis: 'warning' });
  }
  sections.push({ kind: 'keyValue', heading: t('Port {0}', title), items });

  const rows = port.endpoints.map((endpoint) => [
    shareText(endpoint.share),
    probabilityText(endpoint, t),
    orMissing(endpoint.sepChain),
    orMissing(endpoint.dnatTo),
    endpoint.pod === null ? t('no pod holds this IP') : `${endpoint.pod.namespace}/${endpoint.pod.name}`,
    endpoint.pod === null ? missing : orMissing(endpoint.pod.nodeName),
    endpoint.pod === null ? missing : endpoint.pod.ready ? t('ready') : t('not ready'),
    statusText(endpoint, t),
  ]);
  for (const endpoint of port.missing) {
    rows.push([
      '0%',
      missing,
      t('(none)'),
      endpoint.port === null ? endpoint.address : `${endpoint.address}:${endpoint.port}`,
      endpoint.podInfo !== null ? `${endpoint.podInfo.namespace}/${endpoint.podInfo.name}` : endpoint.pod !== null ? `${endpoint.pod.namespace}/${endpoint.pod.name}` : missing,
      endpoint.podInfo?.nodeName ?? endpoint.nodeName ?? missing,
      endpoint.podInfo === null ? missing : endpoint.podInfo.ready ? t('ready') : t('not ready'),
      t('MISSING: in EndpointSlice {0}, not in the rules', endpoint.slice),
    ]);
  }
  sections.push({
    kind: 'table',
    heading: t('Port {0}: {1} → endpoints (DNAT)', title, port.svcChain ?? entry),
    columns: [t('Share'), t('Probability'), t('Endpoint chain'), t('DNAT to'), t('Pod'), t('Node'), t('Pod ready'), t('Compared with the EndpointSlices')],
    rows,
  });
  if (rows.length === 0) {
    sections.push({
      kind: 'notice',
      level: 'warning',
      text: port.rules.noEndpoints ? t('Port {0} has no endpoints: kube-proxy rejects its connections.', title) : t('Port {0} has no endpoints in the rules of node {1}.', title, trace.node),
    });
  }
  const rules = ruleRows(port, t);
  if (rules.length > 0) {
    sections.push({ kind: 'table', heading: t('Port {0}: the rules on the path', title), columns: [t('Step'), t('Table'), t('Chain'), t('Rule')], rows: rules });
  }
  return sections;
}

/** The report of a "Trace Service Path" result. */
export function traceReport(trace: ServiceTrace, t: Translate): Report {
  const service = trace.service;
  const ref = `${service.namespace}/${service.name}`;
  const sections: ReportSection[] = [];
  for (const flag of trace.flags) {
    sections.push({ kind: 'notice', level: flagLevel(flag), text: localizeCoreSentence(flag.message, t) });
  }
  for (const note of trace.notes) {
    sections.push({ kind: 'notice', level: 'info', text: localizeCoreSentence(note, t) });
  }

  const choice = trace.nodeChoice === 'given' ? t('chosen') : trace.nodeChoice === 'endpoint' ? t('runs an endpoint') : t('the first Ready node');
  const serviceItems: KeyValueItem[] = [
    { key: t('Service'), value: ref, emphasis: 'strong' },
    { key: t('Type'), value: service.type },
    { key: t('ClusterIP'), value: service.clusterIPs.length > 0 ? service.clusterIPs.join(', ') : orMissing(service.clusterIP) },
  ];
  if (service.externalIPs.length > 0) {
    serviceItems.push({ key: t('External IPs'), value: service.externalIPs.join(', ') });
  }
  serviceItems.push(
    { key: t('Session affinity'), value: service.sessionAffinity },
    { key: t('Traffic policies'), value: t('internal {0}, external {1}', orMissing(service.internalTrafficPolicy), orMissing(service.externalTrafficPolicy)) },
    { key: t('Traced on node'), value: t('{0} ({1})', trace.node, choice), emphasis: 'strong' },
    { key: t('Data plane'), value: trace.backend === null ? modeText(trace.mode, t) : t('{0}, rules from {1}', modeText(trace.mode, t), trace.backend) },
  );
  sections.push({ kind: 'keyValue', heading: t('Service'), items: serviceItems });

  const actions: ReportAction[] = [{ label: t('Trace on Another Node…'), command: commandIds.traceService, args: [{ namespace: service.namespace, name: service.name, pickNode: true }], icon: 'debug-step-over' }];
  if (trace.alternative === 'ipvs') {
    actions.unshift({ label: t('IPVS Backends'), command: commandIds.ipvsBackends, args: [{ namespace: service.namespace, name: service.name, node: trace.node }], icon: 'server-process' });
  }
  if (trace.backend !== null) {
    actions.push({ label: trace.backend === 'nftables' ? t('Show nftables Rules of {0}', trace.node) : t('Show iptables Rules of {0}', trace.node), command: commandIds.showRules, args: [{ node: trace.node }], icon: 'list-tree' });
  }
  sections.push({ kind: 'actions', actions });

  for (const port of trace.ports) {
    sections.push(...portSections(trace, port, t));
  }
  sections.push(...problemSections(trace.problems, t));
  sections.push(...manualCommandSections(trace.manualCommands, trace.node, t));

  const endpoints = trace.ports.reduce((sum, port) => sum + port.endpoints.length, 0);
  const subtitle = [
    t('node {0}', trace.node),
    modeText(trace.mode, t),
    trace.ports.length === 1 ? t('1 port') : t('{0} ports', trace.ports.length),
    endpoints === 1 ? t('1 endpoint in the rules') : t('{0} endpoints in the rules', endpoints),
  ].join(' · ');
  return { title: t('Path of {0}', ref), subtitle, sections };
}

/** The panel key of a service's KUBE-SERVICES view. */
export function kubeServicesReportKey(context: string, namespace: string, name: string): string {
  return `kubeServices:${context}/${namespace}/${name}`;
}

/** The report of "KUBE-SERVICES for This Service": its lines of each backend, parsed and as printed. */
export function kubeServicesReport(view: KubeServicesView, t: Translate): Report {
  const ref = `${view.service.namespace}/${view.service.name}`;
  const sections: ReportSection[] = view.notes.map<NoticeSection>((note) => ({ kind: 'notice', level: /has no |no kube-proxy rules|not programmed/.test(note) ? 'warning' : 'info', text: localizeCoreSentence(note, t) }));
  sections.push({
    kind: 'keyValue',
    heading: t('Service'),
    items: [
      { key: t('Service'), value: ref, emphasis: 'strong' },
      { key: t('Addresses'), value: view.addresses.join(', ') || missing },
      { key: t('Node'), value: view.node, emphasis: 'strong' },
      { key: t('Data plane'), value: modeText(view.proxyMode, t) },
    ],
  });
  sections.push({
    kind: 'actions',
    actions: [
      { label: t('On Another Node…'), command: commandIds.showKubeServicesForService, args: [{ namespace: view.service.namespace, name: view.service.name, pickNode: true }], icon: 'debug-step-over' },
      { label: t('Trace Service Path'), command: commandIds.traceService, args: [{ namespace: view.service.namespace, name: view.service.name, node: view.node }], icon: 'type-hierarchy-sub' },
    ],
  });
  for (const backend of view.views) {
    if (backend.rules.length > 0) {
      sections.push({
        kind: 'table',
        heading: t('KUBE-SERVICES ({0}): {1} rules of {2}', backend.backend, backend.rules.length, ref),
        columns: [t('Target'), t('Protocol'), t('Source'), t('Destination'), t('Matches and comment')],
        rows: backend.rules.map((rule) => [orMissing(rule.target), rule.prot, rule.source, rule.destination, rule.extra]),
      });
    }
    sections.push({ kind: 'code', heading: t('{0} (this service\'s lines)', backend.command), text: backend.text === '' ? t('(nothing)') : backend.text });
  }
  sections.push(...manualCommandSections(view.manualCommands, view.node, t));
  return { title: t('KUBE-SERVICES for {0}', ref), subtitle: t('node {0} · {1}', view.node, modeText(view.proxyMode, t)), sections };
}

/**
 * "IPVS Backends" result → report. In IPVS mode: each virtual server (scheduler, flags,
 * persistence, the service port it serves) with its real servers (forward method, weight,
 * active and inactive connections, the pod behind each, compared with the EndpointSlices).
 * On a node in another mode: says so plainly, names the real mode, and offers the diagnostic
 * of that mode as a button. Pure (no `vscode` import).
 */

import type { IpvsBackendsResult, IpvsRealServerView, IpvsResult, NotIpvsModeResult, RealServerStatus } from '../../diagnostics/ipvs.js';
import type { KeyValueItem, NoticeSection, Report, ReportAction, ReportSection } from '../../protocol/report.js';
import type { Translate } from '../clusterNodes.js';
import { commandIds } from '../commandIds.js';
import { dataPlaneSummary, modeText } from './dataPlaneReport.js';
import { manualCommandSections, missing, orMissing, problemSections } from './common.js';
import { localizeCoreSentence } from './coreSentences.js';

/** The panel key of an IPVS report (per node, and per service when for one). */
export function ipvsReportKey(context: string, node: string, service: { namespace: string; name: string } | null): string {
  return `ipvs:${context}/${node}${service === null ? '' : `/${service.namespace}/${service.name}`}`;
}

function statusText(status: RealServerStatus, t: Translate): string {
  switch (status) {
    case 'ok':
      return t('ready in the EndpointSlice');
    case 'stale':
      return t('STALE: in no EndpointSlice');
    case 'not-ready':
      return t('not ready in the EndpointSlice');
    case 'draining':
      return t('weight 0: draining');
    case 'unmapped':
      return t('no service to compare with');
  }
}

function realServerRow(server: IpvsRealServerView, t: Translate): string[] {
  return [
    server.port === null ? server.address : `${server.address}:${server.port}`,
    orMissing(server.forward),
    orMissing(server.weight),
    orMissing(server.activeConn),
    orMissing(server.inactConn),
    server.pod === null ? t('no pod holds this IP') : `${server.pod.namespace}/${server.pod.name}`,
    server.pod === null ? missing : orMissing(server.pod.nodeName),
    statusText(server.status, t),
  ];
}

function notIpvsReport(result: NotIpvsModeResult, t: Translate): Report {
  const sections: ReportSection[] = [{ kind: 'notice', level: 'warning', text: localizeCoreSentence(result.message, t) }];
  for (const warning of result.dataPlane.warnings) {
    sections.push({ kind: 'notice', level: 'warning', text: localizeCoreSentence(warning, t) });
  }
  sections.push({
    kind: 'keyValue',
    heading: t('Data plane of node {0}', result.node),
    items: [
      { key: t('Mode'), value: modeText(result.mode, t), emphasis: 'strong' },
      { key: t('In words'), value: dataPlaneSummary(result.dataPlane, t) },
      { key: t('IPVS'), value: result.dataPlane.ipvs.available ? t('{0} virtual servers', result.dataPlane.ipvs.virtualServers) : t('not available (the ip_vs module is not loaded)') },
    ],
  });
  const actions: ReportAction[] = [];
  const service = result.service;
  if (result.suggestion.action === 'trace' && service !== null) {
    actions.push({ label: t('Trace Service Path ({0})', modeText(result.mode, t)), command: commandIds.traceService, args: [{ namespace: service.namespace, name: service.name, node: result.node }], icon: 'type-hierarchy-sub' });
  }
  if (result.suggestion.action === 'trace' || result.suggestion.action === 'rules') {
    actions.push({ label: result.mode === 'nftables' ? t('Show nftables Rules of {0}', result.node) : t('Show iptables Rules of {0}', result.node), command: commandIds.showRules, args: [{ node: result.node }], icon: 'list-tree' });
  }
  actions.push({ label: t('Show Data Plane'), command: commandIds.showDataPlane, args: [{ node: result.node }], icon: 'info' });
  sections.push({ kind: 'actions', actions });
  if (result.suggestion.command !== null) {
    sections.push({ kind: 'commands', heading: t('The same from the command line'), commands: [result.suggestion.command] });
  }
  sections.push(...manualCommandSections(result.manualCommands, result.node, t));
  return {
    title: service === null ? t('IPVS on {0}', result.node) : t('IPVS backends of {0}', `${service.namespace}/${service.name}`),
    subtitle: t('node {0} · not in IPVS mode · {1}', result.node, modeText(result.mode, t)),
    sections,
  };
}

function ipvsModeReport(result: IpvsBackendsResult, t: Translate): Report {
  const sections: ReportSection[] = result.flags.map<NoticeSection>((flag) => ({ kind: 'notice', level: flag.severity, text: localizeCoreSentence(flag.message, t) }));
  for (const note of result.notes) {
    sections.push({ kind: 'notice', level: 'info', text: localizeCoreSentence(note, t) });
  }
  if (result.virtualServers.length === 0) {
    sections.push({ kind: 'notice', level: 'warning', text: result.service === null ? t('IPVS on node {0} has no virtual servers.', result.node) : t('IPVS on node {0} has no virtual server for this service.', result.node) });
  }
  for (const server of result.virtualServers) {
    const label = `${server.protocol} ${server.vip === null ? missing : server.port === null ? server.vip : `${server.vip}:${server.port}`}`;
    const items: KeyValueItem[] = [
      { key: t('Virtual server'), value: label, emphasis: 'strong' },
      { key: t('Service'), value: server.service === null ? t('none known to the API') : `${server.service.namespace}/${server.service.name}${server.service.portName === null ? '' : `:${server.service.portName}`}`, ...(server.service === null ? { emphasis: 'warning' as const } : {}) },
      { key: t('Kind'), value: server.kind },
      { key: t('Scheduler'), value: orMissing(server.scheduler) },
      { key: t('Flags'), value: server.flags.join(', ') || missing },
      { key: t('Persistence'), value: server.persistence === null ? t('none') : t('{0} s (session affinity)', server.persistence) },
    ];
    sections.push({ kind: 'keyValue', heading: t('Virtual server {0}', label), items });
    const rows = server.realServers.map((real) => realServerRow(real, t));
    for (const endpoint of server.missing) {
      rows.push([
        endpoint.port === null ? endpoint.address : `${endpoint.address}:${endpoint.port}`,
        missing,
        missing,
        missing,
        missing,
        endpoint.pod === null ? missing : `${endpoint.pod.namespace}/${endpoint.pod.name}`,
        orMissing(endpoint.nodeName),
        t('MISSING: in EndpointSlice {0}, not a real server', endpoint.slice),
      ]);
    }
    sections.push({
      kind: 'table',
      heading: t('Real servers of {0}', label),
      columns: [t('Real server'), t('Forward'), t('Weight'), t('Active'), t('Inactive'), t('Pod'), t('Node'), t('Compared with the EndpointSlices')],
      rows,
    });
  }
  if (result.raw.trim() !== '') {
    sections.push({ kind: 'code', heading: t('ipvsadm output'), text: result.raw });
  }
  sections.push(...problemSections(result.problems, t));
  sections.push(...manualCommandSections(result.manualCommands, result.node, t));
  const service = result.service;
  return {
    title: service === null ? t('IPVS on {0}', result.node) : t('IPVS backends of {0}', `${service.namespace}/${service.name}`),
    subtitle: t('node {0} · IPVS mode · {1} virtual servers', result.node, result.virtualServers.length),
    sections,
  };
}

/** The report of an "IPVS Backends" result. */
export function ipvsReport(result: IpvsResult, t: Translate): Report {
  return result.kind === 'not-ipvs' ? notIpvsReport(result, t) : ipvsModeReport(result, t);
}

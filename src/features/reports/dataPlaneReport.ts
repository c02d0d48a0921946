/**
 * "Show Data Plane" result → report: kube-proxy's mode and where it came from, which iptables
 * backend holds its chains (both, when both do), nftables and IPVS, whether kube-proxy is
 * absent (and what replaced it), the core's findings, and the commands to check by hand.
 * Pure (no `vscode` import); `t` is `vscode.l10n.t` in the extension.
 */

import type { DataPlaneInfo, IptablesBackendSummary, ProxyMode } from '../../diagnostics/dataPlane.js';
import type { KeyValueItem, Report, ReportAction, ReportSection } from '../../protocol/report.js';
import type { Translate } from '../clusterNodes.js';
import { commandIds } from '../commandIds.js';
import { manualCommandSections, missing } from './common.js';
import { localizeCoreSentence } from './coreSentences.js';

/** The panel key of a node's data-plane report. */
export function dataPlaneReportKey(context: string, node: string): string {
  return `dataPlane:${context}/${node}`;
}

/** The mode in words, for titles, tooltips and the "not in IPVS mode" report. */
export function modeText(mode: ProxyMode, t: Translate): string {
  switch (mode) {
    case 'iptables':
      return t('iptables mode');
    case 'nftables':
      return t('nftables mode');
    case 'ipvs':
      return t('IPVS mode');
    case 'kernelspace':
      return t('kernelspace mode (Windows)');
    case 'none':
      return t('no kube-proxy');
    case 'unknown':
      return t('unknown');
  }
}

/** A short line naming the data plane: the mode and, for iptables, the backend. */
export function dataPlaneSummary(info: DataPlaneInfo, t: Translate): string {
  if (info.proxyMode === 'none' && info.replacedBy !== null) {
    return t('no kube-proxy (replaced by {0})', replacementText(info.replacedBy));
  }
  if (info.proxyMode === 'iptables' && info.kubeChainsIn !== 'none') {
    return t('{0}, {1} backend', modeText(info.proxyMode, t), backendName(info.kubeChainsIn, t));
  }
  return modeText(info.proxyMode, t);
}

function replacementText(replacedBy: NonNullable<DataPlaneInfo['replacedBy']>): string {
  return { cilium: 'Cilium', 'calico-ebpf': 'Calico eBPF', 'kube-router': 'kube-router' }[replacedBy];
}

function backendName(where: DataPlaneInfo['kubeChainsIn'], t: Translate): string {
  switch (where) {
    case 'nft':
      return t('nf_tables (iptables-nft)');
    case 'legacy':
      return t('legacy (iptables-legacy)');
    case 'both':
      return t('both nf_tables and legacy');
    case 'none':
      return t('neither');
  }
}

function sourceText(info: DataPlaneInfo, t: Translate): string {
  switch (info.proxyModeSource) {
    case 'proxyMode-endpoint':
      return t("kube-proxy's answer on 127.0.0.1:10249/proxyMode");
    case 'rules':
      return t('the rules found on the node');
    case 'interfaces':
      return t('the interfaces of the node');
    case 'none':
      return t('nothing found');
  }
}

function backendValue(summary: IptablesBackendSummary, t: Translate): string {
  if (!summary.available) {
    return summary.exitCode === 127 ? t('not read (no save tool in the debug image)') : t('not read (exit {0})', summary.exitCode ?? missing);
  }
  if (summary.kubeChains === 0) {
    return summary.tables.length === 0 ? t('empty') : t('no KUBE-* chains (tables: {0})', summary.tables.join(', '));
  }
  return t(
    '{0} kube-proxy chains: {1} service, {2} endpoint{3}; {4} KUBE-* chains in all',
    summary.kubeProxyChains,
    summary.serviceChains,
    summary.endpointChains,
    summary.kubeServices ? t(', KUBE-SERVICES') : '',
    summary.kubeChains,
  );
}

/** The report of a "Show Data Plane" result. */
export function dataPlaneReport(info: DataPlaneInfo, t: Translate): Report {
  const sections: ReportSection[] = [];
  const mode = modeText(info.proxyMode, t);
  const headline =
    info.kubeProxyAbsent
      ? info.replacedBy !== null
        ? t('kube-proxy does not run on node {0}: services are handled by {1}. Its iptables, nftables and IPVS views do not apply here.', info.node, replacementText(info.replacedBy))
        : t('kube-proxy does not run on node {0}: neither iptables, nftables nor IPVS holds its rules.', info.node)
      : t('Node {0} runs kube-proxy in {1} (from {2}).', info.node, mode, sourceText(info, t));
  // The core's hints already say where the mode came from; the headline stands in when they do not.
  if (info.kubeProxyAbsent || info.proxyMode === 'unknown' || info.hints.length === 0) {
    sections.push({ kind: 'notice', level: info.kubeProxyAbsent || info.proxyMode === 'unknown' ? 'warning' : 'info', text: headline });
  }
  for (const warning of info.warnings) {
    sections.push({ kind: 'notice', level: 'warning', text: localizeCoreSentence(warning, t) });
  }
  for (const hint of info.hints) {
    sections.push({ kind: 'notice', level: 'info', text: localizeCoreSentence(hint, t) });
  }

  const items: KeyValueItem[] = [
    { key: t('Mode'), value: mode, emphasis: 'strong' },
    { key: t('Known from'), value: sourceText(info, t) },
    {
      key: t('/proxyMode'),
      value: info.proxyModeEndpoint.reachable ? (info.proxyModeEndpoint.answer ?? t('(empty answer)')) : t('no answer (exit {0})', info.proxyModeEndpoint.exitCode ?? missing),
    },
    {
      key: t('kube-proxy chains in'),
      value: backendName(info.kubeChainsIn, t),
      ...(info.kubeChainsIn === 'both' ? { emphasis: 'warning' as const } : {}),
    },
    { key: t('iptables (nf_tables)'), value: backendValue(info.iptablesBackends.nft, t) },
    { key: t('iptables (legacy)'), value: backendValue(info.iptablesBackends.legacy, t) },
    {
      key: t('nftables'),
      value: info.nftKubeProxyTable
        ? t('table ip kube-proxy present (tables: {0})', info.nftTables.join(', '))
        : info.nftTables.length > 0
          ? t('no kube-proxy table (tables: {0})', info.nftTables.join(', '))
          : t('no tables'),
    },
    {
      key: t('IPVS'),
      value: info.ipvs.available ? t('{0} virtual servers', info.ipvs.virtualServers) : t('not available (the ip_vs module is not loaded)'),
      ...(info.proxyMode === 'ipvs' && !info.ipvs.available ? { emphasis: 'bad' as const } : {}),
    },
    {
      key: t('kube-proxy'),
      value: info.kubeProxyAbsent
        ? info.replacedBy !== null
          ? t('absent, replaced by {0}', replacementText(info.replacedBy))
          : t('absent')
        : info.kubeProxyPod
          ? t('pod {0}', info.kubeProxyPod)
          : t('present'),
      ...(info.kubeProxyAbsent ? { emphasis: 'warning' as const } : {}),
    },
  ];
  if (info.interfaces.length > 0) {
    items.push({ key: t('Interfaces'), value: info.interfaces.join(', ') });
  }
  sections.push({ kind: 'keyValue', heading: t('Data plane of node {0}', info.node), items });

  const actions: ReportAction[] = [];
  if (!info.kubeProxyAbsent && (info.proxyMode === 'iptables' || info.proxyMode === 'nftables' || info.kubeChainsIn !== 'none' || info.nftKubeProxyTable)) {
    actions.push({ label: info.proxyMode === 'nftables' ? t('Show nftables Rules') : t('Show iptables Rules'), command: commandIds.showRules, args: [{ node: info.node }], icon: 'list-tree' });
  }
  if (info.proxyMode === 'ipvs' || info.ipvs.virtualServers > 0) {
    actions.push({ label: t('IPVS Backends'), command: commandIds.ipvsBackends, args: [{ node: info.node }], icon: 'server-process' });
  }
  actions.push({ label: t('Show Conntrack'), command: commandIds.showConntrack, args: [{ node: info.node }], icon: 'table' });
  sections.push({ kind: 'actions', actions });

  sections.push(...manualCommandSections(info.manualCommands, info.node, t));
  return { title: t('Data plane of {0}', info.node), subtitle: dataPlaneSummary(info, t), sections };
}

/**
 * Human-readable output of the data-plane commands (mode, rules, trace, ipvs, conntrack).
 * Everything from the cluster goes through {@link clean}.
 */
import type { ConntrackEntry } from '../parsers/conntrack.js';
import type { ConntrackCounts, ConntrackListing, ConntrackUsage } from '../diagnostics/conntrack.js';
import type { DataPlaneInfo, IptablesBackendSummary } from '../diagnostics/dataPlane.js';
import type { IpvsResult } from '../diagnostics/ipvs.js';
import type { ManualCommand } from '../diagnostics/manualCommands.js';
import type { ServiceTrace, TracedEndpoint } from '../diagnostics/trace.js';
import { clean } from './format.js';

function backendLine(label: string, summary: IptablesBackendSummary): string {
  if (!summary.available) {
    return `${label}: not read (exit ${summary.exitCode ?? '?'})`;
  }
  if (summary.kubeChains === 0) {
    return `${label}: no KUBE-* chains${summary.tables.length > 0 ? ` (tables: ${summary.tables.join(', ')})` : ''}`;
  }
  return `${label}: ${summary.kubeProxyChains} kube-proxy chains (${summary.serviceChains} service, ${summary.endpointChains} endpoint${summary.kubeServices ? ', KUBE-SERVICES' : ''}), ${summary.kubeChains} KUBE-* in all${summary.ciliumChains > 0 ? `, ${summary.ciliumChains} CILIUM_*` : ''}`;
}

function appendTail(lines: string[], notes: readonly string[], warnings: readonly string[], commands: readonly ManualCommand[]): void {
  if (notes.length > 0) {
    lines.push('');
    for (const note of notes) {
      lines.push(`* ${note}`);
    }
  }
  if (warnings.length > 0) {
    lines.push('');
    for (const warning of warnings) {
      lines.push(`! ${warning}`);
    }
  }
  if (commands.length > 0) {
    lines.push('');
    lines.push('The same by hand:');
    for (const command of commands) {
      lines.push(`  # ${command.description} (${command.where === 'node' ? 'on the node' : 'with kubectl'})`);
      lines.push(`  ${command.command}`);
    }
  }
}

export function formatDataPlane(info: DataPlaneInfo): string {
  const source = { 'proxyMode-endpoint': "kube-proxy's /proxyMode", rules: 'the rules found', interfaces: 'the interfaces', none: 'nothing found' }[info.proxyModeSource];
  const lines = [
    `Node ${info.node}: kube-proxy mode ${info.proxyMode} (from ${source})`,
    `  /proxyMode:       ${info.proxyModeEndpoint.reachable ? info.proxyModeEndpoint.answer ?? '(empty)' : `no answer (exit ${info.proxyModeEndpoint.exitCode ?? '?'})`}`,
    `  ${backendLine('iptables (nft)   ', info.iptablesBackends.nft)}`,
    `  ${backendLine('iptables (legacy)', info.iptablesBackends.legacy)}`,
    `  KUBE chains in:   ${info.kubeChainsIn}`,
    `  nftables:         ${info.nftKubeProxyTable ? 'table ip kube-proxy present' : 'no kube-proxy table'}${info.nftTables.length > 0 ? ` (tables: ${info.nftTables.join(', ')})` : ''}`,
    `  IPVS:             ${info.ipvs.available ? `${info.ipvs.virtualServers} virtual servers` : 'not available (ip_vs not loaded)'}`,
    `  kube-proxy:       ${info.kubeProxyAbsent ? `absent${info.replacedBy !== null ? ` (replaced by ${info.replacedBy})` : ''}` : info.kubeProxyPod ? `pod ${info.kubeProxyPod}` : 'present'}`,
  ];
  if (info.interfaces.length > 0) {
    lines.push(`  interfaces:       ${info.interfaces.join(', ')}`);
  }
  appendTail(lines, info.hints, info.warnings, info.manualCommands);
  return clean(lines.join('\n'));
}

function percent(value: number | null): string {
  return value === null ? '   ?  ' : `${(Math.round(value * 1000) / 10).toFixed(1).padStart(5)}%`;
}

function endpointLine(endpoint: TracedEndpoint): string {
  const pod = endpoint.pod !== null ? `pod ${endpoint.pod.namespace}/${endpoint.pod.name} on ${endpoint.pod.nodeName ?? '?'}, ${endpoint.pod.ready ? 'ready' : 'not ready'}` : 'no pod holds this IP';
  const probability = endpoint.probability === null ? 'rest' : `p=${endpoint.probability}`;
  return `${percent(endpoint.share)}  ${endpoint.sepChain ?? '(inline)'} (${probability}) -> DNAT ${endpoint.dnatTo ?? '?'}  ${pod}  [${endpoint.status}]`;
}

export function formatTrace(trace: ServiceTrace): string {
  const service = trace.service;
  const lines = [
    `Service ${service.namespace}/${service.name} (${service.type}${service.clusterIP !== null ? `, ClusterIP ${service.clusterIP}` : ''}) on node ${trace.node} (${trace.nodeChoice === 'given' ? 'chosen' : trace.nodeChoice === 'endpoint' ? 'runs an endpoint' : 'first Ready node'})`,
    `Data plane: ${trace.mode}${trace.backend !== null ? `, rules from ${trace.backend}` : ''}`,
  ];
  for (const port of trace.ports) {
    lines.push('');
    lines.push(`Port ${port.portName ?? '(unnamed)'} ${port.clusterIP ?? '?'}:${port.port}/${port.protocol} -> targetPort ${port.targetPort ?? '?'}${port.nodePort !== null ? `, NodePort ${port.nodePort}` : ''}${port.externalIPs.length > 0 ? `, external ${port.externalIPs.join(' ')}` : ''}`);
    if (!port.inRules) {
      lines.push('  not in the rules of this node');
    }
    for (const rule of port.entryRules) {
      lines.push(`  ${rule.chain}: ${rule.text}`);
    }
    for (const rule of port.nodePortRules) {
      lines.push(`  ${rule.chain}: ${rule.text}`);
    }
    for (const rule of port.rejectRules) {
      lines.push(`  ${rule.chain}: ${rule.text}`);
    }
    if (port.svcChain !== null) {
      lines.push(`  -> ${port.svcChain}${port.sessionAffinity.inRules ? ' (session affinity)' : ''}`);
    }
    for (const endpoint of port.endpoints) {
      lines.push(`     ${endpointLine(endpoint)}`);
    }
    for (const endpoint of port.missing) {
      lines.push(`     MISSING ${endpoint.address}:${endpoint.port ?? '?'}${endpoint.pod !== null ? ` pod ${endpoint.pod.namespace}/${endpoint.pod.name}` : ''} (ready in slice ${endpoint.slice}, not in the rules)`);
    }
  }
  if (trace.flags.length > 0) {
    lines.push('');
    lines.push('Findings:');
    for (const flag of trace.flags) {
      lines.push(`  ${flag.severity.toUpperCase()} ${flag.code}: ${flag.message}`);
    }
  }
  appendTail(lines, trace.notes, trace.problems, trace.manualCommands);
  return clean(lines.join('\n'));
}

export function formatIpvs(result: IpvsResult): string {
  if (result.kind === 'not-ipvs') {
    const lines = [result.message];
    if (result.suggestion.command !== null) {
      lines.push(`Try: ${result.suggestion.command}`);
    }
    appendTail(lines, [], result.dataPlane.warnings, result.manualCommands);
    return clean(lines.join('\n'));
  }
  const lines = [`IPVS on node ${result.node}${result.service !== null ? ` for ${result.service.namespace}/${result.service.name}` : ''}: ${result.virtualServers.length} virtual server(s)`];
  for (const server of result.virtualServers) {
    lines.push('');
    lines.push(
      `${server.protocol} ${server.vip ?? '?'}:${server.port ?? '?'} ${server.scheduler ?? ''}${server.flags.length > 0 ? ` ${server.flags.join(',')}` : ''}  ${server.service !== null ? `${server.service.namespace}/${server.service.name}${server.service.portName !== null ? `:${server.service.portName}` : ''} (${server.kind})` : '(no service)'}`,
    );
    for (const real of server.realServers) {
      lines.push(
        `  -> ${real.address}:${real.port ?? '?'} ${real.forward ?? '-'} weight ${real.weight ?? '?'} active ${real.activeConn ?? '?'} inactive ${real.inactConn ?? '?'}  ${real.pod !== null ? `pod ${real.pod.namespace}/${real.pod.name}` : 'no pod'}  [${real.status}]`,
      );
    }
    for (const missing of server.missing) {
      lines.push(`  MISSING ${missing.address}:${missing.port ?? '?'}${missing.pod !== null ? ` pod ${missing.pod.namespace}/${missing.pod.name}` : ''}`);
    }
  }
  if (result.flags.length > 0) {
    lines.push('');
    lines.push('Findings:');
    for (const flag of result.flags) {
      lines.push(`  ${flag.severity.toUpperCase()} ${flag.code}: ${flag.message}`);
    }
  }
  appendTail(lines, result.notes, result.problems, result.manualCommands);
  return clean(lines.join('\n'));
}

function countsLine(label: string, counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([key, value]) => `${key} ${value}`);
  return `${label}: ${parts.join(', ') || '-'}`;
}

export function formatCounts(counts: ConntrackCounts): string[] {
  return [`${counts.total} entries`, countsLine('by state', counts.byState), countsLine('by protocol', counts.byProtocol), countsLine('by flag', counts.byFlag)];
}

export function formatConntrack(listing: ConntrackListing): string {
  const lines = [`Tracked connections on node ${listing.node}`, ...formatCounts(listing.counts).map((line) => `  ${line}`), ''];
  lines.push(listing.raw === '' ? '(no tracked connection matches)' : listing.raw.endsWith('\n') ? listing.raw.slice(0, -1) : listing.raw);
  appendTail(lines, listing.notes, listing.problems, listing.manualCommands);
  return clean(lines.join('\n'));
}

export function formatConntrackUsage(usage: ConntrackUsage): string {
  const lines = [
    `Connection tracking on node ${usage.node}: ${usage.count ?? '?'} of ${usage.max ?? '?'} (${usage.ratio === null ? '?' : `${(usage.ratio * 100).toFixed(1)}%`})${usage.buckets !== null ? `, ${usage.buckets} buckets` : ''}${usage.nearLimit ? '  NEAR THE LIMIT' : ''}`,
  ];
  if (usage.stats !== null) {
    const totals = usage.stats.totals;
    lines.push(`  conntrack -S: ${['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'].filter((key) => totals[key] !== undefined).map((key) => `${key} ${totals[key]}`).join(', ')}`);
  }
  lines.push(`  kernel log (${usage.kernelLogSource ?? 'unreadable'}): ${usage.tableFullEvents.length} "table full" line(s)`);
  for (const event of usage.tableFullEvents.slice(-10)) {
    lines.push(`    ${event.timestamp ?? '-'} ${event.message}`);
  }
  appendTail(lines, [], usage.warnings, usage.manualCommands);
  return clean(lines.join('\n'));
}

/** One `conntrack -E` event as a line (the parsed fields, for the terminal). */
export function formatConntrackEvent(entry: ConntrackEntry): string {
  const o = entry.original;
  const r = entry.reply;
  const tuple = (t: { src: string; dst: string; sport: number | null; dport: number | null }): string => `${t.src}${t.sport !== null ? `:${t.sport}` : ''} -> ${t.dst}${t.dport !== null ? `:${t.dport}` : ''}`;
  return clean(`${entry.timestamp ?? ''} [${entry.event ?? '?'}] ${entry.protocol}${entry.state !== null ? ` ${entry.state}` : ''} ${tuple(o)}${r !== null ? `  reply ${tuple(r)}` : ''}${entry.flags.length > 0 ? ` [${entry.flags.join(',')}]` : ''}`.trim());
}

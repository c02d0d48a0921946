/**
 * Human-readable output of the CLI. Everything from the cluster is passed through
 * {@link clean}, so a pod name or tool output cannot drive the user's terminal.
 */
import type { IpInterface } from '../parsers/ipAddr.js';
import type { ManualCommand } from '../diagnostics/manualCommands.js';
import type { VethResult } from '../diagnostics/veth.js';
import type { PodDigResult } from '../diagnostics/dig.js';
import type { SweepResult } from '../node/debugPodManager.js';

/** Replaces control characters (terminal escapes) with visible `\xNN` forms; keeps newlines and tabs. */
export function clean(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function formatVeth(result: VethResult): string {
  const lines: string[] = [];
  const pod = result.pod;
  lines.push(`Pod ${pod.namespace}/${pod.name} on node ${pod.nodeName ?? '?'}${pod.podIP !== null ? `, IP ${pod.podIP}` : ''}${result.hostNetwork ? ' (hostNetwork)' : ''}`);
  if (result.pid !== null) {
    lines.push(`PID ${result.pid.pid} (container ${result.pid.containerName}, ${result.pid.runtime ?? 'runtime?'} ${result.pid.containerId.slice(0, 12)}, found by ${result.pid.method})`);
  }
  lines.push('');
  if (result.hostNetwork) {
    lines.push("Node interfaces (shared with the pod):");
    for (const item of result.nodeInterfaces) {
      lines.push(`  ${interfaceLine(item)}`);
    }
  } else {
    lines.push(`Pod side:   ${result.podInterface !== null ? interfaceLine(result.podInterface) : '(none found)'}`);
    lines.push(`Node side:  ${result.nodeInterface !== null ? interfaceLine(result.nodeInterface) : '(none found)'}`);
    if (result.bridge !== null) {
      lines.push(`Bridge:     ${interfaceLine(result.bridge)}`);
    }
    const match = result.indexMatch;
    if (match !== null) {
      lines.push(
        `Index match: pod @if${match.podPeerIndex ?? '?'} -> node index ${match.nodeIndex ?? 'none'} ${match.forward ? 'ok' : 'MISSING'}; ` +
          `node @if${match.nodePeerIndex ?? '?'} -> pod index ${match.podIndex ?? '?'} ${match.reverse ? 'ok' : 'MISMATCH'}`,
      );
    }
    if (result.route !== null) {
      lines.push(`Route:      ${result.route.text.split('\n')[0]}`);
    }
    for (const extra of result.extraInterfaces) {
      lines.push(`Extra:      ${interfaceLine(extra.podInterface)}${extra.nodeInterface !== null ? `  <->  ${interfaceLine(extra.nodeInterface)}` : ''}`);
    }
  }
  appendNotes(lines, result.notes, result.problems, result.manualCommands);
  return clean(lines.join('\n'));
}

export function formatDig(result: PodDigResult): string {
  const lines: string[] = [];
  const pod = result.pod;
  lines.push(`dig ${result.type} ${result.name} from pod ${pod.namespace}/${pod.name} (node ${pod.nodeName ?? '?'}, PID ${result.pid.pid} via ${result.pid.method})`);
  lines.push(`Cluster DNS: ${result.dnsService.namespace}/${result.dnsService.name} ClusterIP ${result.dnsService.clusterIP} port ${result.dnsService.port}; endpoints: ${result.endpoints.map((endpoint) => `${endpoint.address}${endpoint.ready ? '' : ' (not ready)'}`).join(', ') || 'none'}`);
  lines.push('');
  for (const query of result.queries) {
    const label = query.target === 'cluster-ip' ? `@${query.server} (ClusterIP)` : `@${query.server} (${query.endpointPod ?? 'endpoint'})`;
    const status = query.result.status ?? query.outcome.toUpperCase();
    const time = query.result.queryTimeMs !== null ? `, ${query.result.queryTimeMs} ms` : '';
    lines.push(`${label}: ${status}${time}${query.result.server !== null ? `, server ${query.result.server}` : ''}`);
    for (const answer of query.result.answers) {
      lines.push(`    ${answer.name} ${answer.ttl ?? ''} ${answer.class} ${answer.type} ${answer.data}`);
    }
    if (query.result.error !== null) {
      lines.push(`    ${query.result.error}`);
    }
    lines.push(`    ${query.explanation}`);
  }
  if (result.resolvConf !== null) {
    lines.push('');
    lines.push(`Pod resolv.conf: nameserver ${result.resolvConf.nameservers.join(', ') || '-'}; search ${result.resolvConf.search.join(' ') || '-'}; options ${Object.entries(result.resolvConf.options).map(([key, value]) => (value === true ? key : `${key}:${value}`)).join(' ') || '-'}`);
  }
  appendNotes(lines, result.summary, result.problems, result.manualCommands);
  return clean(lines.join('\n'));
}

export function formatCleanup(result: SweepResult): string {
  const lines = result.deleted.length === 0 ? ['No debug pods to delete.'] : [`Deleted ${result.deleted.length} debug pod(s):`, ...result.deleted.map((item) => `  ${item.namespace}/${item.name}`)];
  for (const problem of result.problems) {
    lines.push(`warning: ${problem}`);
  }
  return clean(lines.join('\n'));
}

function interfaceLine(item: IpInterface): string {
  const parts = [`${item.index ?? '?'}: ${item.name}${item.link !== null ? `@${item.link}` : ''}`];
  if (item.kind !== undefined) {
    parts.push(item.kind);
  }
  if (item.state !== null) {
    parts.push(item.state);
  }
  if (item.mtu !== null) {
    parts.push(`mtu ${item.mtu}`);
  }
  if (item.mac !== null) {
    parts.push(item.mac);
  }
  if (item.master !== null) {
    parts.push(`master ${item.master}`);
  }
  if (item.addresses.length > 0) {
    parts.push(item.addresses.map((address) => `${address.address}/${address.prefixLength}`).join(' '));
  }
  return parts.join('  ');
}

function appendNotes(lines: string[], notes: readonly string[], problems: readonly string[], commands: readonly ManualCommand[]): void {
  if (notes.length > 0) {
    lines.push('');
    for (const note of notes) {
      lines.push(`* ${note}`);
    }
  }
  if (problems.length > 0) {
    lines.push('');
    lines.push('Problems:');
    for (const problem of problems) {
      lines.push(`  ${problem}`);
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

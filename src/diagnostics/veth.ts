import { isIP } from 'node:net';
import { parseIpAddr } from '../parsers/ipAddr.js';
import type { IpInterface } from '../parsers/ipAddr.js';
import { findContainerPid } from '../node/containerPid.js';
import type { ContainerPidResult } from '../node/containerPid.js';
import { readPod, requireRunningOnNode, splitSections, summarizePod } from './context.js';
import type { DiagnosticContext, DiagnosticOptions, PodRef, PodSummary, ScriptSection } from './context.js';
import { commandLine, crictlPidCommand, kubectlDebugNodeCommand, kubectlGetPodCommand, nsenterCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';

/** The PID lookup as results show it. */
export interface PidInfo {
  readonly pid: number;
  readonly method: ContainerPidResult['method'];
  readonly containerName: string;
  readonly containerId: string;
  readonly runtime: string | null;
}

/** The node's route to the pod IP (`ip route get`). */
export interface RouteInfo {
  readonly destination: string;
  readonly dev: string | null;
  readonly via: string | null;
  readonly src: string | null;
  readonly text: string;
}

/** How the two ends of the pod's link point at each other. */
export interface IndexMatch {
  /** The N of the pod's `eth0@ifN`. */
  readonly podPeerIndex: number | null;
  /** Index of the node interface found at N (null when there is none). */
  readonly nodeIndex: number | null;
  /** The M of the node interface's `vethX@ifM`. */
  readonly nodePeerIndex: number | null;
  /** Index of the pod's eth0. */
  readonly podIndex: number | null;
  /** A node interface with index N exists. */
  readonly forward: boolean;
  /** Its `@ifM` is the pod interface's index. */
  readonly reverse: boolean;
}

/** One pod interface besides the primary (Multus `net1@ifN`, tunnels…) and its node end, if any. */
export interface ExtraInterface {
  readonly podInterface: IpInterface;
  readonly nodeInterface: IpInterface | null;
}

/** Both ends of a pod's link (the tutorial's step 4). */
export interface VethResult {
  readonly pod: PodSummary;
  readonly hostNetwork: boolean;
  readonly pid: PidInfo | null;
  /** The pod's interface that carries its IP (usually `eth0`); null for hostNetwork pods. */
  readonly podInterface: IpInterface | null;
  /** Its peer on the node (`vethXXXX`, `caliXXXX`, `lxcXXXX`). */
  readonly nodeInterface: IpInterface | null;
  readonly indexMatch: IndexMatch | null;
  /** The bridge (or other master) the node end is enslaved to, as the node shows it. */
  readonly bridge: IpInterface | null;
  readonly route: RouteInfo | null;
  readonly extraInterfaces: ExtraInterface[];
  /** Every interface of the pod's namespace, as parsed. */
  readonly podInterfaces: IpInterface[];
  /** For a hostNetwork pod: the node's interfaces (which are the pod's). */
  readonly nodeInterfaces: IpInterface[];
  /** Plain-words findings, most important first. */
  readonly notes: string[];
  /** What could not be read (parser problems, command errors). */
  readonly problems: string[];
  readonly manualCommands: ManualCommand[];
}

/**
 * Pod side and node side in one exec: `nsenter -t PID -n ip -d addr show`, `ip -d addr show`
 * on the node, `ip route get <podIP>`. Constant text; PID and IP come as positional arguments.
 */
export const VETH_SCRIPT = `pid="$1"; podip="$2"
if [ -n "$pid" ]; then
  echo "@@kni:pod@@"
  nsenter -t "$pid" -n ip -d addr show
  echo "@@kni:exit=$?@@"
fi
echo "@@kni:node@@"
ip -d addr show
echo "@@kni:exit=$?@@"
if [ -n "$podip" ]; then
  echo "@@kni:route@@"
  ip route get "$podip"
  echo "@@kni:exit=$?@@"
fi
`;

/** The argv for {@link VETH_SCRIPT}; `pid` null means only the node side. */
export function vethArgv(pid: number | null, podIP: string | null): string[] {
  if (pid !== null && (!Number.isInteger(pid) || pid <= 0)) {
    throw new RangeError(`not a PID: ${pid}`);
  }
  if (podIP !== null && isIP(podIP) === 0) {
    throw new RangeError(`not an IP address: ${JSON.stringify(podIP)}`);
  }
  return ['sh', '-c', VETH_SCRIPT, 'kni-veth', pid === null ? '' : String(pid), podIP ?? ''];
}

/** "Show veth" for a pod. */
export async function showVeth(context: DiagnosticContext, ref: PodRef, options: DiagnosticOptions & { readonly containerName?: string } = {}): Promise<VethResult> {
  const pod = await readPod(context, ref);
  const nodeName = requireRunningOnNode(pod);
  const summary = summarizePod(pod);
  const image = context.runner.debugImage();
  const commandOptions = { signal: options.signal, onProgress: options.onProgress, timeoutMs: 30_000 };

  if (summary.hostNetwork) {
    const result = await context.runner.run(nodeName, vethArgv(null, null), commandOptions);
    const sections = splitSections(result.stdout);
    const node = parseSection(sections, 'node', 'node side', []);
    return {
      pod: summary,
      hostNetwork: true,
      pid: null,
      podInterface: null,
      nodeInterface: null,
      indexMatch: null,
      bridge: null,
      route: null,
      extraInterfaces: [],
      podInterfaces: [],
      nodeInterfaces: node.interfaces,
      notes: [
        `Pod ${summary.namespace}/${summary.name} uses the host network (hostNetwork: true): it shares node ${nodeName}'s network namespace, so it has no veth of its own. Its interfaces are the node's, listed below.`,
      ],
      problems: [...node.problems, ...stderrProblems(result.stderr)],
      manualCommands: [
        kubectlGetPodCommand(summary.namespace, summary.name),
        kubectlDebugNodeCommand(nodeName, image),
        { where: 'node', description: "The node's interfaces (the pod's too)", command: commandLine('ip', 'addr') },
      ],
    };
  }

  const pidResult = await findContainerPid(context.runner, pod, { ...commandOptions, containerName: options.containerName, logger: context.logger });
  const result = await context.runner.run(nodeName, vethArgv(pidResult.pid, summary.podIP), commandOptions);
  const sections = splitSections(result.stdout);
  const problems: string[] = [...pidResult.problems];
  const podSide = parseSection(sections, 'pod', 'pod side', problems);
  const nodeSide = parseSection(sections, 'node', 'node side', problems);
  const routeSection = sections.find((section) => section.name === 'route');
  const route = summary.podIP !== null && routeSection !== undefined && routeSection.exitCode === 0 ? parseRouteGet(summary.podIP, routeSection.text) : null;
  problems.push(...stderrProblems(result.stderr));

  const podInterface = primaryInterface(podSide.interfaces, summary.podIPs);
  const nodeInterface = podInterface?.peerIndex !== null && podInterface?.peerIndex !== undefined ? (nodeSide.interfaces.find((item) => item.index === podInterface.peerIndex) ?? null) : null;
  const indexMatch: IndexMatch | null =
    podInterface === null
      ? null
      : {
          podPeerIndex: podInterface.peerIndex,
          nodeIndex: nodeInterface?.index ?? null,
          nodePeerIndex: nodeInterface?.peerIndex ?? null,
          podIndex: podInterface.index,
          forward: nodeInterface !== null,
          reverse: nodeInterface !== null && nodeInterface.peerIndex !== null && nodeInterface.peerIndex === podInterface.index,
        };
  const bridge = nodeInterface?.master !== null && nodeInterface?.master !== undefined ? (nodeSide.interfaces.find((item) => item.name === nodeInterface.master) ?? null) : null;
  const extraInterfaces: ExtraInterface[] = podSide.interfaces
    .filter((item) => item !== podInterface && item.name !== 'lo' && item.linkType !== 'loopback')
    .map((item) => ({
      podInterface: item,
      nodeInterface: item.peerIndex !== null ? (nodeSide.interfaces.find((candidate) => candidate.index === item.peerIndex) ?? null) : null,
    }));

  const notes = vethNotes(nodeName, podInterface, nodeInterface, indexMatch, bridge, route, extraInterfaces);
  const pidInfo: PidInfo = { pid: pidResult.pid, method: pidResult.method, containerName: pidResult.containerName, containerId: pidResult.containerId, runtime: pidResult.runtime };
  const manualCommands: ManualCommand[] = [
    kubectlGetPodCommand(summary.namespace, summary.name),
    kubectlDebugNodeCommand(nodeName, image),
    crictlPidCommand(pidResult.containerId),
    nsenterCommand(pidResult.pid, ['ip', 'addr'], "The pod's interfaces (eth0@ifN: N is the node-side index)"),
  ];
  if (podInterface?.peerIndex !== null && podInterface?.peerIndex !== undefined) {
    manualCommands.push({
      where: 'node',
      description: `The node interface with index ${podInterface.peerIndex}: the pod's peer`,
      command: `${commandLine('ip', 'addr')} | ${commandLine('grep', '-A1', `^${podInterface.peerIndex}:`)}`,
    });
  }
  if (summary.podIP !== null) {
    manualCommands.push({ where: 'node', description: "The node's route to the pod", command: commandLine('ip', 'route', 'get', summary.podIP) });
  }
  if (bridge !== null) {
    manualCommands.push({ where: 'node', description: `Interfaces on bridge ${bridge.name}`, command: commandLine('ip', 'link', 'show', 'master', bridge.name) });
  }

  return {
    pod: summary,
    hostNetwork: false,
    pid: pidInfo,
    podInterface,
    nodeInterface,
    indexMatch,
    bridge,
    route,
    extraInterfaces,
    podInterfaces: podSide.interfaces,
    nodeInterfaces: [],
    notes,
    problems,
    manualCommands,
  };
}

function parseSection(sections: readonly ScriptSection[], name: string, label: string, problems: string[]): { interfaces: IpInterface[]; problems: string[] } {
  const section = sections.find((item) => item.name === name);
  const own: string[] = [];
  if (section === undefined) {
    own.push(`${label}: no output (the command did not run)`);
  } else {
    if (section.exitCode !== 0) {
      own.push(`${label}: ip exited with ${section.exitCode ?? 'no exit code'}`);
    }
    const parsed = parseIpAddr(section.text);
    for (const problem of parsed.problems) {
      own.push(`${label}, line ${problem.line}: ${problem.reason}`);
    }
    problems.push(...own);
    return { interfaces: parsed.value, problems: own };
  }
  problems.push(...own);
  return { interfaces: [], problems: own };
}

/** The interface carrying the pod's IP, else `eth0`, else the first non-loopback one. */
export function primaryInterface(interfaces: readonly IpInterface[], podIPs: readonly string[]): IpInterface | null {
  const byAddress = interfaces.find((item) => item.addresses.some((address) => podIPs.includes(address.address)));
  if (byAddress !== undefined) {
    return byAddress;
  }
  return interfaces.find((item) => item.name === 'eth0') ?? interfaces.find((item) => item.name !== 'lo' && item.linkType !== 'loopback') ?? null;
}

/** Reads `ip route get` output (`198.18.2.5 dev cni0 src 198.18.2.1 uid 0`). */
export function parseRouteGet(destination: string, text: string): RouteInfo {
  const first = text.split('\n').find((line) => line.trim() !== '') ?? '';
  const field = (key: string): string | null => {
    const match = new RegExp(`(?:^|\\s)${key}\\s+(\\S+)`).exec(first);
    return match === null ? null : match[1];
  };
  return { destination, dev: field('dev'), via: field('via'), src: field('src'), text: text.trim() };
}

function vethNotes(
  nodeName: string,
  podInterface: IpInterface | null,
  nodeInterface: IpInterface | null,
  match: IndexMatch | null,
  bridge: IpInterface | null,
  route: RouteInfo | null,
  extras: readonly ExtraInterface[],
): string[] {
  const notes: string[] = [];
  if (podInterface === null) {
    notes.push(`No interface other than loopback was found in the pod's network namespace.`);
    return notes;
  }
  if (podInterface.peerIndex === null) {
    notes.push(`The pod's ${podInterface.name} does not name a peer (${podInterface.kind ?? 'unknown kind'}), so it is not one end of a veth pair.`);
  } else if (nodeInterface === null) {
    notes.push(
      `The pod's ${podInterface.name}@if${podInterface.peerIndex} points at interface index ${podInterface.peerIndex}, but node ${nodeName} has no interface with that index in its root namespace (the peer may live in another namespace, or the CNI uses ipvlan/macvlan).`,
    );
  } else {
    notes.push(
      `The pod's ${podInterface.name} (index ${podInterface.index ?? '?'}) is paired with ${nodeInterface.name} (index ${nodeInterface.index ?? '?'}) on node ${nodeName}.`,
    );
    if (match !== null && !match.reverse) {
      notes.push(
        `The node end ${nodeInterface.name} points back at index ${nodeInterface.peerIndex ?? 'none'}, not at the pod's index ${podInterface.index ?? '?'}: the pair may not be what it seems (index reuse after a restart?).`,
      );
    }
    if (podInterface.mtu !== null && nodeInterface.mtu !== null && podInterface.mtu !== nodeInterface.mtu) {
      notes.push(`MTU differs: ${podInterface.mtu} in the pod, ${nodeInterface.mtu} on the node end.`);
    }
    if (nodeInterface.state !== null && nodeInterface.state !== 'UP' && nodeInterface.state !== 'UNKNOWN') {
      notes.push(`The node end ${nodeInterface.name} is ${nodeInterface.state}.`);
    }
    if (bridge !== null) {
      notes.push(`${nodeInterface.name} is a port of bridge ${bridge.name}${bridge.addresses.length > 0 ? ` (${bridge.addresses.map((item) => `${item.address}/${item.prefixLength}`).join(', ')})` : ''}.`);
    } else if (nodeInterface.master !== null) {
      notes.push(`${nodeInterface.name} is enslaved to ${nodeInterface.master}.`);
    } else {
      notes.push(`${nodeInterface.name} has no bridge: the node routes to the pod through it directly (Calico/Cilium style).`);
    }
  }
  if (podInterface.state !== null && podInterface.state !== 'UP' && podInterface.state !== 'UNKNOWN') {
    notes.push(`The pod's ${podInterface.name} is ${podInterface.state}.`);
  }
  if (route !== null && route.dev !== null) {
    const expected = [nodeInterface?.name, bridge?.name].filter((name): name is string => name !== undefined);
    if (expected.length > 0 && !expected.includes(route.dev)) {
      notes.push(`The node routes ${route.destination} via ${route.dev}, not via ${expected.join(' or ')}: traffic to the pod leaves another way (overlay, or a wrong route).`);
    } else {
      notes.push(`The node routes ${route.destination} via ${route.dev}${route.src !== null ? ` (source ${route.src})` : ''}.`);
    }
  }
  for (const extra of extras) {
    notes.push(
      `Extra interface ${extra.podInterface.name}${extra.podInterface.link !== null ? `@${extra.podInterface.link}` : ''} (${extra.podInterface.kind ?? extra.podInterface.linkType ?? 'unknown kind'})` +
        `${extra.nodeInterface !== null ? `, node end ${extra.nodeInterface.name}` : ''}${extra.podInterface.addresses.length > 0 ? `: ${extra.podInterface.addresses.map((item) => `${item.address}/${item.prefixLength}`).join(', ')}` : ''}.`,
    );
  }
  return notes;
}

function stderrProblems(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .slice(0, 20)
    .map((line) => `stderr: ${line}`);
}

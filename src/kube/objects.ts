/**
 * Read-only views of pods, services, nodes and namespaces: the fields the tree and the
 * diagnostics use, read defensively. Objects from an informer's list are deserialized by
 * client-node (timestamps are `Date`), objects from its watch are raw JSON (timestamps are
 * strings), and cluster data may be incomplete: every accessor tolerates all of that.
 */

import type { V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

/** The phases of `PodStatus.phase`; anything else reads as `Unknown`. */
export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** One container of a pod. */
export interface ContainerSummary {
  readonly name: string;
  readonly image: string | undefined;
  readonly ready: boolean;
  readonly restartCount: number;
  /** `containerd://<id>`, `cri-o://<id>`, `docker://<id>` once the runtime has created it. */
  readonly containerID: string | undefined;
  /** `running`, `waiting (ImagePullBackOff)`, `terminated (Completed, exit 0)` ... */
  readonly state: string;
}

/** What the tree shows about a pod. */
export interface PodSummary {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | undefined;
  readonly phase: PodPhase;
  /** What kubectl's STATUS column would say: `Running`, `ImagePullBackOff`, `Terminating` ... */
  readonly status: string;
  readonly podIP: string | undefined;
  readonly podIPs: readonly string[];
  readonly hostIP: string | undefined;
  readonly nodeName: string | undefined;
  readonly hostNetwork: boolean;
  readonly terminating: boolean;
  readonly readyContainers: number;
  readonly containers: readonly ContainerSummary[];
  readonly restarts: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string | undefined;
}

/** One port of a service. */
export interface ServicePortSummary {
  readonly name: string | undefined;
  readonly port: number;
  readonly protocol: string;
  readonly targetPort: string | undefined;
  readonly nodePort: number | undefined;
  readonly appProtocol: string | undefined;
}

/** What the tree shows about a service. */
export interface ServiceSummary {
  readonly namespace: string;
  readonly name: string;
  readonly type: string;
  /** Undefined for headless services (`None`) and ExternalName services. */
  readonly clusterIP: string | undefined;
  readonly clusterIPs: readonly string[];
  readonly headless: boolean;
  readonly externalName: string | undefined;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIngress: readonly string[];
  readonly ports: readonly ServicePortSummary[];
  readonly selector: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly createdAt: string | undefined;
}

/** What the tree shows about a node. */
export interface NodeSummary {
  readonly name: string;
  readonly internalIP: string | undefined;
  readonly addresses: ReadonlyArray<{ readonly type: string; readonly address: string }>;
  /** Undefined when the node reports no Ready condition (or it is `Unknown`). */
  readonly ready: boolean | undefined;
  readonly readyMessage: string | undefined;
  readonly unschedulable: boolean;
  readonly roles: readonly string[];
  readonly operatingSystem: string | undefined;
  readonly osImage: string | undefined;
  readonly kernelVersion: string | undefined;
  readonly kubeletVersion: string | undefined;
  readonly containerRuntime: string | undefined;
  readonly podCIDRs: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

/** What the tree shows about a namespace. */
export interface NamespaceSummary {
  readonly name: string;
  /** `Active`, `Terminating`; undefined when only known from the pods in it. */
  readonly phase: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

const podPhases = new Set<PodPhase>(['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']);

/** `namespace/name` key of any namespaced object. */
export function objectKey(object: { metadata?: { namespace?: string; name?: string } }): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** Reads a pod. */
export function summarizePod(pod: V1Pod): PodSummary {
  const status = pod.status;
  const phaseText = text(status?.phase);
  const phase: PodPhase = phaseText !== undefined && podPhases.has(phaseText as PodPhase) ? (phaseText as PodPhase) : 'Unknown';
  const containers = (status?.containerStatuses ?? []).map((container) => {
    const waiting = text(container?.state?.waiting?.reason);
    const terminated = container?.state?.terminated;
    let state = 'unknown';
    if (container?.state?.running !== undefined && container.state.running !== null) {
      state = 'running';
    } else if (container?.state?.waiting !== undefined && container.state.waiting !== null) {
      state = waiting === undefined ? 'waiting' : `waiting (${waiting})`;
    } else if (terminated !== undefined && terminated !== null) {
      const reason = text(terminated.reason);
      const exit = typeof terminated.exitCode === 'number' ? `exit ${terminated.exitCode}` : undefined;
      const parts = [reason, exit].filter((part): part is string => part !== undefined);
      state = parts.length > 0 ? `terminated (${parts.join(', ')})` : 'terminated';
    }
    return {
      name: text(container?.name) ?? '',
      image: text(container?.image),
      ready: container?.ready === true,
      restartCount: typeof container?.restartCount === 'number' ? container.restartCount : 0,
      containerID: text(container?.containerID),
      state,
    };
  });
  const podIPs = (status?.podIPs ?? []).map((entry) => text(entry?.ip)).filter((ip): ip is string => ip !== undefined);
  const podIP = text(status?.podIP) ?? podIPs[0];
  const terminating = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  return {
    namespace: text(pod.metadata?.namespace) ?? '',
    name: text(pod.metadata?.name) ?? '',
    uid: text(pod.metadata?.uid),
    phase,
    status: podDisplayStatus(pod, phase, terminating),
    podIP,
    podIPs: podIPs.length > 0 ? podIPs : podIP === undefined ? [] : [podIP],
    hostIP: text(status?.hostIP),
    nodeName: text(pod.spec?.nodeName),
    hostNetwork: pod.spec?.hostNetwork === true,
    terminating,
    readyContainers: containers.filter((container) => container.ready).length,
    containers,
    restarts: containers.reduce((sum, container) => sum + container.restartCount, 0),
    labels: stringMap(pod.metadata?.labels),
    createdAt: timestamp(pod.metadata?.creationTimestamp),
  };
}

/** kubectl's STATUS column, simplified: deletion, pod reason, then the first container reason. */
function podDisplayStatus(pod: V1Pod, phase: PodPhase, terminating: boolean): string {
  if (terminating) {
    return 'Terminating';
  }
  const podReason = text(pod.status?.reason);
  if (podReason !== undefined) {
    return podReason;
  }
  const containers = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const container of containers) {
    const waiting = text(container?.state?.waiting?.reason);
    if (waiting !== undefined) {
      return waiting;
    }
  }
  if (phase !== 'Running') {
    for (const container of containers) {
      const terminated = text(container?.state?.terminated?.reason);
      if (terminated !== undefined) {
        return terminated;
      }
    }
  }
  return phase;
}

/** Reads a service. */
export function summarizeService(service: V1Service): ServiceSummary {
  const spec = service.spec;
  const rawClusterIP = text(spec?.clusterIP);
  const headless = rawClusterIP === 'None';
  const clusterIPs = (spec?.clusterIPs ?? []).map(text).filter((ip): ip is string => ip !== undefined && ip !== 'None');
  const clusterIP = headless ? undefined : rawClusterIP ?? clusterIPs[0];
  const ports = (spec?.ports ?? []).flatMap((port): ServicePortSummary[] => {
    if (typeof port?.port !== 'number') {
      return [];
    }
    const target = port.targetPort as unknown;
    return [
      {
        name: text(port.name),
        port: port.port,
        protocol: text(port.protocol) ?? 'TCP',
        targetPort: typeof target === 'number' ? String(target) : text(target),
        nodePort: typeof port.nodePort === 'number' ? port.nodePort : undefined,
        appProtocol: text(port.appProtocol),
      },
    ];
  });
  const ingress = (service.status?.loadBalancer?.ingress ?? [])
    .map((entry) => text(entry?.ip) ?? text(entry?.hostname))
    .filter((value): value is string => value !== undefined);
  return {
    namespace: text(service.metadata?.namespace) ?? '',
    name: text(service.metadata?.name) ?? '',
    type: text(spec?.type) ?? 'ClusterIP',
    clusterIP,
    clusterIPs: clusterIPs.length > 0 ? clusterIPs : clusterIP === undefined ? [] : [clusterIP],
    headless,
    externalName: text(spec?.externalName),
    externalIPs: (spec?.externalIPs ?? []).map(text).filter((ip): ip is string => ip !== undefined),
    loadBalancerIngress: ingress,
    ports,
    selector: stringMap(spec?.selector),
    labels: stringMap(service.metadata?.labels),
    createdAt: timestamp(service.metadata?.creationTimestamp),
  };
}

/** `80/TCP→8080`, `443:30443/TCP→https` (node port after the colon, as kubectl writes it). */
export function formatServicePort(port: ServicePortSummary): string {
  const front = port.nodePort === undefined ? `${port.port}` : `${port.port}:${port.nodePort}`;
  const target = port.targetPort !== undefined && port.targetPort !== String(port.port) ? `→${port.targetPort}` : '';
  return `${front}/${port.protocol}${target}`;
}

/** Reads a node. */
export function summarizeNode(node: V1Node): NodeSummary {
  const addresses = (node.status?.addresses ?? []).flatMap((entry) => {
    const type = text(entry?.type);
    const address = text(entry?.address);
    return type !== undefined && address !== undefined ? [{ type, address }] : [];
  });
  const readyCondition = (node.status?.conditions ?? []).find((condition) => condition?.type === 'Ready');
  const readyStatus = text(readyCondition?.status);
  const labels = stringMap(node.metadata?.labels);
  const roles = Object.keys(labels)
    .filter((key) => key.startsWith('node-role.kubernetes.io/'))
    .map((key) => key.slice('node-role.kubernetes.io/'.length))
    .filter((role) => role.length > 0)
    .sort();
  const info = node.status?.nodeInfo;
  const podCIDRs = (node.spec?.podCIDRs ?? []).map(text).filter((cidr): cidr is string => cidr !== undefined);
  const podCIDR = text(node.spec?.podCIDR);
  return {
    name: text(node.metadata?.name) ?? '',
    internalIP: addresses.find((entry) => entry.type === 'InternalIP')?.address,
    addresses,
    ready: readyStatus === 'True' ? true : readyStatus === 'False' ? false : undefined,
    readyMessage: text(readyCondition?.message) ?? text(readyCondition?.reason),
    unschedulable: node.spec?.unschedulable === true,
    roles,
    operatingSystem: text(info?.operatingSystem) ?? labels['kubernetes.io/os'],
    osImage: text(info?.osImage),
    kernelVersion: text(info?.kernelVersion),
    kubeletVersion: text(info?.kubeletVersion),
    containerRuntime: text(info?.containerRuntimeVersion),
    podCIDRs: podCIDRs.length > 0 ? podCIDRs : podCIDR === undefined ? [] : [podCIDR],
    labels,
  };
}

/** Reads a namespace. */
export function summarizeNamespace(namespace: V1Namespace | undefined, name: string): NamespaceSummary {
  return {
    name,
    phase: text(namespace?.status?.phase),
    labels: stringMap(namespace?.metadata?.labels),
  };
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) {
    return result;
  }
  for (const [key, entry] of Object.entries(value)) {
    if (typeof entry === 'string') {
      result[key] = entry;
    }
  }
  return result;
}

/** ISO text of a timestamp that is a `Date` (listed objects) or a string (watched objects). */
function timestamp(value: unknown): string | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' && value.length > 0 ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    return text(value);
  }
  return date.toISOString();
}

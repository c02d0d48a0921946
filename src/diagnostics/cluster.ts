/**
 * What the data-plane diagnostics read from the API: nodes, a service and its
 * EndpointSlices, pods by IP. Small and shared by trace, IPVS and conntrack.
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Node, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { apiFailure } from '../node/kubeStatus.js';
import { DiagnosticError } from './context.js';
import type { DiagnosticContext } from './context.js';

/** A service named by namespace and name. */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True for a name a Kubernetes node can have (a DNS subdomain). */
export function isValidNodeName(name: string): boolean {
  return typeof name === 'string' && DNS_SUBDOMAIN.test(name);
}

/** Throws `invalid-input` unless `name` can be a node name. */
export function requireNodeName(name: string): string {
  if (!isValidNodeName(name)) {
    throw new DiagnosticError('invalid-input', `Not a node name: ${JSON.stringify(name)} (lowercase letters, digits, "-" and ".").`);
  }
  return name;
}

/** Parses `NS/SERVICE`; throws `invalid-input` when it is not two valid names. */
export function parseServiceRef(text: string): ServiceRef {
  const parts = typeof text === 'string' ? text.split('/') : [];
  if (parts.length !== 2 || !DNS_LABEL.test(parts[0]) || !DNS_LABEL.test(parts[1])) {
    throw new DiagnosticError('invalid-input', `Expected NAMESPACE/SERVICE (lowercase names), got ${JSON.stringify(text)}.`);
  }
  return { namespace: parts[0], name: parts[1] };
}

/** Reads the service fresh from the API. */
export async function readService(context: DiagnosticContext, ref: ServiceRef): Promise<V1Service> {
  if (!DNS_LABEL.test(ref.namespace) || !DNS_LABEL.test(ref.name)) {
    throw new DiagnosticError('invalid-input', `Not a valid service reference: ${JSON.stringify(`${ref.namespace}/${ref.name}`)}.`);
  }
  try {
    return await context.core.readNamespacedService({ namespace: ref.namespace, name: ref.name });
  } catch (error) {
    const failure = apiFailure(error);
    if (failure.httpStatus === 404) {
      throw new DiagnosticError('service-not-found', `Service ${ref.namespace}/${ref.name} does not exist. Check the namespace and the name (kubectl get services -n ${ref.namespace}).`);
    }
    throw new DiagnosticError('api', `Could not read service ${ref.namespace}/${ref.name}: ${failure.message}`);
  }
}

/** The service's EndpointSlices (label `kubernetes.io/service-name`). */
export async function readServiceSlices(context: DiagnosticContext, ref: ServiceRef): Promise<V1EndpointSlice[]> {
  try {
    const list = await context.discovery.listNamespacedEndpointSlice({ namespace: ref.namespace, labelSelector: `kubernetes.io/service-name=${ref.name}` });
    return list.items;
  } catch (error) {
    throw new DiagnosticError('api', `Could not list the EndpointSlices of ${ref.namespace}/${ref.name}: ${apiFailure(error).message}`);
  }
}

/** Reads a node; `node-not-found` when it does not exist. */
export async function readNode(context: DiagnosticContext, name: string): Promise<V1Node> {
  requireNodeName(name);
  try {
    return await context.core.readNode({ name });
  } catch (error) {
    const failure = apiFailure(error);
    if (failure.httpStatus === 404) {
      throw new DiagnosticError('node-not-found', `Node ${name} does not exist (kubectl get nodes lists the nodes).`);
    }
    throw new DiagnosticError('api', `Could not read node ${name}: ${failure.message}`);
  }
}

/** True when the node's Ready condition is True. */
export function isNodeReady(node: V1Node): boolean {
  return (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** The nodes, Ready ones first (then by name). */
export async function listNodesReadyFirst(context: DiagnosticContext): Promise<V1Node[]> {
  try {
    const nodes = (await context.core.listNode()).items;
    return nodes.sort((a, b) => Number(isNodeReady(b)) - Number(isNodeReady(a)) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  } catch (error) {
    throw new DiagnosticError('api', `Could not list the nodes: ${apiFailure(error).message}`);
  }
}

/** The pod behind an address, as results show it (cluster text: escape before showing). */
export interface PodBrief {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string | null;
  readonly phase: string | null;
  /** The pod's Ready condition is True. */
  readonly ready: boolean;
  readonly podIP: string | null;
  readonly hostNetwork: boolean;
}

export function podBrief(pod: V1Pod): PodBrief {
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    nodeName: pod.spec?.nodeName ?? null,
    phase: pod.status?.phase ?? null,
    ready: (pod.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    podIP: pod.status?.podIP ?? null,
    hostNetwork: pod.spec?.hostNetwork === true,
  };
}

/** Every IP of a pod (podIP and podIPs). */
export function podAddresses(pod: V1Pod): string[] {
  const addresses = new Set<string>();
  if (pod.status?.podIP) {
    addresses.add(pod.status.podIP);
  }
  for (const item of pod.status?.podIPs ?? []) {
    if (item.ip) {
      addresses.add(item.ip);
    }
  }
  return [...addresses];
}

/**
 * Indexes pods by IP. Pods on the host network share the node's IP: a pod network pod wins
 * over them, and among equals a running pod wins over a finished one.
 */
export function indexPodsByAddress(pods: readonly V1Pod[]): Map<string, V1Pod> {
  const rank = (pod: V1Pod): number => (pod.spec?.hostNetwork === true ? 0 : 2) + (pod.status?.phase === 'Running' ? 1 : 0);
  const index = new Map<string, V1Pod>();
  for (const pod of pods) {
    for (const address of podAddresses(pod)) {
      const current = index.get(address);
      if (current === undefined || rank(pod) > rank(current)) {
        index.set(address, pod);
      }
    }
  }
  return index;
}

/**
 * Finds the pods that hold `addresses`: first in `namespace` (where a service's endpoints
 * usually are), then cluster-wide by `status.podIP` for the rest. Addresses no pod holds are
 * absent from the map (a deleted pod, a node or an outside address).
 */
export async function findPodsByAddress(context: DiagnosticContext, addresses: Iterable<string>, namespace?: string): Promise<Map<string, V1Pod>> {
  const wanted = new Set([...addresses].filter((address) => isIP(address) !== 0));
  const found = new Map<string, V1Pod>();
  if (wanted.size === 0) {
    return found;
  }
  const take = (pods: readonly V1Pod[]): void => {
    for (const [address, pod] of indexPodsByAddress(pods)) {
      if (wanted.has(address) && !found.has(address)) {
        found.set(address, pod);
      }
    }
  };
  if (namespace !== undefined) {
    try {
      take((await context.core.listNamespacedPod({ namespace })).items);
    } catch (error) {
      context.logger.warn(`[Cluster] could not list pods in ${namespace}: ${apiFailure(error).message}`);
    }
  }
  const rest = [...wanted].filter((address) => !found.has(address));
  if (rest.length > 16) {
    try {
      take((await context.core.listPodForAllNamespaces()).items);
    } catch (error) {
      context.logger.warn(`[Cluster] could not list pods: ${apiFailure(error).message}`);
    }
    return found;
  }
  for (const address of rest) {
    try {
      take((await context.core.listPodForAllNamespaces({ fieldSelector: `status.podIP=${address}` })).items);
    } catch (error) {
      context.logger.warn(`[Cluster] could not look up the pod with IP ${address}: ${apiFailure(error).message}`);
    }
  }
  return found;
}

/** One endpoint address of a service port as its EndpointSlices give it. */
export interface SliceEndpoint {
  readonly address: string;
  /** The endpoint port for this service port (the resolved targetPort). */
  readonly port: number | null;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string | null;
  /** `targetRef` when it is a pod. */
  readonly pod: { readonly namespace: string; readonly name: string } | null;
  readonly slice: string;
}

/** The slice port that serves a service port: same name and protocol. */
function slicePortFor(slice: V1EndpointSlice, servicePort: Pick<V1ServicePort, 'name' | 'protocol'>): number | null | undefined {
  const name = servicePort.name ?? '';
  const protocol = servicePort.protocol ?? 'TCP';
  const match = (slice.ports ?? []).find((port) => (port.name ?? '') === name && (port.protocol ?? 'TCP') === protocol);
  if (match === undefined) {
    return undefined;
  }
  return match.port ?? null;
}

/**
 * The endpoints of one service port across the slices (ready or not). A slice without the
 * port (another port's slice) contributes nothing; an address family is not filtered.
 */
export function sliceEndpointsForPort(slices: readonly V1EndpointSlice[], servicePort: Pick<V1ServicePort, 'name' | 'protocol'>): SliceEndpoint[] {
  const out: SliceEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    const port = slicePortFor(slice, servicePort);
    if (port === undefined) {
      continue;
    }
    for (const endpoint of slice.endpoints ?? []) {
      const conditions = endpoint.conditions ?? {};
      // An unset ready condition means ready (the API's own defaulting).
      const ready = conditions.ready !== false;
      const serving = conditions.serving ?? ready;
      const terminating = conditions.terminating === true;
      for (const address of endpoint.addresses ?? []) {
        const key = `${address}#${port ?? ''}`;
        if (seen.has(key)) {
          continue;
        }
        seen.add(key);
        out.push({
          address,
          port,
          ready,
          serving,
          terminating,
          nodeName: endpoint.nodeName ?? null,
          pod: endpoint.targetRef?.kind === 'Pod' && endpoint.targetRef.name ? { namespace: endpoint.targetRef.namespace ?? slice.metadata?.namespace ?? '', name: endpoint.targetRef.name } : null,
          slice: slice.metadata?.name ?? '',
        });
      }
    }
  }
  return out;
}

/** `IP:port` / `[IPv6]:port` as kube-proxy writes DNAT targets. */
export function hostPort(address: string, port: number | null): string {
  const host = address.includes(':') ? `[${address}]` : address;
  return port === null ? host : `${host}:${port}`;
}

/** Splits `IP:port` / `[IPv6]:port` / `IP`; null when it is not an address. */
export function splitAddressPort(text: string | null): { address: string; port: number | null } | null {
  if (text === null || text === '') {
    return null;
  }
  let address = text;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) {
      return null;
    }
    address = text.slice(1, close);
    portText = text.slice(close + 1).startsWith(':') ? text.slice(close + 2) : undefined;
  } else if (text.split(':').length === 2) {
    [address, portText] = text.split(':');
  }
  // DNAT ranges (`a-b`) are not single endpoints; keep the first address.
  address = address.split('-')[0];
  if (isIP(address) === 0) {
    return null;
  }
  const port = portText === undefined || portText === '' ? null : Number(portText.split('-')[0]);
  return { address, port: port !== null && Number.isInteger(port) ? port : null };
}

/**
 * The lab's fixed topology and its safety limits. Every name the lab creates on the machine
 * (network namespaces, cgroups, /etc/netns entries) starts with {@link LAB_PREFIX}, and every
 * address comes from 198.18.0.0/15 (RFC 2544 benchmarking space), so the lab never touches
 * anything it did not make and never routes to a real network.
 */
export const LAB_PREFIX = labPrefixFromEnvironment(process.env.KNI_LAB_PREFIX);

/**
 * Tests may run a second lab beside the default one under another prefix. The prefix must
 * still say "lab" (so leftovers are easy to spot) and stay short (interface and netns names).
 */
export function labPrefixFromEnvironment(value: string | undefined): string {
  if (value === undefined || value === '') {
    return 'knilab';
  }
  if (!/^[a-z][a-z0-9]{0,9}$/.test(value) || !value.includes('lab')) {
    throw new Error(`KNI_LAB_PREFIX must be 1-10 lowercase letters or digits and contain "lab", got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The whole address space the lab may use. */
export const LAB_SUPERNET = '198.18.0.0/15';

/** Node (underlay) addresses live here; 198.18.0.1 is the underlay's own "apiserver" address. */
export const UNDERLAY_CIDR = '198.18.0.0/24';
export const UNDERLAY_APISERVER_IP = '198.18.0.1';

/** Service ClusterIPs come from here. */
export const SERVICE_CIDR = '198.19.0.0/16';
export const KUBERNETES_SERVICE_IP = '198.19.0.1';
export const KUBE_DNS_SERVICE_IP = '198.19.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';

export type ProxyMode = 'iptables' | 'nftables';

export interface LabNodeSpec {
  /** Kubernetes node name. */
  readonly name: string;
  /** The node's InternalIP on the underlay. */
  readonly internalIP: string;
  /** The node's pod CIDR; the bridge takes the .1 address. */
  readonly podCIDR: string;
  /** Bridge gateway address inside podCIDR. */
  readonly bridgeIP: string;
  /** kube-proxy mode this node's rules are written in. */
  readonly proxyMode: ProxyMode;
}

/** The nodes of the lab cluster. */
export const LAB_NODES: readonly LabNodeSpec[] = [
  { name: 'lab-control-plane', internalIP: '198.18.0.11', podCIDR: '198.18.1.0/24', bridgeIP: '198.18.1.1', proxyMode: 'iptables' },
  { name: 'lab-worker', internalIP: '198.18.0.12', podCIDR: '198.18.2.0/24', bridgeIP: '198.18.2.1', proxyMode: 'iptables' },
  { name: 'lab-worker2', internalIP: '198.18.0.13', podCIDR: '198.18.3.0/24', bridgeIP: '198.18.3.1', proxyMode: 'iptables' },
  { name: 'lab-worker3', internalIP: '198.18.0.14', podCIDR: '198.18.4.0/24', bridgeIP: '198.18.4.1', proxyMode: 'nftables' },
];

/** Network namespace name for a node. */
export function nodeNetnsName(nodeName: string): string {
  return `${LAB_PREFIX}-node-${nodeName}`;
}

/** Images the lab's "registry" serves; anything else fails to pull, as on a kubelet. */
export const AVAILABLE_IMAGES: readonly string[] = [
  'registry.k8s.io/pause:3.10',
  'registry.k8s.io/coredns/coredns:v1.11.3',
  'docker.io/library/busybox:1.36',
  'busybox:1.36',
  'docker.io/nicolaka/netshoot:v0.13',
  'nicolaka/netshoot:v0.13',
  'registry.k8s.io/e2e-test-images/agnhost:2.52',
  'registry.k8s.io/kube-proxy:v1.32.2',
];

/** What a container of a given image runs in the lab (behaviour, not a rootfs). */
export type ContainerBehaviour =
  | { kind: 'pause' }
  | { kind: 'dns' }
  | { kind: 'http-echo'; port: number };

export function behaviourForImage(image: string, containerPorts: readonly number[]): ContainerBehaviour {
  if (image.startsWith('registry.k8s.io/coredns/')) {
    return { kind: 'dns' };
  }
  if (image.startsWith('registry.k8s.io/e2e-test-images/agnhost')) {
    return { kind: 'http-echo', port: containerPorts[0] ?? 8080 };
  }
  return { kind: 'pause' };
}

import { runCommand, toolPath, TOOLS } from './commands.js';
import type { CommandResult } from './commands.js';
import {
  categorizeEndpoints,
  cidrContains,
  externallyAccessible,
  externalPolicyLocal,
  hash16,
  MASQUERADE_MARK,
  servicePortNameString,
  usesClusterEndpoints,
  usesLocalEndpoints,
} from './kubeProxyRules.js';
import type { ProxyEndpoint, ProxyNode, ProxyServicePort } from './kubeProxyRules.js';

/**
 * kube-proxy's nftables mode (the v1.32 layout), rewritten for the lab: from service ports to
 * the `nft -f` script that leaves a node with the `table ip kube-proxy` kube-proxy itself would
 * hold: the same base chains and priorities, the `services` dispatch through the `service-ips`
 * and `service-nodeports` verdict maps, `service-<HASH>-ns/svc/proto/port` and
 * `endpoint-<HASH>-ns/svc/proto/port__ip/port` chains (hash: the first 8 characters of
 * base32(sha256(name))), `numgen random mod N vmap` load balancing, the `no-endpoint-services`
 * reject, the `cluster-ips` set and the masquerade mark. Pure: no I/O, so the script can be
 * compared with the last one written.
 *
 * kube-proxy updates its table incrementally; the lab instead replaces the whole table in one
 * transaction (`add table` + `delete table` + the full contents), which gives the same table,
 * is idempotent, and never leaves a half-written table behind. Dynamic state in the table
 * (session affinity entries, counters) starts over at each rewrite.
 *
 * Settings (kube-proxy's defaults in nftables mode): masquerade bit 14, NodeCIDR local-traffic
 * detection (the node's pod CIDR), `nodePortAddresses` "primary" (NodePorts only on the node's
 * InternalIP; nftables mode has no localhost NodePorts), no masquerade-all, and no
 * "Drop traffic to unallocated ClusterIPs" rule (it needs the MultiCIDRServiceAllocator gate,
 * off by default in v1.32).
 */

/** The table's family and name as `nft` commands name it. */
export const KUBE_PROXY_NFT_TABLE = 'ip kube-proxy';

const FILTER_PREROUTING = 'filter-prerouting';
const FILTER_INPUT = 'filter-input';
const FILTER_FORWARD = 'filter-forward';
const FILTER_OUTPUT = 'filter-output';
const FILTER_OUTPUT_POST_DNAT = 'filter-output-post-dnat';
const NAT_PREROUTING = 'nat-prerouting';
const NAT_OUTPUT = 'nat-output';
const NAT_POSTROUTING = 'nat-postrouting';

const SERVICES = 'services';
const SERVICE_IPS = 'service-ips';
const SERVICE_NODEPORTS = 'service-nodeports';
const NODEPORT_IPS = 'nodeport-ips';
const CLUSTER_IPS = 'cluster-ips';
const SERVICE_ENDPOINTS_CHECK = 'service-endpoints-check';
const NODEPORT_ENDPOINTS_CHECK = 'nodeport-endpoints-check';
const NO_ENDPOINT_SERVICES = 'no-endpoint-services';
const NO_ENDPOINT_NODEPORTS = 'no-endpoint-nodeports';
const REJECT_CHAIN = 'reject-chain';
const CLUSTER_IPS_CHECK = 'cluster-ips-check';
const FIREWALL_IPS = 'firewall-ips';
const FIREWALL_CHECK = 'firewall-check';
const MARK_FOR_MASQUERADE = 'mark-for-masquerade';
const MASQUERADING = 'masquerading';

/** Hooked chains: name, type, hook, priority (dstnat is -100, srcnat 100; filters run before DNAT). */
const BASE_CHAINS: readonly (readonly [string, 'filter' | 'nat', string, number])[] = [
  [FILTER_PREROUTING, 'filter', 'prerouting', -110],
  [FILTER_INPUT, 'filter', 'input', -110],
  [FILTER_FORWARD, 'filter', 'forward', -110],
  [FILTER_OUTPUT, 'filter', 'output', -110],
  [FILTER_OUTPUT_POST_DNAT, 'filter', 'output', -90],
  [NAT_PREROUTING, 'nat', 'prerouting', -100],
  [NAT_OUTPUT, 'nat', 'output', -100],
  [NAT_POSTROUTING, 'nat', 'postrouting', 100],
];

/** Regular chains jumped to from the hooked ones, in kube-proxy's order: [target, from, match]. */
const JUMP_CHAINS: readonly (readonly [string, string, string])[] = [
  // reject is only valid in input, forward and output on older kernels, hence not prerouting.
  [NODEPORT_ENDPOINTS_CHECK, FILTER_INPUT, 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, FILTER_INPUT, 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, FILTER_FORWARD, 'ct state new'],
  [SERVICE_ENDPOINTS_CHECK, FILTER_OUTPUT, 'ct state new'],
  [FIREWALL_CHECK, FILTER_PREROUTING, 'ct state new'],
  [FIREWALL_CHECK, FILTER_OUTPUT, 'ct state new'],
  [SERVICES, NAT_OUTPUT, ''],
  [SERVICES, NAT_PREROUTING, ''],
  [MASQUERADING, NAT_POSTROUTING, ''],
  [CLUSTER_IPS_CHECK, FILTER_FORWARD, 'ct state new'],
  [CLUSTER_IPS_CHECK, FILTER_OUTPUT_POST_DNAT, 'ct state new'],
];

/** knftables.NameLengthMax (256) minus the longest chain-name prefix kube-proxy uses (16). */
const CHAIN_NAME_BASE_MAX = 240;

/** nftables object names: letters, digits and `_./-`, starting with a letter, `_` or `.`. */
const NFT_NAME = /^[A-Za-z_.][A-Za-z0-9_./-]*$/;

/** `HASH-name`, truncated with `...` past 240 characters, as kube-proxy's hashAndTruncate. */
function hashAndTruncate(name: string): string {
  const hashed = `${hash16(name).slice(0, 8)}-${name}`;
  return hashed.length > CHAIN_NAME_BASE_MAX ? `${hashed.slice(0, CHAIN_NAME_BASE_MAX - 3)}...` : hashed;
}

/** `HASH-ns/svc/proto/port`: the part after `service-`, `local-`, `external-`, `firewall-`. */
export function nftServiceChainBase(namespace: string, name: string, protocol: string, portName: string): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}`);
}

/** `HASH-ns/svc/proto/port__ip/port`: the part after `endpoint-` and `affinity-`. */
export function nftEndpointChainBase(namespace: string, name: string, protocol: string, portName: string, endpointIP: string, endpointPort: number): string {
  return hashAndTruncate(`${namespace}/${name}/${protocol}/${portName}__${endpointIP.replace(/:/g, '.')}/${endpointPort}`);
}

/** Comments are quoted strings without escapes in nft's grammar: keep only harmless characters. */
function quote(text: string): string {
  return `"${text.replace(/[^A-Za-z0-9 _.,:;/@()+=-]/g, '_')}"`;
}

/** One transaction's commands, in the order kube-proxy issues them; chains are added once. */
class NftScript {
  readonly lines: string[] = [];
  private readonly chains = new Set<string>();

  command(text: string): void {
    this.lines.push(text);
  }

  chain(name: string, options = ''): void {
    if (this.chains.has(name)) {
      return;
    }
    this.chains.add(name);
    this.lines.push(`add chain ${KUBE_PROXY_NFT_TABLE} ${name}${options === '' ? '' : ` { ${options} ; }`}`);
  }

  rule(chain: string, rule: string, comment?: string): void {
    this.lines.push(`add rule ${KUBE_PROXY_NFT_TABLE} ${chain} ${rule}${comment === undefined ? '' : ` comment ${quote(comment)}`}`);
  }

  container(kind: 'set' | 'map', name: string, type: string, comment?: string, extra: readonly string[] = []): void {
    const parts = [`type ${type}`, ...extra];
    if (comment !== undefined) {
      parts.push(`comment ${quote(comment)}`);
    }
    this.lines.push(`add ${kind} ${KUBE_PROXY_NFT_TABLE} ${name} { ${parts.join(' ; ')} ; }`);
  }

  element(container: string, key: readonly (string | number)[], value?: string, comment?: string): void {
    const commentText = comment === undefined ? '' : ` comment ${quote(comment)}`;
    const valueText = value === undefined ? '' : ` : ${value}`;
    this.lines.push(`add element ${KUBE_PROXY_NFT_TABLE} ${container} { ${key.join(' . ')}${commentText}${valueText} }`);
  }
}

/**
 * The `nft -f` script that replaces `table ip kube-proxy` on one node with what kube-proxy's
 * syncProxyRules would leave there for these service ports. Service ports come from
 * `collectServicePorts`, which has already dropped anything that fails API validation; a name
 * that still would not make a valid nftables chain name is skipped and reported.
 */
export function kubeProxyNftablesScript(node: ProxyNode, servicePorts: readonly ProxyServicePort[], report: (problem: string) => void = () => {}): string {
  const nft = new NftScript();
  const ifLocal = `ip saddr ${node.podCIDR}`;
  const ifNotLocal = `ip saddr != ${node.podCIDR}`;

  // Replace the whole table atomically: `add` first so that `delete` cannot fail.
  nft.command(`add table ${KUBE_PROXY_NFT_TABLE}`);
  nft.command(`delete table ${KUBE_PROXY_NFT_TABLE}`);
  nft.command(`add table ${KUBE_PROXY_NFT_TABLE} { comment ${quote('rules for kube-proxy')} ; }`);

  for (const [name, type, hook, priority] of BASE_CHAINS) {
    nft.chain(name, `type ${type} hook ${hook} priority ${priority}`);
  }
  for (const [target, from, match] of JUMP_CHAINS) {
    nft.chain(target);
    nft.rule(from, `${match === '' ? '' : `${match} `}jump ${target}`);
  }
  for (const chain of [SERVICES, CLUSTER_IPS_CHECK, MASQUERADING, MARK_FOR_MASQUERADE]) {
    nft.chain(chain);
  }

  nft.rule(MARK_FOR_MASQUERADE, `mark set mark or ${MASQUERADE_MARK}`);
  nft.rule(MASQUERADING, `mark and ${MASQUERADE_MARK} == 0 return`);
  nft.rule(MASQUERADING, `mark set mark xor ${MASQUERADE_MARK}`);
  nft.rule(MASQUERADING, 'masquerade fully-random');

  nft.container('set', CLUSTER_IPS, 'ipv4_addr', 'Active ClusterIPs');
  nft.rule(CLUSTER_IPS_CHECK, `ip daddr @${CLUSTER_IPS} reject`, 'Reject traffic to invalid ports of ClusterIPs');

  // nodePortAddresses "primary": only the node's InternalIP takes NodePort traffic.
  nft.container('set', NODEPORT_IPS, 'ipv4_addr', 'IPs that accept NodePort traffic');
  nft.element(NODEPORT_IPS, [node.internalIP]);

  const addressPortVerdict = 'ipv4_addr . inet_proto . inet_service : verdict';
  const portVerdict = 'inet_proto . inet_service : verdict';
  nft.container('map', NO_ENDPOINT_SERVICES, addressPortVerdict, 'vmap to drop or reject packets to services with no endpoints');
  nft.container('map', NO_ENDPOINT_NODEPORTS, portVerdict, 'vmap to drop or reject packets to service nodeports with no endpoints');
  nft.chain(REJECT_CHAIN, `comment ${quote('helper for @no-endpoint-services / @no-endpoint-nodeports')}`);
  nft.rule(REJECT_CHAIN, 'reject');
  nft.rule(SERVICE_ENDPOINTS_CHECK, `ip daddr . meta l4proto . th dport vmap @${NO_ENDPOINT_SERVICES}`);
  nft.rule(NODEPORT_ENDPOINTS_CHECK, `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${NO_ENDPOINT_NODEPORTS}`);

  nft.container('map', FIREWALL_IPS, addressPortVerdict, 'destinations that are subject to LoadBalancerSourceRanges');
  nft.chain(FIREWALL_CHECK);
  nft.rule(FIREWALL_CHECK, `ip daddr . meta l4proto . th dport vmap @${FIREWALL_IPS}`);

  nft.container('map', SERVICE_IPS, addressPortVerdict, 'ClusterIP, ExternalIP and LoadBalancer IP traffic');
  nft.container('map', SERVICE_NODEPORTS, portVerdict, 'NodePort traffic');
  nft.rule(SERVICES, `ip daddr . meta l4proto . th dport vmap @${SERVICE_IPS}`);
  nft.rule(SERVICES, `ip daddr @${NODEPORT_IPS} meta l4proto . th dport vmap @${SERVICE_NODEPORTS}`);

  const clusterIPs = new Set<string>();
  for (const port of servicePorts) {
    writeServicePort(nft, node, port, clusterIPs, { ifLocal, ifNotLocal }, report);
  }
  return `${nft.lines.join('\n')}\n`;
}

function writeServicePort(
  nft: NftScript,
  node: ProxyNode,
  port: ProxyServicePort,
  clusterIPs: Set<string>,
  detector: { readonly ifLocal: string; readonly ifNotLocal: string },
  report: (problem: string) => void,
): void {
  const protocol = port.protocol;
  const name = servicePortNameString(port.namespace, port.name, port.portName);
  const base = nftServiceChainBase(port.namespace, port.name, protocol, port.portName);
  const endpointBase = (endpoint: ProxyEndpoint): string => nftEndpointChainBase(port.namespace, port.name, protocol, port.portName, endpoint.ip, endpoint.port);
  if (!NFT_NAME.test(`service-${base}`) || !port.endpoints.every((endpoint) => NFT_NAME.test(`endpoint-${endpointBase(endpoint)}`))) {
    report(`service port ${name}/${protocol} does not make valid nftables names; no nftables rules`);
    return;
  }
  const { clusterEndpoints, localEndpoints, allReachable, hasAnyEndpoints } = categorizeEndpoints(port, node.name);
  const clusterPolicyChain = `service-${base}`;
  const localPolicyChain = `local-${base}`;
  const externalTrafficChain = `external-${base}`;
  const firewallChain = `firewall-${base}`;
  const endpointChain = (endpoint: ProxyEndpoint): string => `endpoint-${endpointBase(endpoint)}`;
  const affinitySet = (endpoint: ProxyEndpoint): string => `affinity-${endpointBase(endpoint)}`;

  for (const endpoint of allReachable) {
    nft.chain(endpointChain(endpoint));
  }
  const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(port);
  if (usesClusterPolicyChain) {
    nft.chain(clusterPolicyChain);
  }
  const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(port);
  if (usesLocalPolicyChain) {
    nft.chain(localPolicyChain);
  }

  let internalTrafficChain = clusterPolicyChain;
  let hasInternalEndpoints = hasAnyEndpoints;
  if (port.internalPolicyLocal) {
    internalTrafficChain = localPolicyChain;
    hasInternalEndpoints = localEndpoints.length > 0;
  }
  let externalPolicyChain = clusterPolicyChain;
  let hasExternalEndpoints = hasAnyEndpoints;
  if (externalPolicyLocal(port)) {
    externalPolicyChain = localPolicyChain;
    hasExternalEndpoints = localEndpoints.length > 0;
  }
  const usesExternalTrafficChain = hasAnyEndpoints && externallyAccessible(port);
  if (usesExternalTrafficChain) {
    nft.chain(externalTrafficChain);
  }

  // No endpoints at all: reject; none usable from here under a Local policy: drop.
  const internalFilterVerdict = !hasAnyEndpoints ? `goto ${REJECT_CHAIN}` : 'drop';
  const externalFilterVerdict = internalFilterVerdict;
  const key = (address: string): (string | number)[] => [address, protocol, port.port];

  if (!clusterIPs.has(port.clusterIP)) {
    clusterIPs.add(port.clusterIP);
    nft.element(CLUSTER_IPS, [port.clusterIP]);
  }
  if (hasInternalEndpoints) {
    nft.element(SERVICE_IPS, key(port.clusterIP), `goto ${internalTrafficChain}`);
  } else {
    nft.element(NO_ENDPOINT_SERVICES, key(port.clusterIP), internalFilterVerdict, name);
  }

  for (const externalIP of port.externalIPs) {
    if (hasAnyEndpoints) {
      nft.element(SERVICE_IPS, key(externalIP), `goto ${externalTrafficChain}`);
    }
    if (!hasExternalEndpoints) {
      nft.element(NO_ENDPOINT_SERVICES, key(externalIP), externalFilterVerdict, name);
    }
  }

  const usesFirewallChain = port.loadBalancerIPs.length > 0 && port.loadBalancerSourceRanges.length > 0;
  if (usesFirewallChain) {
    nft.chain(firewallChain);
  }
  for (const address of port.loadBalancerIPs) {
    if (hasAnyEndpoints) {
      nft.element(SERVICE_IPS, key(address), `goto ${externalTrafficChain}`);
    }
    if (usesFirewallChain) {
      nft.element(FIREWALL_IPS, key(address), `goto ${firewallChain}`);
    }
  }
  if (!hasExternalEndpoints) {
    for (const address of port.loadBalancerIPs) {
      nft.element(NO_ENDPOINT_SERVICES, key(address), externalFilterVerdict, name);
    }
  }

  if (port.nodePort !== 0) {
    if (hasAnyEndpoints) {
      nft.element(SERVICE_NODEPORTS, [protocol, port.nodePort], `goto ${externalTrafficChain}`);
    }
    if (!hasExternalEndpoints) {
      nft.element(NO_ENDPOINT_NODEPORTS, [protocol, port.nodePort], externalFilterVerdict, name);
    }
  }

  // Off-node traffic to the ClusterIP (a route to the service range via this node) is masqueraded.
  if (hasInternalEndpoints) {
    nft.rule(internalTrafficChain, `ip daddr ${port.clusterIP} ${protocol} dport ${port.port} ${detector.ifNotLocal} jump ${MARK_FOR_MASQUERADE}`);
  }

  if (usesExternalTrafficChain) {
    if (!externalPolicyLocal(port)) {
      // Cluster policy: the backend may be on another node, so the reply must come back here.
      nft.rule(externalTrafficChain, `jump ${MARK_FOR_MASQUERADE}`);
    } else {
      nft.rule(externalTrafficChain, `${detector.ifLocal} goto ${clusterPolicyChain}`, 'short-circuit pod traffic');
      nft.rule(externalTrafficChain, `fib saddr type local jump ${MARK_FOR_MASQUERADE}`, 'masquerade local traffic');
      nft.rule(externalTrafficChain, `fib saddr type local goto ${clusterPolicyChain}`, 'short-circuit local traffic');
    }
    if (hasExternalEndpoints) {
      nft.rule(externalTrafficChain, `goto ${externalPolicyChain}`);
    }
  }

  if (usesFirewallChain) {
    const sources = [...port.loadBalancerSourceRanges];
    if (port.loadBalancerSourceRanges.some((range) => cidrContains(range, node.internalIP))) {
      sources.push(...port.loadBalancerIPs);
    }
    nft.rule(firewallChain, `ip saddr != { ${sources.join(' , ')} } drop`);
  }

  if (port.sessionAffinityClientIP) {
    for (const endpoint of allReachable) {
      nft.container('set', affinitySet(endpoint), 'ipv4_addr', undefined, ['flags dynamic,timeout', `timeout ${port.stickyMaxAgeSeconds}s`]);
    }
  }

  const writeServiceToEndpoints = (chain: string, endpoints: readonly ProxyEndpoint[]): void => {
    if (port.sessionAffinityClientIP) {
      for (const endpoint of endpoints) {
        nft.rule(chain, `ip saddr @${affinitySet(endpoint)} goto ${endpointChain(endpoint)}`);
      }
    }
    const choices = endpoints.map((endpoint, index) => `${index} : goto ${endpointChain(endpoint)}`);
    nft.rule(chain, `numgen random mod ${endpoints.length} vmap { ${choices.join(' , ')} }`);
  };
  if (usesClusterPolicyChain) {
    writeServiceToEndpoints(clusterPolicyChain, clusterEndpoints);
  }
  if (usesLocalPolicyChain) {
    writeServiceToEndpoints(localPolicyChain, localEndpoints);
  }

  for (const endpoint of allReachable) {
    const chain = endpointChain(endpoint);
    // Hairpin: a pod reaching itself through the service is masqueraded.
    nft.rule(chain, `ip saddr ${endpoint.ip} jump ${MARK_FOR_MASQUERADE}`);
    if (port.sessionAffinityClientIP) {
      nft.rule(chain, `update @${affinitySet(endpoint)} { ip saddr }`);
    }
    nft.rule(chain, `meta l4proto ${protocol} dnat to ${endpoint.ip}:${endpoint.port}`);
  }
}

/**
 * What kubelet alone writes with iptables on a node (v1.28+): the KUBE-IPTABLES-HINT chain that
 * tells which iptables backend is in use, its canary chains, and KUBE-FIREWALL's martian-packet
 * rule. On a node whose kube-proxy runs in nftables mode these are the only KUBE-* chains in
 * iptables: no KUBE-SERVICES, no KUBE-PROXY-CANARY.
 */
export function kubeletOnlyRestoreText(): string {
  return [
    '*mangle',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-IPTABLES-HINT - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    'COMMIT',
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-FIREWALL - [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    '-A INPUT -j KUBE-FIREWALL',
    '-A OUTPUT -j KUBE-FIREWALL',
    '-A KUBE-FIREWALL -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP',
    'COMMIT',
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-KUBELET-CANARY - [0:0]',
    'COMMIT',
    '',
  ].join('\n');
}

let nftPath: string | undefined;

/** Runs the script with `nft -f -` inside the node's network namespace: one atomic transaction. */
export function applyNftablesScript(netns: string, script: string): Promise<CommandResult> {
  nftPath ??= toolPath('nft');
  return runCommand(TOOLS.ip, ['netns', 'exec', netns, nftPath, '-f', '-'], { input: script });
}

import { createHash } from 'node:crypto';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

/**
 * kube-proxy's iptables mode (1.29+), rewritten for the lab: from services and endpoint
 * slices to the `iptables-restore` text kube-proxy itself would write on a node, with the same
 * chain names (sha256 → base32 → 16 characters), the same rule order, arguments and comments.
 * Pure functions: no I/O, so the text can be compared with the last one written.
 *
 * Settings the lab's "kube-proxy" runs with (the kubeadm defaults where there is a choice):
 * masquerade bit 14 (mark 0x4000), `--detect-local-mode=NodeCIDR` (the node's pod CIDR is
 * "local"), localhost NodePorts on, nodePortAddresses empty (all local addresses), no
 * `nf_conntrack_tcp_be_liberal`, no topology hints.
 */

export interface ProxyNode {
  readonly name: string;
  readonly podCIDR: string;
  readonly internalIP: string;
}

const KUBE_SERVICES = 'KUBE-SERVICES';
const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
const KUBE_FORWARD = 'KUBE-FORWARD';
const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
const KUBE_FIREWALL = 'KUBE-FIREWALL';
const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';
const KUBE_KUBELET_CANARY = 'KUBE-KUBELET-CANARY';

/** `fmt.Sprintf("%#08x", 1<<14)`, as kube-proxy formats its masquerade mark. */
export const MASQUERADE_MARK = '0x004000';
const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'];

/** True for the per-service chains kube-proxy owns and deletes when they fall out of use. */
export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((prefix) => chain.startsWith(prefix));
}

/** The first 16 characters of base32(sha256(text)), the RFC 4648 alphabet Go's StdEncoding uses. */
export function hash16(text: string): string {
  const digest = createHash('sha256').update(text).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let output = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5 && output.length < 16) {
      output += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
    if (output.length >= 16) {
      break;
    }
  }
  return output;
}

/** `ns/name:port` (or `ns/name` for an unnamed port), kube-proxy's ServicePortName string. */
export function servicePortNameString(namespace: string, name: string, portName: string): string {
  return portName === '' ? `${namespace}/${name}` : `${namespace}/${name}:${portName}`;
}

export function serviceChainName(servicePortName: string, protocol: string): string {
  return `KUBE-SVC-${hash16(servicePortName + protocol)}`;
}

export function serviceLocalChainName(servicePortName: string, protocol: string): string {
  return `KUBE-SVL-${hash16(servicePortName + protocol)}`;
}

export function serviceExternalChainName(servicePortName: string, protocol: string): string {
  return `KUBE-EXT-${hash16(servicePortName + protocol)}`;
}

export function serviceFirewallChainName(servicePortName: string, protocol: string): string {
  return `KUBE-FW-${hash16(servicePortName + protocol)}`;
}

/** KUBE-SEP-… for one endpoint (`ip:port`) of a service port. */
export function endpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol + endpoint)}`;
}

/** One endpoint of one service port, as kube-proxy's endpoints map holds it. */
export interface ProxyEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly nodeName: string | undefined;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
}

/** One port of one service with everything the rules need; built by {@link collectServicePorts}. */
export interface ProxyServicePort {
  readonly namespace: string;
  readonly name: string;
  readonly portName: string;
  /** Lowercase: tcp, udp, sctp. */
  readonly protocol: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly nodePort: number;
  readonly healthCheckNodePort: number;
  readonly externalIPs: readonly string[];
  readonly loadBalancerIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  readonly sessionAffinityClientIP: boolean;
  readonly stickyMaxAgeSeconds: number;
  readonly endpoints: readonly ProxyEndpoint[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

function isCidrV4(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  return extra === undefined && address !== undefined && isIPv4(address) && bits !== undefined && /^([0-9]|[12][0-9]|3[0-2])$/.test(bits);
}

function validPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536;
}

/**
 * Turns API objects into service ports with their endpoints. Objects come from the API and
 * are treated as hostile: anything that would not pass the real API's validation (and could
 * therefore smuggle text into the restore input) is skipped and reported.
 */
export function collectServicePorts(
  services: readonly V1Service[],
  endpointSlices: readonly V1EndpointSlice[],
  report: (problem: string) => void = () => {},
  allowedCidr = '0.0.0.0/0',
): ProxyServicePort[] {
  // The lab passes its own supernet: no rule ever sends traffic to an address outside it.
  const allowed = (address: string): boolean => isIPv4(address) && cidrContains(allowedCidr, address);
  // endpoints by "ns/service" → "portName/protocol" → "ip:port" → endpoint
  const endpointsByService = new Map<string, Map<string, Map<string, ProxyEndpoint>>>();
  for (const slice of endpointSlices) {
    const namespace = slice.metadata?.namespace ?? '';
    const serviceName = slice.metadata?.labels?.['kubernetes.io/service-name'] ?? '';
    if (slice.addressType !== 'IPv4' || !DNS_LABEL.test(namespace) || !DNS_LABEL.test(serviceName)) {
      continue;
    }
    const byPort = endpointsByService.get(`${namespace}/${serviceName}`) ?? new Map<string, Map<string, ProxyEndpoint>>();
    endpointsByService.set(`${namespace}/${serviceName}`, byPort);
    for (const slicePort of slice.ports ?? []) {
      const portName = slicePort.name ?? '';
      const protocol = (slicePort.protocol ?? 'TCP').toLowerCase();
      if (!validPort(slicePort.port) || (portName !== '' && !PORT_NAME.test(portName))) {
        continue;
      }
      const key = `${portName}/${protocol}`;
      const byAddress = byPort.get(key) ?? new Map<string, ProxyEndpoint>();
      byPort.set(key, byAddress);
      for (const endpoint of slice.endpoints ?? []) {
        const ready = endpoint.conditions?.ready !== false;
        const serving = endpoint.conditions?.serving ?? ready;
        const terminating = endpoint.conditions?.terminating === true;
        for (const address of endpoint.addresses ?? []) {
          if (!allowed(address)) {
            report(`endpoint slice ${namespace}/${slice.metadata?.name ?? '?'}: address ${JSON.stringify(address)} is not usable here`);
            continue;
          }
          const text = `${address}:${slicePort.port}`;
          if (!byAddress.has(text)) {
            byAddress.set(text, { ip: address, port: slicePort.port, nodeName: endpoint.nodeName, ready, serving, terminating });
          }
        }
      }
    }
  }

  const result: ProxyServicePort[] = [];
  const seen = new Set<string>();
  for (const service of services) {
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    const spec = service.spec;
    const clusterIP = spec?.clusterIP ?? '';
    if (!spec || spec.type === 'ExternalName' || clusterIP === '' || clusterIP === 'None') {
      continue;
    }
    if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name) || !allowed(clusterIP)) {
      report(`service ${JSON.stringify(`${namespace}/${name}`)}: name or clusterIP fails validation, no rules`);
      continue;
    }
    const externalIPs = (spec.externalIPs ?? []).filter(allowed);
    const loadBalancerIPs = (service.status?.loadBalancer?.ingress ?? []).map((ingress) => ingress.ip ?? '').filter(allowed);
    const loadBalancerSourceRanges = (spec.loadBalancerSourceRanges ?? []).filter(isCidrV4);
    for (const servicePort of spec.ports ?? []) {
      const portName = servicePort.name ?? '';
      const protocol = (servicePort.protocol ?? 'TCP').toLowerCase();
      if (!validPort(servicePort.port) || (portName !== '' && !PORT_NAME.test(portName)) || !['tcp', 'udp', 'sctp'].includes(protocol)) {
        report(`service ${namespace}/${name}: port ${JSON.stringify(portName)} fails validation, no rules`);
        continue;
      }
      const key = `${servicePortNameString(namespace, name, portName)}/${protocol}`;
      if (seen.has(key)) {
        // Two objects (or ports) with one name would write one chain twice and fail the restore.
        report(`service port ${key} appears twice; the first one wins`);
        continue;
      }
      seen.add(key);
      const endpoints = [...(endpointsByService.get(`${namespace}/${name}`)?.get(`${portName}/${protocol}`)?.values() ?? [])].sort((left, right) =>
        compareStrings(`${left.ip}:${left.port}`, `${right.ip}:${right.port}`),
      );
      result.push({
        namespace,
        name,
        portName,
        protocol,
        clusterIP,
        port: servicePort.port,
        nodePort: validPort(servicePort.nodePort) && (spec.type === 'NodePort' || spec.type === 'LoadBalancer') ? servicePort.nodePort : 0,
        healthCheckNodePort:
          spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && validPort(spec.healthCheckNodePort) ? spec.healthCheckNodePort : 0,
        externalIPs,
        loadBalancerIPs: spec.type === 'LoadBalancer' ? loadBalancerIPs : [],
        loadBalancerSourceRanges,
        externalPolicyLocal: spec.externalTrafficPolicy === 'Local',
        internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
        sessionAffinityClientIP: spec.sessionAffinity === 'ClientIP',
        stickyMaxAgeSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800,
        endpoints,
      });
    }
  }
  return result.sort((left, right) =>
    compareStrings(servicePortNameString(left.namespace, left.name, left.portName) + left.protocol, servicePortNameString(right.namespace, right.name, right.portName) + right.protocol),
  );
}

function compareStrings(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

export function externallyAccessible(port: ProxyServicePort): boolean {
  return port.nodePort !== 0 || port.loadBalancerIPs.length > 0 || port.externalIPs.length > 0;
}

export function externalPolicyLocal(port: ProxyServicePort): boolean {
  return externallyAccessible(port) && port.externalPolicyLocal;
}

export function usesClusterEndpoints(port: ProxyServicePort): boolean {
  return !port.internalPolicyLocal || (externallyAccessible(port) && !port.externalPolicyLocal);
}

export function usesLocalEndpoints(port: ProxyServicePort): boolean {
  return port.internalPolicyLocal || (externallyAccessible(port) && port.externalPolicyLocal);
}

export interface Categorized {
  readonly clusterEndpoints: readonly ProxyEndpoint[];
  readonly localEndpoints: readonly ProxyEndpoint[];
  readonly allReachable: readonly ProxyEndpoint[];
  readonly hasAnyEndpoints: boolean;
}

/** kube-proxy's CategorizeEndpoints without topology: ready first, serving-terminating as fallback. */
export function categorizeEndpoints(port: ProxyServicePort, nodeName: string): Categorized {
  let clusterEndpoints: ProxyEndpoint[] = [];
  let localEndpoints: ProxyEndpoint[] = [];
  let hasAnyEndpoints = false;
  if (usesClusterEndpoints(port)) {
    clusterEndpoints = port.endpoints.filter((endpoint) => endpoint.ready);
    if (clusterEndpoints.length === 0) {
      clusterEndpoints = port.endpoints.filter((endpoint) => endpoint.serving && endpoint.terminating);
    }
    hasAnyEndpoints = clusterEndpoints.length > 0;
  }
  if (!usesLocalEndpoints(port)) {
    return { clusterEndpoints, localEndpoints, allReachable: clusterEndpoints, hasAnyEndpoints };
  }
  let hasLocalReady = false;
  let hasLocalServingTerminating = false;
  for (const endpoint of port.endpoints) {
    const local = endpoint.nodeName === nodeName;
    if (endpoint.ready) {
      hasAnyEndpoints = true;
      hasLocalReady ||= local;
    } else if (endpoint.serving && endpoint.terminating) {
      hasAnyEndpoints = true;
      hasLocalServingTerminating ||= local;
    }
  }
  if (hasLocalReady) {
    localEndpoints = port.endpoints.filter((endpoint) => endpoint.nodeName === nodeName && endpoint.ready);
  } else if (hasLocalServingTerminating) {
    localEndpoints = port.endpoints.filter((endpoint) => endpoint.nodeName === nodeName && endpoint.serving && endpoint.terminating);
  }
  if (!usesClusterEndpoints(port)) {
    return { clusterEndpoints, localEndpoints, allReachable: localEndpoints, hasAnyEndpoints };
  }
  const merged = new Map<string, ProxyEndpoint>();
  for (const endpoint of [...clusterEndpoints, ...localEndpoints]) {
    merged.set(`${endpoint.ip}:${endpoint.port}`, endpoint);
  }
  return { clusterEndpoints, localEndpoints, allReachable: [...merged.values()], hasAnyEndpoints };
}

/** `fmt.Sprintf("%0.10f", 1.0/float64(n))`. */
function probability(count: number): string {
  return (1 / count).toFixed(10);
}

class LineBuffer {
  readonly lines: string[] = [];

  write(...parts: ReadonlyArray<string | readonly string[]>): void {
    this.lines.push(parts.flat().join(' '));
  }
}

function chainLine(chain: string): string {
  return `:${chain} - [0:0]`;
}

/** The restore text of one sync and the per-service nat chains it keeps. */
export interface KubeProxySync {
  /** `*filter … COMMIT *nat … COMMIT`, for `iptables-restore --noflush --counters`. */
  readonly text: string;
  readonly activeNatChains: ReadonlySet<string>;
}

/**
 * The text kube-proxy's syncProxyRules writes for one node, for a full sync. `staleChains`
 * are per-service nat chains written last time and no longer used: they get flushed and
 * deleted in the same transaction, as kube-proxy does.
 */
export function kubeProxyRestoreText(node: ProxyNode, servicePorts: readonly ProxyServicePort[], staleChains: Iterable<string> = []): KubeProxySync {
  const filterChains = new LineBuffer();
  const filterRules = new LineBuffer();
  const natChains = new LineBuffer();
  const natRules = new LineBuffer();
  const ifLocal = ['-s', node.podCIDR];
  const ifNotLocal = ['!', '-s', node.podCIDR];

  for (const chain of [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL]) {
    filterChains.write(chainLine(chain));
  }
  for (const chain of [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ]) {
    natChains.write(chainLine(chain));
  }
  natRules.write('-A', KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'RETURN');
  natRules.write('-A', KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', MASQUERADE_MARK);
  natRules.write('-A', KUBE_POSTROUTING, '-m', 'comment', '--comment', '"kubernetes service traffic requiring SNAT"', '-j', 'MASQUERADE', '--random-fully');
  natRules.write('-A', KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', MASQUERADE_MARK);

  // localhost NodePorts are on (the default): the anti-martian rule kubelet also writes.
  filterChains.write(chainLine(KUBE_FIREWALL));
  filterRules.write(
    '-A',
    KUBE_FIREWALL,
    '-m',
    'comment',
    '--comment',
    '"block incoming localnet connections"',
    '-d',
    '127.0.0.0/8',
    '!',
    '-s',
    '127.0.0.0/8',
    '-m',
    'conntrack',
    '!',
    '--ctstate',
    'RELATED,ESTABLISHED,DNAT',
    '-j',
    'DROP',
  );

  const activeNatChains = new Set<string>();
  const totalEndpoints = servicePorts.reduce((sum, port) => sum + port.endpoints.length, 0);
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const comment = (args: string[], text: string): string[] => (largeClusterMode ? args : [...args, '-m', 'comment', '--comment', text]);

  for (const port of servicePorts) {
    const protocol = port.protocol;
    const name = servicePortNameString(port.namespace, port.name, port.portName);
    const { clusterEndpoints, localEndpoints, allReachable, hasAnyEndpoints } = categorizeEndpoints(port, node.name);
    const clusterPolicyChain = serviceChainName(name, protocol);
    const localPolicyChain = serviceLocalChainName(name, protocol);
    const usesClusterPolicyChain = clusterEndpoints.length > 0 && usesClusterEndpoints(port);
    const usesLocalPolicyChain = localEndpoints.length > 0 && usesLocalEndpoints(port);

    let internalPolicyChain = clusterPolicyChain;
    let hasInternalEndpoints = hasAnyEndpoints;
    if (port.internalPolicyLocal) {
      internalPolicyChain = localPolicyChain;
      hasInternalEndpoints = localEndpoints.length > 0;
    }
    let externalPolicyChain = clusterPolicyChain;
    let hasExternalEndpoints = hasAnyEndpoints;
    if (externalPolicyLocal(port)) {
      externalPolicyChain = localPolicyChain;
      hasExternalEndpoints = localEndpoints.length > 0;
    }
    const externalTrafficChain = serviceExternalChainName(name, protocol);
    const usesExternalTrafficChain = hasAnyEndpoints && externallyAccessible(port);
    const firewallChain = serviceFirewallChainName(name, protocol);
    const usesFirewallChain = hasAnyEndpoints && port.loadBalancerIPs.length > 0 && port.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFirewallChain ? firewallChain : externalTrafficChain;

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasAnyEndpoints) {
      internalFilterTarget = 'REJECT';
      internalFilterComment = `"${name} has no endpoints"`;
      externalFilterTarget = 'REJECT';
      externalFilterComment = internalFilterComment;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = `"${name} has no local endpoints"`;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = `"${name} has no local endpoints"`;
      }
    }
    const portArgs = ['-m', protocol, '-p', protocol];

    // Capture the clusterIP.
    if (hasInternalEndpoints) {
      natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${name} cluster IP"`, portArgs, '-d', port.clusterIP, '--dport', String(port.port), '-j', internalPolicyChain);
    } else {
      filterRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', internalFilterComment, portArgs, '-d', port.clusterIP, '--dport', String(port.port), '-j', internalFilterTarget);
    }

    // Capture externalIPs.
    for (const externalIP of port.externalIPs) {
      if (hasAnyEndpoints) {
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${name} external IP"`, portArgs, '-d', externalIP, '--dport', String(port.port), '-j', externalTrafficChain);
      }
      if (!hasExternalEndpoints) {
        filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, portArgs, '-d', externalIP, '--dport', String(port.port), '-j', externalFilterTarget);
      }
    }

    // Capture load-balancer ingress.
    for (const address of port.loadBalancerIPs) {
      if (hasAnyEndpoints) {
        natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', `"${name} loadbalancer IP"`, portArgs, '-d', address, '--dport', String(port.port), '-j', loadBalancerTrafficChain);
      }
      if (usesFirewallChain) {
        filterRules.write('-A', KUBE_PROXY_FIREWALL, '-m', 'comment', '--comment', `"${name} traffic not accepted by ${firewallChain}"`, portArgs, '-d', address, '--dport', String(port.port), '-j', 'DROP');
      }
    }
    if (!hasExternalEndpoints) {
      for (const address of port.loadBalancerIPs) {
        filterRules.write('-A', KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', externalFilterComment, portArgs, '-d', address, '--dport', String(port.port), '-j', externalFilterTarget);
      }
    }

    // Capture nodeports.
    if (port.nodePort !== 0) {
      if (hasAnyEndpoints) {
        natRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', name, portArgs, '--dport', String(port.nodePort), '-j', externalTrafficChain);
      }
      if (!hasExternalEndpoints) {
        filterRules.write(
          '-A',
          KUBE_EXTERNAL_SERVICES,
          '-m',
          'comment',
          '--comment',
          externalFilterComment,
          '-m',
          'addrtype',
          '--dst-type',
          'LOCAL',
          portArgs,
          '--dport',
          String(port.nodePort),
          '-j',
          externalFilterTarget,
        );
      }
    }

    // Capture healthCheckNodePorts.
    if (port.healthCheckNodePort !== 0) {
      filterRules.write('-A', KUBE_NODEPORTS, '-m', 'comment', '--comment', `"${name} health check node port"`, '-m', 'tcp', '-p', 'tcp', '--dport', String(port.healthCheckNodePort), '-j', 'ACCEPT');
    }

    // Internal traffic: masquerade what comes from outside this node's pod CIDR.
    if (hasInternalEndpoints) {
      natRules.write('-A', internalPolicyChain, '-m', 'comment', '--comment', `"${name} cluster IP"`, portArgs, '-d', port.clusterIP, '--dport', String(port.port), ifNotLocal, '-j', KUBE_MARK_MASQ);
    }

    // External traffic chain.
    if (usesExternalTrafficChain) {
      natChains.write(chainLine(externalTrafficChain));
      activeNatChains.add(externalTrafficChain);
      if (!externalPolicyLocal(port)) {
        natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"masquerade traffic for ${name} external destinations"`, '-j', KUBE_MARK_MASQ);
      } else {
        natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"pod traffic for ${name} external destinations"`, ifLocal, '-j', clusterPolicyChain);
        natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"masquerade LOCAL traffic for ${name} external destinations"`, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
        natRules.write('-A', externalTrafficChain, '-m', 'comment', '--comment', `"route LOCAL traffic for ${name} external destinations"`, '-m', 'addrtype', '--src-type', 'LOCAL', '-j', clusterPolicyChain);
      }
      if (hasExternalEndpoints) {
        natRules.write('-A', externalTrafficChain, '-j', externalPolicyChain);
      }
    }

    // Firewall chain (loadBalancerSourceRanges).
    if (usesFirewallChain) {
      natChains.write(chainLine(firewallChain));
      activeNatChains.add(firewallChain);
      const args = ['-A', firewallChain, '-m', 'comment', '--comment', `"${name} loadbalancer IP"`];
      let allowFromNode = false;
      for (const range of port.loadBalancerSourceRanges) {
        natRules.write(args, '-s', range, '-j', externalTrafficChain);
        allowFromNode ||= cidrContains(range, node.internalIP);
      }
      if (allowFromNode) {
        for (const address of port.loadBalancerIPs) {
          natRules.write(args, '-s', address, '-j', externalTrafficChain);
        }
      }
      natRules.write('-A', firewallChain, '-m', 'comment', '--comment', `"other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL"`);
    }

    if (usesClusterPolicyChain) {
      natChains.write(chainLine(clusterPolicyChain));
      activeNatChains.add(clusterPolicyChain);
      writeServiceToEndpointRules(natRules, name, port, clusterPolicyChain, clusterEndpoints, comment);
    }
    if (usesLocalPolicyChain) {
      natChains.write(chainLine(localPolicyChain));
      activeNatChains.add(localPolicyChain);
      writeServiceToEndpointRules(natRules, name, port, localPolicyChain, localEndpoints, comment);
    }

    // Per-endpoint chains.
    for (const endpoint of allReachable) {
      const text = `${endpoint.ip}:${endpoint.port}`;
      const chain = endpointChainName(name, protocol, text);
      natChains.write(chainLine(chain));
      activeNatChains.add(chain);
      let args = comment(['-A', chain], name);
      // Hairpin: a pod reaching itself through the service gets SNATed.
      natRules.write(args, '-s', endpoint.ip, '-j', KUBE_MARK_MASQ);
      if (port.sessionAffinityClientIP) {
        args = [...args, '-m', 'recent', '--name', chain, '--set'];
      }
      natRules.write(args, portArgs, '-j', 'DNAT', '--to-destination', text);
    }
  }

  // Stale per-service chains: a chain line flushes, -X deletes.
  for (const chain of staleChains) {
    if (!activeNatChains.has(chain) && isServiceChainName(chain)) {
      natChains.write(chainLine(chain));
      natRules.write('-X', chain);
    }
  }

  // The tail call to the nodeports chain, after all other service portal rules.
  natRules.write('-A', KUBE_SERVICES, '-m', 'comment', '--comment', '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', KUBE_NODEPORTS);

  filterRules.write('-A', KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', '"kubernetes forwarding rules"', '-m', 'mark', '--mark', `${MASQUERADE_MARK}/${MASQUERADE_MARK}`, '-j', 'ACCEPT');
  filterRules.write('-A', KUBE_FORWARD, '-m', 'comment', '--comment', '"kubernetes forwarding conntrack rule"', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');

  const text = [
    '*filter',
    ...filterChains.lines,
    ...filterRules.lines,
    'COMMIT',
    '*nat',
    ...natChains.lines,
    ...natRules.lines,
    'COMMIT',
    '',
  ].join('\n');
  return { text, activeNatChains };
}

function writeServiceToEndpointRules(
  natRules: LineBuffer,
  name: string,
  port: ProxyServicePort,
  chain: string,
  endpoints: readonly ProxyEndpoint[],
  comment: (args: string[], text: string) => string[],
): void {
  if (port.sessionAffinityClientIP) {
    for (const endpoint of endpoints) {
      const text = `${endpoint.ip}:${endpoint.port}`;
      const endpointChain = endpointChainName(name, port.protocol, text);
      natRules.write(comment(['-A', chain], `"${name} -> ${text}"`), '-m', 'recent', '--name', endpointChain, '--rcheck', '--seconds', String(port.stickyMaxAgeSeconds), '--reap', '-j', endpointChain);
    }
  }
  endpoints.forEach((endpoint, index) => {
    const text = `${endpoint.ip}:${endpoint.port}`;
    let args = comment(['-A', chain], `"${name} -> ${text}"`);
    if (index < endpoints.length - 1) {
      args = [...args, '-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - index)];
    }
    natRules.write(args, '-j', endpointChainName(name, port.protocol, text));
  });
}

function ipv4ToNumber(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function cidrContains(cidr: string, address: string): boolean {
  const [network, bitsText] = cidr.split('/');
  if (network === undefined || bitsText === undefined || !isIPv4(network) || !isIPv4(address)) {
    return false;
  }
  const bits = Number(bitsText);
  if (bits === 0) {
    return true;
  }
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4ToNumber(network) / size) === Math.floor(ipv4ToNumber(address) / size);
}

/**
 * What exists on a node before kube-proxy's first sync: the built-in chains with the jumps
 * kubelet and kube-proxy insert (each "ensured" by prepending, hence the order), and their
 * canary chains. Applied once, as a full restore, when the node is built.
 */
export function nodeBaseRestoreText(): string {
  const lines: string[] = [];
  lines.push('*mangle', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]');
  lines.push(chainLine(KUBE_KUBELET_CANARY), chainLine(KUBE_PROXY_CANARY), 'COMMIT');
  lines.push('*filter', ':INPUT ACCEPT [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]');
  for (const chain of [KUBE_EXTERNAL_SERVICES, KUBE_FIREWALL, KUBE_FORWARD, KUBE_KUBELET_CANARY, KUBE_NODEPORTS, KUBE_PROXY_CANARY, KUBE_PROXY_FIREWALL, KUBE_SERVICES]) {
    lines.push(chainLine(chain));
  }
  const newOnly = '-m conntrack --ctstate NEW';
  lines.push(
    `-A INPUT ${newOnly} -m comment --comment "kubernetes load balancer firewall" -j ${KUBE_PROXY_FIREWALL}`,
    `-A INPUT -m comment --comment "kubernetes health check service ports" -j ${KUBE_NODEPORTS}`,
    `-A INPUT ${newOnly} -m comment --comment "kubernetes externally-visible service portals" -j ${KUBE_EXTERNAL_SERVICES}`,
    `-A INPUT -j ${KUBE_FIREWALL}`,
    `-A FORWARD ${newOnly} -m comment --comment "kubernetes load balancer firewall" -j ${KUBE_PROXY_FIREWALL}`,
    `-A FORWARD -m comment --comment "kubernetes forwarding rules" -j ${KUBE_FORWARD}`,
    `-A FORWARD ${newOnly} -m comment --comment "kubernetes service portals" -j ${KUBE_SERVICES}`,
    `-A FORWARD ${newOnly} -m comment --comment "kubernetes externally-visible service portals" -j ${KUBE_EXTERNAL_SERVICES}`,
    `-A OUTPUT ${newOnly} -m comment --comment "kubernetes load balancer firewall" -j ${KUBE_PROXY_FIREWALL}`,
    `-A OUTPUT ${newOnly} -m comment --comment "kubernetes service portals" -j ${KUBE_SERVICES}`,
    `-A OUTPUT -j ${KUBE_FIREWALL}`,
    'COMMIT',
  );
  lines.push('*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]');
  for (const chain of [KUBE_KUBELET_CANARY, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_PROXY_CANARY, KUBE_SERVICES]) {
    lines.push(chainLine(chain));
  }
  lines.push(
    `-A PREROUTING -m comment --comment "kubernetes service portals" -j ${KUBE_SERVICES}`,
    `-A OUTPUT -m comment --comment "kubernetes service portals" -j ${KUBE_SERVICES}`,
    `-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j ${KUBE_POSTROUTING}`,
    'COMMIT',
    '',
  );
  return lines.join('\n');
}

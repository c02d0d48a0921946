/**
 * IPVS backends of a node (kube-proxy's IPVS mode): `ipvsadm -Ln` (or `-t`/`-u VIP:port` for
 * one service) parsed, each virtual server mapped to its service port, each real server to
 * the pod holding its address, compared with the EndpointSlices. A node in another mode gets
 * a plain "not in IPVS mode" result, not an error.
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { parseIpvsadm } from '../parsers/ipvsadm.js';
import type { IpvsService } from '../parsers/ipvsadm.js';
import { apiFailure } from '../node/kubeStatus.js';
import { DiagnosticError, splitSections } from './context.js';
import type { DiagnosticContext, DiagnosticOptions } from './context.js';
import { findPodsByAddress, hostPort, podBrief, readService, readServiceSlices, requireNodeName, sliceEndpointsForPort } from './cluster.js';
import type { PodBrief, ServiceRef, SliceEndpoint } from './cluster.js';
import { detectDataPlane } from './dataPlane.js';
import type { DataPlaneInfo, ProxyMode } from './dataPlane.js';
import { commandLine, kubectlDebugNodeCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';

/** How a real server compares with the EndpointSlices. */
export type RealServerStatus =
  /** Ready in the slices. */
  | 'ok'
  /** In no slice and weight > 0: stale. */
  | 'stale'
  /** In the slices but not ready, weight > 0. */
  | 'not-ready'
  /** Weight 0: kube-proxy's graceful termination keeps it for existing connections only. */
  | 'draining'
  /** The virtual server belongs to no known service port, so there is nothing to compare with. */
  | 'unmapped';

export interface IpvsRealServerView {
  readonly address: string;
  readonly port: number | null;
  readonly forward: string | null;
  readonly weight: number | null;
  readonly activeConn: number | null;
  readonly inactConn: number | null;
  readonly pod: PodBrief | null;
  readonly slice: SliceEndpoint | null;
  readonly status: RealServerStatus;
}

export type VirtualServerKind = 'cluster-ip' | 'node-port' | 'external-ip' | 'load-balancer' | 'unknown';

export interface IpvsFlag {
  readonly code: 'stale-real-server' | 'missing-real-server' | 'not-ready-real-server' | 'no-real-servers' | 'missing-virtual-server' | 'session-affinity' | 'draining';
  readonly severity: 'error' | 'warning' | 'info';
  readonly message: string;
  /** `PROTO VIP:PORT` of the virtual server. */
  readonly virtualServer?: string;
}

export interface IpvsVirtualServerView {
  readonly protocol: string;
  readonly vip: string | null;
  readonly port: number | null;
  readonly scheduler: string | null;
  readonly flags: string[];
  /** Seconds of `persistent N` (ClientIP session affinity). */
  readonly persistence: number | null;
  readonly kind: VirtualServerKind;
  /** The service port it serves. */
  readonly service: { readonly namespace: string; readonly name: string; readonly portName: string | null } | null;
  readonly realServers: IpvsRealServerView[];
  /** Usable endpoints of the service port without a real server. */
  readonly missing: SliceEndpoint[];
  readonly issues: IpvsFlag[];
}

/** The cluster side of the mapping. */
export interface IpvsClusterView {
  readonly services: readonly V1Service[];
  readonly slices: readonly V1EndpointSlice[];
  readonly podsByAddress: ReadonlyMap<string, V1Pod>;
  /** The node's own addresses (NodePort virtual servers use them). */
  readonly nodeAddresses?: readonly string[];
  /** The node's name (for services with a Local traffic policy). */
  readonly nodeName?: string;
}

function serviceKey(service: V1Service): string {
  return `${service.metadata?.namespace ?? ''}/${service.metadata?.name ?? ''}`;
}

function slicesOf(slices: readonly V1EndpointSlice[], service: V1Service): V1EndpointSlice[] {
  return slices.filter((slice) => slice.metadata?.namespace === service.metadata?.namespace && slice.metadata?.labels?.['kubernetes.io/service-name'] === service.metadata?.name);
}

/** The service port a virtual server serves, and how it reaches it. */
export interface PortMatch {
  readonly service: V1Service;
  readonly port: V1ServicePort;
  readonly kind: VirtualServerKind;
}

/** The service port a virtual server serves, if any. */
export function matchVirtualServer(virtualServer: IpvsService, services: readonly V1Service[], nodeAddresses: readonly string[] = []): PortMatch | null {
  const protocol = virtualServer.protocol.toUpperCase();
  if (virtualServer.vip === null || virtualServer.port === null || protocol === 'FWM') {
    return null;
  }
  for (const service of services) {
    for (const port of service.spec?.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== protocol) {
        continue;
      }
      const clusterIPs = service.spec?.clusterIPs ?? (service.spec?.clusterIP ? [service.spec.clusterIP] : []);
      if (port.port === virtualServer.port && clusterIPs.includes(virtualServer.vip)) {
        return { service, port, kind: 'cluster-ip' };
      }
      if (port.port === virtualServer.port && (service.spec?.externalIPs ?? []).includes(virtualServer.vip)) {
        return { service, port, kind: 'external-ip' };
      }
      if (port.port === virtualServer.port && (service.status?.loadBalancer?.ingress ?? []).some((item) => item.ip === virtualServer.vip)) {
        return { service, port, kind: 'load-balancer' };
      }
    }
  }
  // NodePorts: any local address (all of them unless the node's are known).
  for (const service of services) {
    for (const port of service.spec?.ports ?? []) {
      if ((port.protocol ?? 'TCP') === protocol && port.nodePort !== undefined && port.nodePort === virtualServer.port && (nodeAddresses.length === 0 || nodeAddresses.includes(virtualServer.vip))) {
        return { service, port, kind: 'node-port' };
      }
    }
  }
  return null;
}

/** Maps parsed IPVS virtual servers to services, pods and slices. Pure. */
export function mapIpvsServices(virtualServers: readonly IpvsService[], cluster: IpvsClusterView): { virtualServers: IpvsVirtualServerView[]; flags: IpvsFlag[] } {
  const views: IpvsVirtualServerView[] = [];
  const flags: IpvsFlag[] = [];
  for (const virtualServer of virtualServers) {
    const label = `${virtualServer.protocol} ${virtualServer.vip !== null ? hostPort(virtualServer.vip, virtualServer.port) : `fwmark ${virtualServer.fwmark ?? '?'}`}`;
    const match = matchVirtualServer(virtualServer, cluster.services, cluster.nodeAddresses);
    const issues: IpvsFlag[] = [];
    const issue = (code: IpvsFlag['code'], severity: IpvsFlag['severity'], message: string): void => {
      issues.push({ code, severity, message, virtualServer: label });
    };
    const sliceEndpoints = match === null ? [] : sliceEndpointsForPort(slicesOf(cluster.slices, match.service), match.port);
    const ready = sliceEndpoints.filter((endpoint) => endpoint.ready);
    let usable = ready.length > 0 ? ready : sliceEndpoints.filter((endpoint) => endpoint.serving && endpoint.terminating);
    const localPolicy = match !== null && (match.kind === 'cluster-ip' ? match.service.spec?.internalTrafficPolicy === 'Local' : match.service.spec?.externalTrafficPolicy === 'Local');
    if (localPolicy && cluster.nodeName !== undefined) {
      // A Local traffic policy: only this node's endpoints are real servers.
      usable = usable.filter((endpoint) => endpoint.nodeName === cluster.nodeName);
    }
    const realServers: IpvsRealServerView[] = virtualServer.realServers.map((server) => {
      const slice = sliceEndpoints.find((endpoint) => endpoint.address === server.address && (server.port === null || endpoint.port === null || endpoint.port === server.port)) ?? null;
      const pod = cluster.podsByAddress.get(server.address);
      let status: RealServerStatus;
      if (match === null) {
        status = 'unmapped';
      } else if (server.weight === 0) {
        status = 'draining';
      } else if (slice === null) {
        status = 'stale';
      } else if (slice.ready || (slice.serving && slice.terminating && ready.length === 0)) {
        status = 'ok';
      } else {
        status = 'not-ready';
      }
      return { address: server.address, port: server.port, forward: server.forward, weight: server.weight, activeConn: server.activeConn, inactConn: server.inactConn, pod: pod === undefined ? null : podBrief(pod), slice, status };
    });
    const present = new Set(realServers.map((server) => hostPort(server.address, server.port)));
    const missing = match === null ? [] : usable.filter((endpoint) => !present.has(hostPort(endpoint.address, endpoint.port)) && !realServers.some((server) => server.address === endpoint.address && server.port === null));
    const service = match === null ? null : { namespace: match.service.metadata?.namespace ?? '', name: match.service.metadata?.name ?? '', portName: match.port.name ?? null };
    const serviceLabel = service === null ? '' : ` (${service.namespace}/${service.name}${service.portName !== null ? `:${service.portName}` : ''})`;
    for (const server of realServers) {
      const where = hostPort(server.address, server.port);
      if (server.status === 'stale') {
        issue('stale-real-server', 'error', `Real server ${where} of ${label}${serviceLabel} is in no EndpointSlice${server.pod !== null ? ` (pod ${server.pod.namespace}/${server.pod.name} holds that IP now)` : ''}: IPVS still sends new connections to it.`);
      } else if (server.status === 'not-ready') {
        issue('not-ready-real-server', 'error', `Real server ${where} of ${label}${serviceLabel} is not ready in its EndpointSlice but still has weight ${server.weight ?? '?'}.`);
      } else if (server.status === 'draining') {
        issue('draining', 'info', `Real server ${where} of ${label} has weight 0: kube-proxy is draining it (graceful termination); it keeps its ${server.activeConn ?? 0} active connection(s) and gets no new ones.`);
      }
    }
    for (const endpoint of missing) {
      issue('missing-real-server', 'error', `${hostPort(endpoint.address, endpoint.port)}${endpoint.pod !== null ? ` (pod ${endpoint.pod.namespace}/${endpoint.pod.name})` : ''} is ready in the EndpointSlices of${serviceLabel || ' the service'} but is not a real server of ${label}.`);
    }
    if (virtualServer.realServers.length === 0) {
      issue('no-real-servers', usable.length > 0 ? 'error' : 'warning', `${label}${serviceLabel} has no real servers: connections to it ${usable.length > 0 ? 'fail although the slices list endpoints' : 'fail (the service has no ready endpoints)'}.`);
    }
    if (virtualServer.flags.includes('persistent')) {
      issue('session-affinity', 'info', `${label} is persistent for ${virtualServer.persistence ?? '?'} s: ClientIP session affinity.`);
    }
    flags.push(...issues);
    views.push({
      protocol: virtualServer.protocol,
      vip: virtualServer.vip,
      port: virtualServer.port,
      scheduler: virtualServer.scheduler,
      flags: virtualServer.flags,
      persistence: virtualServer.persistence ?? null,
      kind: match?.kind ?? 'unknown',
      service,
      realServers,
      missing,
      issues,
    });
  }
  flags.sort((a, b) => ({ error: 0, warning: 1, info: 2 })[a.severity] - ({ error: 0, warning: 1, info: 2 })[b.severity]);
  return { virtualServers: views, flags };
}

/** The node is in IPVS mode: its virtual servers. */
export interface IpvsBackendsResult {
  readonly kind: 'ipvs';
  readonly node: string;
  readonly service: ServiceRef | null;
  readonly dataPlane: DataPlaneInfo;
  readonly virtualServers: IpvsVirtualServerView[];
  readonly flags: IpvsFlag[];
  /** ipvsadm's output as printed (cluster text). */
  readonly raw: string;
  readonly notes: string[];
  readonly problems: string[];
  readonly manualCommands: ManualCommand[];
}

/** The node is not in IPVS mode: says which mode it is in, and what to use instead. */
export interface NotIpvsModeResult {
  readonly kind: 'not-ipvs';
  readonly node: string;
  readonly service: ServiceRef | null;
  readonly mode: ProxyMode;
  readonly dataPlane: DataPlaneInfo;
  readonly message: string;
  /** The diagnostic for the node's real mode: the service path (iptables, nftables) or the rules. */
  readonly suggestion: { readonly action: 'trace' | 'rules' | 'none'; readonly mode: ProxyMode; readonly command: string | null };
  readonly manualCommands: ManualCommand[];
}

export type IpvsResult = IpvsBackendsResult | NotIpvsModeResult;

/** Words for a data plane's mode, as the "not in IPVS mode" message says it. */
export function describeMode(dataPlane: DataPlaneInfo): string {
  const source = dataPlane.proxyModeSource === 'proxyMode-endpoint' ? "(kube-proxy's /proxyMode says so)" : dataPlane.proxyModeSource === 'rules' ? '(from the rules found)' : '';
  switch (dataPlane.proxyMode) {
    case 'iptables':
      return `kube-proxy runs in iptables mode ${source}, its chains in the ${dataPlane.kubeChainsIn === 'legacy' ? 'legacy' : dataPlane.kubeChainsIn === 'both' ? 'nf_tables and legacy' : 'nf_tables'} backend`.trim();
    case 'nftables':
      return `kube-proxy runs in nftables mode ${source} (table ip kube-proxy)`.trim();
    case 'kernelspace':
      return 'kube-proxy runs in kernelspace mode (Windows)';
    case 'none':
      return dataPlane.replacedBy !== null ? `kube-proxy does not run there; services are handled by ${dataPlane.replacedBy}` : 'kube-proxy does not run there';
    case 'unknown':
      return 'its data plane could not be determined';
    case 'ipvs':
      return 'kube-proxy runs in IPVS mode';
  }
}

/**
 * ipvsadm for the whole table (no arguments) or per virtual server (`t|u|s VIP:PORT` pairs),
 * each in a section; only when ip_vs is loaded (ipvsadm would otherwise load the module).
 */
export const IPVS_SCRIPT = String.raw`proc="$1"; shift
if [ ! -e "$proc" ]; then echo "ip_vs is not loaded" >&2; exit 3; fi
if ! command -v ipvsadm >/dev/null 2>&1; then echo "ipvsadm is not in the debug image" >&2; exit 127; fi
if [ "$#" -eq 0 ]; then echo "@@kni:all@@"; ipvsadm -Ln 2>&1; echo "@@kni:exit=$?@@"; exit 0; fi
while [ "$#" -ge 2 ]; do
  echo "@@kni:$1 $2@@"
  case "$1" in
    t) ipvsadm -Ln -t "$2" 2>&1 ;;
    u) ipvsadm -Ln -u "$2" 2>&1 ;;
    s) ipvsadm -Ln --sctp-service "$2" 2>&1 ;;
    all) ipvsadm -Ln 2>&1 ;;
  esac
  echo "@@kni:exit=$?@@"
  shift 2
done
`;

/** The kernel's IPVS table; it exists only while the ip_vs module is loaded. */
export const IPVS_PROC_FILE = '/proc/net/ip_vs';

/**
 * The argv of {@link IPVS_SCRIPT}: the whole table, or the given virtual servers (and the
 * whole table too with `includeAll`). Another file than {@link IPVS_PROC_FILE} is for tests.
 */
export function ipvsArgv(virtualServers: readonly { protocol: string; vip: string; port: number }[] = [], includeAll = false, procFile: string = IPVS_PROC_FILE): string[] {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(procFile) || procFile.split('/').includes('..')) {
    throw new RangeError(`not a plain absolute path: ${JSON.stringify(procFile)}`);
  }
  const words: string[] = [];
  for (const item of virtualServers) {
    const flag = { tcp: 't', udp: 'u', sctp: 's' }[item.protocol.toLowerCase()];
    if (flag === undefined || isIP(item.vip) === 0 || !Number.isInteger(item.port) || item.port < 1 || item.port > 65535) {
      throw new RangeError(`not a virtual server: ${JSON.stringify(item)}`);
    }
    words.push(flag, hostPort(item.vip, item.port));
  }
  if (includeAll && words.length > 0) {
    words.push('all', '-');
  }
  return ['sh', '-c', IPVS_SCRIPT, 'kni-ipvs', procFile, ...words];
}

/** "IPVS backends" of a node, optionally only one service's virtual servers. */
export async function ipvsBackends(context: DiagnosticContext, node: string, options: DiagnosticOptions & { readonly service?: ServiceRef; readonly dataPlane?: DataPlaneInfo } = {}): Promise<IpvsResult> {
  requireNodeName(node);
  const ref = options.service ?? null;
  const service = ref === null ? null : await readService(context, ref);
  const dataPlane = options.dataPlane ?? (await detectDataPlane(context, node, options));
  const image = context.runner.debugImage();
  if (dataPlane.proxyMode !== 'ipvs') {
    const traceable = dataPlane.proxyMode === 'iptables' || dataPlane.proxyMode === 'nftables';
    const action = traceable ? (ref !== null ? 'trace' : 'rules') : 'none';
    const command = action === 'trace' && ref !== null ? commandLine('kube-net-inspector', 'trace', `${ref.namespace}/${ref.name}`, '--node', node) : action === 'rules' ? commandLine('kube-net-inspector', 'rules', node) : null;
    const leftovers = dataPlane.ipvs.virtualServers > 0 ? ` IPVS holds ${dataPlane.ipvs.virtualServers} virtual servers anyway (leftovers).` : '';
    return {
      kind: 'not-ipvs',
      node,
      service: ref,
      mode: dataPlane.proxyMode,
      dataPlane,
      message: `Node ${node} is not in IPVS mode: ${describeMode(dataPlane)}. ${dataPlane.ipvs.available ? '' : 'IPVS is not available there (the ip_vs module is not loaded).'}${leftovers}${traceable ? ` Use ${ref !== null ? '"Trace service path"' : '"Show rules"'} for the ${dataPlane.proxyMode} mode instead.` : ''}`.replace(/\s+/g, ' ').trim(),
      suggestion: { action, mode: dataPlane.proxyMode, command },
      manualCommands: [kubectlDebugNodeCommand(node, image), ...dataPlane.manualCommands.filter((item) => item.where === 'node' && item.command.includes('proxyMode'))],
    };
  }

  const wanted: { protocol: string; vip: string; port: number }[] = [];
  let needAll = ref === null;
  if (service !== null) {
    for (const port of service.spec?.ports ?? []) {
      const addresses = [...(service.spec?.clusterIPs ?? (service.spec?.clusterIP ? [service.spec.clusterIP] : [])), ...(service.spec?.externalIPs ?? []), ...(service.status?.loadBalancer?.ingress ?? []).map((item) => item.ip ?? '')];
      for (const vip of addresses.filter((address) => isIP(address) !== 0)) {
        wanted.push({ protocol: port.protocol ?? 'TCP', vip, port: port.port });
      }
      if (port.nodePort !== undefined) {
        needAll = true;
      }
    }
  }
  const argv = ref === null ? ipvsArgv() : ipvsArgv(wanted, needAll);
  const result = await context.runner.run(node, argv, { signal: options.signal, onProgress: options.onProgress, timeoutMs: 60_000, maxBufferBytes: 64 * 1024 * 1024 });
  if (result.exitCode === 127) {
    throw new DiagnosticError('tool-missing', `ipvsadm is not in the debug image ${image}. Use an image with ipvsadm (setting kubeNet.debugPod.image).`);
  }
  if (result.exitCode === 3) {
    throw new DiagnosticError('command-failed', `kube-proxy on node ${node} says IPVS mode, but the ip_vs module is not loaded: IPVS holds nothing.`);
  }
  const sections = splitSections(result.stdout);
  const problems: string[] = [];
  const notes: string[] = [];
  const parsed: IpvsService[] = [];
  const seen = new Set<string>();
  for (const section of sections) {
    const read = parseIpvsadm(section.text);
    problems.push(...read.problems.slice(0, 20).map((problem) => `ipvsadm (${section.name}), line ${problem.line}: ${problem.reason}`));
    if (section.exitCode !== 0 && section.name !== 'all') {
      continue;
    }
    for (const item of read.value) {
      const key = `${item.protocol} ${item.vip ?? ''} ${item.port ?? ''} ${item.fwmark ?? ''}`;
      if (!seen.has(key)) {
        seen.add(key);
        parsed.push(item);
      }
    }
  }

  let services: V1Service[];
  let slices: V1EndpointSlice[];
  if (service !== null && ref !== null) {
    services = [service];
    slices = await readServiceSlices(context, ref);
  } else {
    try {
      services = (await context.core.listServiceForAllNamespaces()).items;
      slices = (await context.discovery.listEndpointSliceForAllNamespaces()).items;
    } catch (error) {
      throw new DiagnosticError('api', `Could not list services and EndpointSlices: ${apiFailure(error).message}`);
    }
  }
  let nodeAddresses: string[] = [];
  try {
    nodeAddresses = ((await context.core.readNode({ name: node })).status?.addresses ?? []).map((item) => item.address).filter((address) => isIP(address) !== 0);
  } catch (error) {
    context.logger.warn(`[Ipvs] could not read node ${node}: ${apiFailure(error).message}`);
  }
  const addresses = new Set<string>();
  for (const item of parsed) {
    for (const server of item.realServers) {
      addresses.add(server.address);
    }
  }
  for (const item of services) {
    for (const port of item.spec?.ports ?? []) {
      for (const endpoint of sliceEndpointsForPort(slicesOf(slices, item), port)) {
        addresses.add(endpoint.address);
      }
    }
  }
  const podsByAddress = await findPodsByAddress(context, addresses, ref?.namespace);
  let mapped = mapIpvsServices(parsed, { services, slices, podsByAddress, nodeAddresses, nodeName: node });
  if (service !== null) {
    const own = mapped.virtualServers.filter((item) => item.service !== null && item.service.namespace === ref?.namespace && item.service.name === ref.name);
    mapped = { virtualServers: own, flags: own.flatMap((item) => item.issues) };
    for (const item of wanted) {
      if (!own.some((view) => view.vip === item.vip && view.port === item.port && view.protocol.toUpperCase() === item.protocol.toUpperCase())) {
        mapped.flags.unshift({ code: 'missing-virtual-server', severity: 'error', message: `IPVS on node ${node} has no virtual server ${item.protocol} ${hostPort(item.vip, item.port)} for ${serviceKey(service)}: kube-proxy has not programmed it.`, virtualServer: `${item.protocol} ${hostPort(item.vip, item.port)}` });
      }
    }
  }
  const unmapped = mapped.virtualServers.filter((item) => item.kind === 'unknown').length;
  if (unmapped > 0) {
    notes.push(`${unmapped} virtual server(s) belong to no service known to the API (stale, or another component's).`);
  }
  const manualCommands: ManualCommand[] = [kubectlDebugNodeCommand(node, image), { where: 'node', description: 'Every IPVS virtual server and its real servers', command: commandLine('ipvsadm', '-Ln') }];
  for (const item of wanted) {
    manualCommands.push({ where: 'node', description: `Virtual server ${item.protocol} ${hostPort(item.vip, item.port)}`, command: commandLine('ipvsadm', '-Ln', item.protocol.toUpperCase() === 'UDP' ? '-u' : '-t', hostPort(item.vip, item.port)) });
  }
  return {
    kind: 'ipvs',
    node,
    service: ref,
    dataPlane,
    virtualServers: mapped.virtualServers,
    flags: mapped.flags,
    raw: sections.map((section) => section.text).join('\n'),
    notes,
    problems,
    manualCommands,
  };
}


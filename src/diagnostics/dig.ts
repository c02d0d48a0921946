import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { parseDig } from '../parsers/dig.js';
import type { DigResult } from '../parsers/dig.js';
import { parseResolvConf } from '../parsers/resolvConf.js';
import type { ResolvConf } from '../parsers/resolvConf.js';
import { findContainerPid } from '../node/containerPid.js';
import { apiFailure } from '../node/kubeStatus.js';
import { DiagnosticError, readPod, requireRunningOnNode, splitSections, summarizePod } from './context.js';
import type { DiagnosticContext, DiagnosticOptions, PodRef, PodSummary } from './context.js';
import { commandLine, crictlPidCommand, kubectlDebugNodeCommand, nsenterCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';
import type { PidInfo } from './veth.js';

/** Query types the dig diagnostic accepts. */
export const DIG_QUERY_TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'CNAME', 'TXT', 'MX', 'NS', 'SOA', 'ANY'] as const;
export type DigQueryType = (typeof DIG_QUERY_TYPES)[number];

/** How many DNS endpoints are queried directly, besides the ClusterIP. */
export const MAX_DNS_ENDPOINTS = 6;

/** The cluster DNS service as found in the API. */
export interface DnsServiceInfo {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  /** The UDP DNS port of the service (53 unless someone changed it). */
  readonly port: number;
}

/** One DNS backend (a CoreDNS pod) from the service's EndpointSlices. */
export interface DnsEndpoint {
  readonly address: string;
  readonly port: number;
  readonly ready: boolean;
  readonly podName: string | null;
  readonly nodeName: string | null;
}

export type DigOutcome = 'answer' | 'no-data' | 'nxdomain' | 'servfail' | 'refused' | 'timeout' | 'error';

/** One dig from inside the pod's namespace against one server. */
export interface DigQuery {
  readonly target: 'cluster-ip' | 'endpoint';
  readonly server: string;
  readonly port: number;
  /** For an endpoint: the CoreDNS pod behind it. */
  readonly endpointPod: string | null;
  readonly exitCode: number | null;
  /** The parsed reply (`status`, `server`, `queryTimeMs`, `answers`, `error`). */
  readonly result: DigResult;
  readonly outcome: DigOutcome;
  /** What the outcome means, in plain words. */
  readonly explanation: string;
  /** dig's output as printed (cluster text). */
  readonly raw: string;
}

/** "Dig in pod netns" (the tutorial's step 7). */
export interface PodDigResult {
  readonly pod: PodSummary;
  readonly name: string;
  readonly type: DigQueryType;
  readonly pid: PidInfo;
  readonly dnsService: DnsServiceInfo;
  readonly endpoints: DnsEndpoint[];
  readonly queries: DigQuery[];
  /** The pod's /etc/resolv.conf as parsed; null when it could not be read. */
  readonly resolvConf: ResolvConf | null;
  readonly resolvConfText: string | null;
  /** Plain-words conclusions, most important first. */
  readonly summary: string[];
  readonly problems: string[];
  readonly manualCommands: ManualCommand[];
}

/**
 * Reads the pod's resolv.conf, then digs against each server given as (address, port)
 * argument pairs, all from inside the pod's network namespace. Constant text.
 */
export const DIG_SCRIPT = `pid="$1"; name="$2"; type="$3"; shift 3
echo "@@kni:resolv@@"
cat "/proc/$pid/root/etc/resolv.conf"
echo "@@kni:exit=$?@@"
while [ "$#" -ge 2 ]; do
  echo "@@kni:dig=$1#$2@@"
  nsenter -t "$pid" -n dig +time=2 +tries=1 -t "$type" -q "$name" "@$1" -p "$2"
  echo "@@kni:exit=$?@@"
  shift 2
done
`;

const DNS_NAME = /^(?=.{1,254}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** True for a name dig may be asked about: DNS characters only, no leading `-` or `+`. */
export function isValidDnsName(name: string): boolean {
  return DNS_NAME.test(name);
}

/** The argv for {@link DIG_SCRIPT}. Everything is validated; nothing is spliced into the script. */
export function digArgv(pid: number, name: string, type: DigQueryType, servers: readonly { address: string; port: number }[]): string[] {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`not a PID: ${pid}`);
  }
  if (!isValidDnsName(name)) {
    throw new DiagnosticError('invalid-input', `Not a DNS name: ${JSON.stringify(name)} (letters, digits, "-", "_" and dots only).`);
  }
  if (!DIG_QUERY_TYPES.includes(type)) {
    throw new DiagnosticError('invalid-input', `Unsupported query type ${JSON.stringify(type)}.`);
  }
  const args: string[] = [];
  for (const server of servers) {
    if (isIP(server.address) === 0 || !Number.isInteger(server.port) || server.port < 1 || server.port > 65535) {
      throw new RangeError(`not a DNS server address: ${JSON.stringify(server)}`);
    }
    args.push(server.address, String(server.port));
  }
  return ['sh', '-c', DIG_SCRIPT, 'kni-dig', String(pid), name, type, ...args];
}

/** Queries `name` from inside the pod's network namespace against kube-dns and each DNS endpoint. */
export async function digInPod(
  context: DiagnosticContext,
  ref: PodRef,
  name: string,
  options: DiagnosticOptions & { readonly type?: DigQueryType; readonly containerName?: string } = {},
): Promise<PodDigResult> {
  const type = options.type ?? 'A';
  if (!isValidDnsName(name)) {
    throw new DiagnosticError('invalid-input', `Not a DNS name: ${JSON.stringify(name)} (letters, digits, "-", "_" and dots only).`);
  }
  const pod = await readPod(context, ref);
  const nodeName = requireRunningOnNode(pod);
  const summary = summarizePod(pod);
  const dnsService = await findDnsService(context);
  const endpoints = await findDnsEndpoints(context, dnsService);
  const commandOptions = { signal: options.signal, onProgress: options.onProgress };
  const pidResult = await findContainerPid(context.runner, pod, { ...commandOptions, timeoutMs: 30_000, containerName: options.containerName, logger: context.logger });

  const direct = endpoints.filter((endpoint) => endpoint.ready).slice(0, MAX_DNS_ENDPOINTS);
  const servers = [{ address: dnsService.clusterIP, port: dnsService.port }, ...direct.map((endpoint) => ({ address: endpoint.address, port: endpoint.port }))];
  // Each dig waits at most ~2 s; the bound leaves room for the exec itself.
  const result = await context.runner.run(nodeName, digArgv(pidResult.pid, name, type, servers), { ...commandOptions, timeoutMs: 15_000 + servers.length * 4_000 });
  const sections = splitSections(result.stdout);
  const problems: string[] = [...pidResult.problems];

  const resolvSection = sections.find((section) => section.name === 'resolv');
  let resolvConf: ResolvConf | null = null;
  let resolvConfText: string | null = null;
  if (resolvSection !== undefined && resolvSection.exitCode === 0) {
    resolvConfText = resolvSection.text;
    const parsed = parseResolvConf(resolvSection.text);
    resolvConf = parsed.value;
    problems.push(...parsed.problems.map((problem) => `resolv.conf line ${problem.line}: ${problem.reason}`));
  } else {
    problems.push(`could not read /proc/${pidResult.pid}/root/etc/resolv.conf on node ${nodeName}`);
  }

  const queries: DigQuery[] = [];
  servers.forEach((server, index) => {
    const section = sections.find((item) => item.name === `dig=${server.address}#${server.port}`);
    const endpoint = index === 0 ? undefined : direct[index - 1];
    const parsed = parseDig(section?.text ?? '');
    problems.push(...parsed.problems.map((problem) => `dig @${server.address} line ${problem.line}: ${problem.reason}`));
    const target = index === 0 ? 'cluster-ip' : 'endpoint';
    const outcome = digOutcome(parsed.value, section?.exitCode ?? null);
    queries.push({
      target,
      server: server.address,
      port: server.port,
      endpointPod: endpoint?.podName ?? null,
      exitCode: section?.exitCode ?? null,
      result: parsed.value,
      outcome,
      explanation: capitalize(explainOutcome(outcome, parsed.value, name, type, target, server.address, endpoint?.podName ?? null, dnsService)),
      raw: section?.text ?? '',
    });
  });
  for (const line of result.stderr.split('\n').map((item) => item.trim()).filter((item) => item !== '').slice(0, 20)) {
    problems.push(`stderr: ${line}`);
  }

  const image = context.runner.debugImage();
  const manualCommands: ManualCommand[] = [
    {
      where: 'workstation',
      description: 'The cluster DNS service and its ClusterIP',
      command: commandLine('kubectl', 'get', 'service', '-n', dnsService.namespace, dnsService.name),
    },
    {
      where: 'workstation',
      description: 'Its endpoints (the CoreDNS pods)',
      command: commandLine('kubectl', 'get', 'endpointslices', '-n', dnsService.namespace, '-l', `kubernetes.io/service-name=${dnsService.name}`),
    },
    kubectlDebugNodeCommand(nodeName, image),
    crictlPidCommand(pidResult.containerId),
    nsenterCommand(pidResult.pid, ['dig', ...(type === 'A' ? [] : ['-t', type]), name, `@${dnsService.clusterIP}`], 'Ask kube-dns from inside the pod'),
    ...direct.map((endpoint) =>
      nsenterCommand(pidResult.pid, ['dig', ...(type === 'A' ? [] : ['-t', type]), name, `@${endpoint.address}`, ...(endpoint.port !== 53 ? ['-p', String(endpoint.port)] : [])], `Ask ${endpoint.podName ?? endpoint.address} directly`),
    ),
    { where: 'node', description: "The pod's resolv.conf", command: commandLine('cat', `/proc/${pidResult.pid}/root/etc/resolv.conf`) },
  ];

  return {
    pod: summary,
    name,
    type,
    pid: { pid: pidResult.pid, method: pidResult.method, containerName: pidResult.containerName, containerId: pidResult.containerId, runtime: pidResult.runtime },
    dnsService,
    endpoints,
    queries,
    resolvConf,
    resolvConfText,
    summary: digSummary(queries, resolvConf, dnsService, name),
    problems,
    manualCommands,
  };
}

/** The `kube-dns` service: kube-system/kube-dns, else any service labelled `k8s-app=kube-dns`. */
export async function findDnsService(context: DiagnosticContext): Promise<DnsServiceInfo> {
  let service: V1Service | undefined;
  try {
    service = await context.core.readNamespacedService({ namespace: 'kube-system', name: 'kube-dns' });
  } catch (error) {
    const failure = apiFailure(error);
    if (failure.httpStatus !== 404) {
      context.logger.warn(`[Dig] could not read kube-system/kube-dns: ${failure.message}`);
    }
  }
  if (service === undefined) {
    try {
      const list = await context.core.listNamespacedService({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-dns' });
      service = list.items[0];
      if (service === undefined) {
        service = (await context.core.listServiceForAllNamespaces({ labelSelector: 'k8s-app=kube-dns' })).items[0];
      }
    } catch (error) {
      context.logger.warn(`[Dig] could not list services labelled k8s-app=kube-dns: ${apiFailure(error).message}`);
    }
  }
  const clusterIP = service?.spec?.clusterIP;
  if (service === undefined || clusterIP === undefined || isIP(clusterIP) === 0) {
    throw new DiagnosticError(
      'dns-service-not-found',
      'Found no cluster DNS service (kube-system/kube-dns, or a service labelled k8s-app=kube-dns) with a ClusterIP. Is CoreDNS installed under another name?',
    );
  }
  const ports = service.spec?.ports ?? [];
  const port = ports.find((item) => (item.protocol ?? 'TCP') === 'UDP' && (item.name === 'dns' || item.port === 53)) ?? ports.find((item) => item.protocol === 'UDP') ?? ports[0];
  return { namespace: service.metadata?.namespace ?? 'kube-system', name: service.metadata?.name ?? 'kube-dns', clusterIP, port: port?.port ?? 53 };
}

/** The service's DNS endpoints from its EndpointSlices (UDP port), ready or not. */
export async function findDnsEndpoints(context: DiagnosticContext, service: DnsServiceInfo): Promise<DnsEndpoint[]> {
  let slices: V1EndpointSlice[];
  try {
    slices = (await context.discovery.listNamespacedEndpointSlice({ namespace: service.namespace, labelSelector: `kubernetes.io/service-name=${service.name}` })).items;
  } catch (error) {
    context.logger.warn(`[Dig] could not list EndpointSlices of ${service.namespace}/${service.name}: ${apiFailure(error).message}`);
    return [];
  }
  const endpoints: DnsEndpoint[] = [];
  const seen = new Set<string>();
  for (const slice of slices) {
    const ports = slice.ports ?? [];
    const port = ports.find((item) => (item.protocol ?? 'TCP') === 'UDP' && (item.name === 'dns' || item.port === 53)) ?? ports.find((item) => item.protocol === 'UDP');
    for (const endpoint of slice.endpoints ?? []) {
      for (const address of endpoint.addresses ?? []) {
        if (isIP(address) === 0 || seen.has(address)) {
          continue;
        }
        seen.add(address);
        endpoints.push({
          address,
          port: port?.port ?? 53,
          ready: endpoint.conditions?.ready !== false,
          podName: endpoint.targetRef?.kind === 'Pod' && endpoint.targetRef.name !== undefined ? `${endpoint.targetRef.namespace ?? service.namespace}/${endpoint.targetRef.name}` : null,
          nodeName: endpoint.nodeName ?? null,
        });
      }
    }
  }
  return endpoints;
}

/** Classifies one dig run. */
export function digOutcome(result: DigResult, exitCode: number | null): DigOutcome {
  if (result.status === null) {
    if (result.error !== null && /timed out|no servers could be reached/i.test(result.error)) {
      return 'timeout';
    }
    if (exitCode === 9) {
      return 'timeout';
    }
    return 'error';
  }
  switch (result.status) {
    case 'NOERROR':
      return result.answers.length > 0 ? 'answer' : 'no-data';
    case 'NXDOMAIN':
      return 'nxdomain';
    case 'SERVFAIL':
      return 'servfail';
    case 'REFUSED':
      return 'refused';
    default:
      return 'error';
  }
}

function explainOutcome(
  outcome: DigOutcome,
  result: DigResult,
  name: string,
  type: DigQueryType,
  target: 'cluster-ip' | 'endpoint',
  server: string,
  endpointPod: string | null,
  service: DnsServiceInfo,
): string {
  const who = target === 'cluster-ip' ? `the ${service.name} ClusterIP ${server}` : `${endpointPod ?? 'DNS endpoint'} (${server})`;
  switch (outcome) {
    case 'answer':
      return `${who} answered ${name} with ${result.answers.map((record) => `${record.type} ${record.data}`).join(', ')}${result.queryTimeMs !== null ? ` in ${result.queryTimeMs} ms` : ''}.`;
    case 'no-data':
      return `${who} says ${name} exists but has no ${type} record (NOERROR without answers). A headless service without ready pods, or an IPv4/IPv6 mismatch, look like this.`;
    case 'nxdomain':
      return (
        `${who} says ${name} does not exist (NXDOMAIN). Check the spelling and the namespace: a service is <service>.<namespace>.svc.cluster.local. ` +
        `dig, unlike the programs in the pod, does not apply the pod's search list, so a short name such as "web" fails here; use the full name.`
      );
    case 'servfail':
      return `${who} could not answer (SERVFAIL): CoreDNS itself failed, e.g. its upstream DNS is unreachable (for names outside the cluster), a forwarding loop, or a plugin error. Look at the CoreDNS logs (kubectl logs -n ${service.namespace} -l k8s-app=kube-dns).`;
    case 'refused':
      return `${who} refused the query (REFUSED): the server is not willing to answer for this name (an ACL, or it is not a resolver for this zone).`;
    case 'timeout':
      return target === 'cluster-ip'
        ? `No reply from ${who} within 2 s. Packets between the pod and the service are lost: check kube-proxy's rules for ${server} (iptables -t nat -L KUBE-SERVICES -n | grep ${server}), NetworkPolicies that block egress to UDP port ${service.port}, and that the CoreDNS pods are Running.`
        : `No reply from ${who} within 2 s: the pod network between this pod and that CoreDNS pod drops the packets (CNI, NetworkPolicy), or CoreDNS is overloaded.`;
    case 'error':
      return `dig did not get a usable reply from ${who}${result.error !== null ? `: ${result.error}` : ''}.`;
  }
}

function digSummary(queries: readonly DigQuery[], resolvConf: ResolvConf | null, service: DnsServiceInfo, name: string): string[] {
  const summary: string[] = [];
  const viaService = queries.find((query) => query.target === 'cluster-ip');
  const direct = queries.filter((query) => query.target === 'endpoint');
  if (viaService !== undefined) {
    summary.push(viaService.explanation);
  }
  if (viaService?.outcome === 'timeout' && direct.some((query) => query.outcome !== 'timeout' && query.outcome !== 'error')) {
    summary.push(`The CoreDNS pods answer when asked directly, but not through the ClusterIP ${service.clusterIP}: the service translation (kube-proxy rules) on this node is the suspect.`);
  }
  if (direct.length > 0 && direct.every((query) => query.outcome === 'timeout')) {
    summary.push('No CoreDNS pod answers directly either: suspect the pod network or CoreDNS itself.');
  }
  const outcomes = new Set(direct.map((query) => query.outcome));
  if (outcomes.size > 1) {
    summary.push('The CoreDNS pods disagree; one of them may be unhealthy. Compare the answers below.');
  }
  if (resolvConf !== null && !resolvConf.nameservers.includes(service.clusterIP)) {
    summary.push(
      `The pod's resolv.conf uses ${resolvConf.nameservers.join(', ') || 'no nameserver'}, not the kube-dns ClusterIP ${service.clusterIP} (dnsPolicy other than ClusterFirst, or a node-local DNS cache); programs in the pod ask that server for ${name}.`,
    );
  }
  return summary;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

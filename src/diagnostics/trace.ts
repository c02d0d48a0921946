/**
 * A service's path through a node, as kube-proxy programmed it: ClusterIP:port (NodePorts,
 * external IPs) → the KUBE-SERVICES rule (or the `service-ips` map element) → the service
 * chain → each endpoint chain with its probability → the DNAT target → the pod behind that
 * address, compared with the service's EndpointSlices.
 */
import { isIP } from 'node:net';
import type { V1EndpointSlice, V1Pod, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { IptablesChain, IptablesSave } from '../parsers/iptablesSave.js';
import type { KubeProxyEndpoint, KubeProxyService } from '../parsers/kubeProxyServices.js';
import { parseServiceComment, serviceChainHash } from '../parsers/kubeProxyServices.js';
import type { NftChain, NftRuleset } from '../parsers/nft.js';
import { DiagnosticError } from './context.js';
import type { DiagnosticContext, DiagnosticOptions } from './context.js';
import { findPodsByAddress, isNodeReady, listNodesReadyFirst, podBrief, readNode, readService, readServiceSlices, sliceEndpointsForPort, splitAddressPort, hostPort } from './cluster.js';
import type { PodBrief, ServiceRef, SliceEndpoint } from './cluster.js';
import { detectDataPlane } from './dataPlane.js';
import type { DataPlaneInfo, ProxyMode } from './dataPlane.js';
import { commandLine, kubectlDebugNodeCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';
import { dumpRules } from './rules.js';
import type { DumpKind, RulesBackend, RulesDump } from './rules.js';

/** One rule (or map element) on the path, as printed. */
export interface TraceRule {
  /** The chain (iptables, nftables) or `map NAME` it is in. */
  readonly chain: string;
  readonly table: string;
  readonly text: string;
}

/** How an endpoint in the rules compares with the EndpointSlices. */
export type EndpointStatus =
  /** In the rules and ready in the slices. */
  | 'ok'
  /** In the rules, in no slice: kube-proxy still sends traffic to an address the API no longer lists. */
  | 'stale'
  /** In the rules while the slices say not ready (and not serving-terminating). */
  | 'not-ready'
  /** Not ready but serving and terminating: kube-proxy uses these only when no endpoint is ready. */
  | 'terminating-fallback'
  /** The rules do not say where this endpoint DNATs. */
  | 'unknown';

/** One endpoint of a service port as the rules have it. */
export interface TracedEndpoint {
  /** KUBE-SEP-… (iptables) or endpoint-… (nftables) chain. */
  readonly sepChain: string | null;
  /** As written (iptables: conditional on the earlier rules; nftables: 1/N). */
  readonly probability: number | null;
  /** The share of new connections it gets. */
  readonly share: number | null;
  /** `IP:port` of the DNAT. */
  readonly dnatTo: string | null;
  readonly address: string | null;
  readonly port: number | null;
  /** The endpoint chain's rules. */
  readonly rules: TraceRule[];
  /** The pod holding the address now, per the API. */
  readonly pod: PodBrief | null;
  /** The matching EndpointSlice entry, if any. */
  readonly slice: SliceEndpoint | null;
  readonly status: EndpointStatus;
}

export type TraceFlagCode =
  | 'stale-endpoint'
  | 'missing-endpoint'
  | 'not-ready-endpoint'
  | 'terminating-fallback'
  | 'no-endpoints'
  | 'no-endpoints-rule-but-ready'
  | 'no-reject-rule'
  | 'port-not-in-rules'
  | 'cluster-ip-mismatch'
  | 'node-port-missing'
  | 'external-ip-missing'
  | 'session-affinity'
  | 'session-affinity-mismatch'
  | 'local-traffic-policy'
  | 'endpoint-without-pod';

/** A finding on the path. */
export interface TraceFlag {
  readonly code: TraceFlagCode;
  readonly severity: 'error' | 'warning' | 'info';
  readonly message: string;
  /** The service port it is about (`name/protocol/port`). */
  readonly port?: string;
  /** The endpoint address it is about. */
  readonly address?: string;
}

/** One service port's path. */
export interface TracedPort {
  readonly portName: string | null;
  /** Lower case: tcp, udp, sctp. */
  readonly protocol: string;
  readonly port: number;
  readonly targetPort: string | number | null;
  readonly nodePort: number | null;
  readonly clusterIP: string | null;
  readonly externalIPs: string[];
  readonly loadBalancerIPs: string[];
  /** kube-proxy programs this service port on the node. */
  readonly inRules: boolean;
  /** What the rules say about it. */
  readonly rules: {
    readonly clusterIP: string | null;
    readonly port: number | null;
    readonly nodePorts: number[];
    readonly externalIPs: string[];
    readonly noEndpoints: boolean;
    readonly sessionAffinity: boolean;
  };
  /** KUBE-SERVICES rules (or service-ips elements) that lead into the service chain. */
  readonly entryRules: TraceRule[];
  readonly svcChain: string | null;
  readonly svcChainRules: TraceRule[];
  /** KUBE-NODEPORTS rules / service-nodeports elements and KUBE-EXT chain rules. */
  readonly nodePortRules: TraceRule[];
  /** Reject rules (has no endpoints) / no-endpoint-services elements. */
  readonly rejectRules: TraceRule[];
  readonly endpoints: TracedEndpoint[];
  /** Usable endpoints in the slices that the rules lack. */
  readonly missing: (SliceEndpoint & { readonly podInfo: PodBrief | null })[];
  /** All endpoints of this port in the slices. */
  readonly sliceEndpoints: SliceEndpoint[];
  readonly sessionAffinity: { readonly spec: 'ClientIP' | 'None'; readonly timeoutSeconds: number | null; readonly inRules: boolean };
  readonly flags: TraceFlag[];
}

/** "Trace service path". */
export interface ServiceTrace {
  readonly service: {
    readonly namespace: string;
    readonly name: string;
    readonly type: string;
    readonly clusterIP: string | null;
    readonly clusterIPs: string[];
    readonly externalIPs: string[];
    readonly sessionAffinity: string;
    readonly internalTrafficPolicy: string | null;
    readonly externalTrafficPolicy: string | null;
  };
  readonly node: string;
  /** How the node was chosen. */
  readonly nodeChoice: 'given' | 'endpoint' | 'first-ready';
  readonly mode: ProxyMode;
  readonly dataPlane: DataPlaneInfo | null;
  readonly backend: RulesBackend | null;
  readonly ports: TracedPort[];
  /** Every port's flags, errors first. */
  readonly flags: TraceFlag[];
  /** What to use instead when this mode has no rules path (`ipvs`). */
  readonly alternative: 'ipvs' | null;
  readonly notes: string[];
  readonly problems: string[];
  readonly manualCommands: ManualCommand[];
}

/** The parsed rules a trace reads. */
export type TraceRules = { readonly kind: 'iptables'; readonly backend: 'iptables-nft' | 'iptables-legacy'; readonly parsed: IptablesSave } | { readonly kind: 'nftables'; readonly parsed: NftRuleset };

/** Inputs of {@link traceFromRules}: everything already read. */
export interface TraceInput {
  readonly service: V1Service;
  readonly slices: readonly V1EndpointSlice[];
  /** Pods by IP (addresses of the rules and slices). */
  readonly podsByAddress: ReadonlyMap<string, V1Pod>;
  readonly node: string;
  readonly rules: TraceRules;
}

const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

function portLabel(port: V1ServicePort): string {
  return `${port.name ? `${port.name}/` : ''}${(port.protocol ?? 'TCP').toLowerCase()}/${port.port}`;
}

function sameProtocol(a: string | null, b: string): boolean {
  return (a ?? 'tcp').toLowerCase() === b.toLowerCase();
}

/** The kube-proxy service entry of one service port (same name, port name and protocol). */
export function findKubeProxyService(services: readonly KubeProxyService[], ref: ServiceRef, port: V1ServicePort): KubeProxyService | undefined {
  const wanted = `${ref.namespace}/${ref.name}`;
  const protocol = (port.protocol ?? 'TCP').toLowerCase();
  const candidates = services.filter((service) => service.service === wanted && (service.portName ?? '') === (port.name ?? '') && sameProtocol(service.protocol, protocol));
  return candidates.find((service) => service.svcChain !== null) ?? candidates[0];
}

function iptablesChains(parsed: IptablesSave): Map<string, { table: string; chain: IptablesChain }[]> {
  const chains = new Map<string, { table: string; chain: IptablesChain }[]>();
  for (const table of parsed.tables) {
    for (const chain of table.chains) {
      const list = chains.get(chain.name);
      if (list === undefined) {
        chains.set(chain.name, [{ table: table.name, chain }]);
      } else {
        list.push({ table: table.name, chain });
      }
    }
  }
  return chains;
}

interface RuleLookup {
  entryRules(kp: KubeProxyService | undefined, ref: ServiceRef, port: V1ServicePort): TraceRule[];
  chainRules(chain: string | null): TraceRule[];
  nodePortRules(kp: KubeProxyService | undefined, ref: ServiceRef, port: V1ServicePort): TraceRule[];
  rejectRules(ref: ServiceRef, port: V1ServicePort): TraceRule[];
}

function iptablesLookup(parsed: IptablesSave): RuleLookup {
  const chains = iptablesChains(parsed);
  const rulesOf = (name: string): TraceRule[] => (chains.get(name) ?? []).flatMap(({ table, chain }) => chain.rules.map((rule) => ({ chain: chain.name, table, text: rule.raw })));
  const commentMatches = (comment: string | null, ref: ServiceRef, port: V1ServicePort): boolean => {
    const reference = parseServiceComment(comment);
    return reference !== null && reference.service === `${ref.namespace}/${ref.name}` && (reference.portName ?? '') === (port.name ?? '');
  };
  return {
    entryRules: (kp) => {
      const hash = serviceChainHash(kp?.svcChain ?? null);
      if (hash === null) {
        return [];
      }
      return ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES'].flatMap((name) =>
        (chains.get(name) ?? []).flatMap(({ table, chain }) => chain.rules.filter((rule) => serviceChainHash(rule.target) === hash).map((rule) => ({ chain: chain.name, table, text: rule.raw }))),
      );
    },
    chainRules: (name) => (name === null ? [] : rulesOf(name)),
    nodePortRules: (kp, ref, port) => {
      const hash = serviceChainHash(kp?.svcChain ?? null);
      const out: TraceRule[] = [];
      for (const { table, chain } of chains.get('KUBE-NODEPORTS') ?? []) {
        for (const rule of chain.rules) {
          if ((hash !== null && serviceChainHash(rule.target) === hash) || commentMatches(rule.comment, ref, port)) {
            out.push({ chain: chain.name, table, text: rule.raw });
          }
        }
      }
      if (hash !== null) {
        out.push(...rulesOf(`KUBE-EXT-${hash}`));
      }
      return out;
    },
    rejectRules: (ref, port) =>
      ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS'].flatMap((name) =>
        (chains.get(name) ?? []).flatMap(({ table, chain }) =>
          chain.rules.filter((rule) => (rule.target === 'REJECT' || rule.target === 'DROP') && commentMatches(rule.comment, ref, port)).map((rule) => ({ chain: chain.name, table, text: rule.raw })),
        ),
      ),
  };
}

function nftLookup(parsed: NftRuleset): RuleLookup {
  const chains = new Map<string, { table: string; chain: NftChain }>();
  for (const table of parsed.tables) {
    for (const chain of table.chains) {
      chains.set(chain.name, { table: `${table.family} ${table.name}`.trim(), chain });
    }
  }
  const mapElements = (names: readonly string[], keep: (value: string, comment: string | null) => boolean): TraceRule[] =>
    parsed.tables.flatMap((table) =>
      table.maps
        .filter((map) => names.includes(map.name))
        .flatMap((map) =>
          map.elements
            .filter((element) => keep(element.value ?? '', element.comment))
            .map((element) => ({ chain: `map ${map.name}`, table: `${table.family} ${table.name}`.trim(), text: `${element.key}${element.value !== null ? ` : ${element.value}` : ''}${element.comment !== null ? ` comment ${JSON.stringify(element.comment)}` : ''}` })),
        ),
    );
  const chainRules = (name: string | null): TraceRule[] => {
    const found = name === null ? undefined : chains.get(name);
    return found === undefined ? [] : found.chain.rules.map((rule) => ({ chain: found.chain.name, table: found.table, text: rule.raw }));
  };
  const targets = (value: string, chain: string): boolean => new RegExp(`(?:^|\\s)(?:goto|jump)\\s+${chain.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`).test(value.trim());
  return {
    entryRules: (kp) => (kp?.svcChain ? mapElements(['service-ips'], (value) => targets(value, kp.svcChain as string)) : []),
    chainRules,
    nodePortRules: (kp) => {
      const hash = kp?.svcChain?.split('-')[1];
      if (hash === undefined) {
        return [];
      }
      const external = [...chains.keys()].find((name) => name.startsWith(`external-${hash}-`));
      return [...mapElements(['service-nodeports', 'firewall-ips'], (value) => external !== undefined && targets(value, external)), ...(external !== undefined ? chainRules(external) : [])];
    },
    rejectRules: (ref, port) =>
      mapElements(['no-endpoint-services', 'no-endpoint-nodeports'], (_value, comment) => {
        const reference = parseServiceComment(comment);
        return reference !== null && reference.service === `${ref.namespace}/${ref.name}` && (reference.portName ?? '') === (port.name ?? '');
      }),
  };
}

function kubeProxyServicesOf(rules: TraceRules): KubeProxyService[] {
  return rules.parsed.services;
}

function externalAddresses(service: V1Service): { externalIPs: string[]; loadBalancerIPs: string[] } {
  return {
    externalIPs: (service.spec?.externalIPs ?? []).filter((address) => isIP(address) === 4),
    loadBalancerIPs: (service.status?.loadBalancer?.ingress ?? []).map((item) => item.ip ?? '').filter((address) => isIP(address) === 4),
  };
}

function endpointStatus(slice: SliceEndpoint | null, dnatTo: string | null): EndpointStatus {
  if (dnatTo === null) {
    return 'unknown';
  }
  if (slice === null) {
    return 'stale';
  }
  if (slice.ready) {
    return 'ok';
  }
  if (slice.serving && slice.terminating) {
    return 'terminating-fallback';
  }
  return 'not-ready';
}

/**
 * The trace of every service port from parsed rules, slices and pods (IPv4: what
 * `iptables-save` and `table ip kube-proxy` hold). Pure; the comparison with the slices is here.
 */
export function traceFromRules(input: TraceInput): { ports: TracedPort[]; flags: TraceFlag[] } {
  const { service, slices, podsByAddress, node, rules } = input;
  const ref: ServiceRef = { namespace: service.metadata?.namespace ?? '', name: service.metadata?.name ?? '' };
  const lookup = rules.kind === 'iptables' ? iptablesLookup(rules.parsed) : nftLookup(rules.parsed);
  const kubeProxyServices = kubeProxyServicesOf(rules);
  const clusterIP = service.spec?.clusterIPs?.find((address) => isIP(address) === 4) ?? (service.spec?.clusterIP !== undefined && isIP(service.spec.clusterIP) === 4 ? service.spec.clusterIP : null);
  const { externalIPs, loadBalancerIPs } = externalAddresses(service);
  const affinitySpec = service.spec?.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None';
  const affinityTimeout = affinitySpec === 'ClientIP' ? (service.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800) : null;
  const internalLocal = service.spec?.internalTrafficPolicy === 'Local';
  const ports: TracedPort[] = [];
  const allFlags: TraceFlag[] = [];

  for (const port of service.spec?.ports ?? []) {
    const label = portLabel(port);
    const protocol = (port.protocol ?? 'TCP').toLowerCase();
    const flags: TraceFlag[] = [];
    const flag = (code: TraceFlagCode, severity: TraceFlag['severity'], message: string, address?: string): void => {
      flags.push({ code, severity, message, port: label, ...(address !== undefined ? { address } : {}) });
    };
    const kp = findKubeProxyService(kubeProxyServices, ref, port);
    const sliceEndpoints = sliceEndpointsForPort(slices, port).filter((endpoint) => isIP(endpoint.address) === 4);
    const ready = sliceEndpoints.filter((endpoint) => endpoint.ready);
    const fallback = sliceEndpoints.filter((endpoint) => !endpoint.ready && endpoint.serving && endpoint.terminating);
    let usable = ready.length > 0 ? ready : fallback;
    if (internalLocal) {
      usable = usable.filter((endpoint) => endpoint.nodeName === node);
    }

    const endpoints: TracedEndpoint[] = (kp?.endpoints ?? []).map((endpoint: KubeProxyEndpoint) => {
      const target = splitAddressPort(endpoint.dnatTo);
      const slice = target === null ? null : (sliceEndpoints.find((item) => item.address === target.address && (target.port === null || item.port === null || item.port === target.port)) ?? null);
      const pod = target === null ? undefined : podsByAddress.get(target.address);
      return {
        sepChain: endpoint.sepChain,
        probability: endpoint.probability,
        share: endpoint.share,
        dnatTo: endpoint.dnatTo,
        address: target?.address ?? null,
        port: target?.port ?? null,
        rules: lookup.chainRules(endpoint.sepChain),
        pod: pod === undefined ? null : podBrief(pod),
        slice,
        status: endpointStatus(slice, endpoint.dnatTo),
      };
    });
    const inRules = new Set(endpoints.filter((endpoint) => endpoint.address !== null).map((endpoint) => hostPort(endpoint.address as string, endpoint.port)));
    const inRulesAddress = new Set(endpoints.map((endpoint) => endpoint.address));
    const missing = usable
      .filter((endpoint) => !inRules.has(hostPort(endpoint.address, endpoint.port)) && !(endpoint.port === null && inRulesAddress.has(endpoint.address)))
      .map((endpoint) => {
        const pod = podsByAddress.get(endpoint.address);
        return { ...endpoint, podInfo: pod === undefined ? null : podBrief(pod) };
      });

    for (const endpoint of endpoints) {
      const where = endpoint.dnatTo ?? endpoint.sepChain ?? '?';
      switch (endpoint.status) {
        case 'stale':
          flag(
            'stale-endpoint',
            'error',
            `${where} is in kube-proxy's rules on node ${node} (${endpoint.sepChain ?? 'service chain'}) but in none of the service's EndpointSlices${endpoint.pod !== null ? ` (pod ${endpoint.pod.namespace}/${endpoint.pod.name} holds that IP now)` : ' (no pod holds that IP now)'}: the rules are stale, and ${endpoint.share !== null ? `${Math.round(endpoint.share * 1000) / 10}% of` : 'some'} new connections go there. kube-proxy on this node has not caught up: check its logs and its sync.`,
            endpoint.address ?? undefined,
          );
          break;
        case 'not-ready':
          flag('not-ready-endpoint', 'error', `${where} is in the rules, but its EndpointSlice entry is not ready: kube-proxy should have removed it.`, endpoint.address ?? undefined);
          break;
        case 'terminating-fallback':
          flag(
            'terminating-fallback',
            ready.length > 0 ? 'warning' : 'info',
            ready.length > 0
              ? `${where} is terminating (serving, not ready) but still in the rules while ready endpoints exist: kube-proxy uses terminating endpoints only when none is ready.`
              : `${where} is terminating but still serving; kube-proxy uses it because no endpoint is ready.`,
            endpoint.address ?? undefined,
          );
          break;
        default:
          break;
      }
      if (endpoint.status === 'ok' && endpoint.pod === null && endpoint.slice?.pod !== null && endpoint.slice?.pod !== undefined) {
        flag('endpoint-without-pod', 'warning', `${where} belongs to pod ${endpoint.slice.pod.namespace}/${endpoint.slice.pod.name} per its EndpointSlice, but no pod holds that IP now.`, endpoint.address ?? undefined);
      }
    }
    for (const endpoint of missing) {
      flag(
        'missing-endpoint',
        'error',
        `${hostPort(endpoint.address, endpoint.port)}${endpoint.pod !== null ? ` (pod ${endpoint.pod.namespace}/${endpoint.pod.name})` : ''} is ${endpoint.ready ? 'ready' : 'serving'} in EndpointSlice ${endpoint.slice} but not in kube-proxy's rules on node ${node}: it gets no traffic through the service from this node.`,
        endpoint.address,
      );
    }

    const rejectRules = lookup.rejectRules(ref, port);
    const noEndpointsRule = (kp?.noEndpoints ?? false) || rejectRules.length > 0;
    if (usable.length === 0) {
      if (noEndpointsRule) {
        flag('no-endpoints', 'warning', `${ref.namespace}/${ref.name} port ${label} has no ready endpoints: kube-proxy rejects connections to it (the "has no endpoints" reject rule).`);
      } else if (kp === undefined || kp.endpoints.length === 0) {
        flag('no-endpoints', 'warning', `${ref.namespace}/${ref.name} port ${label} has no ready endpoints${clusterIP !== null ? ` and no reject rule on node ${node}: connections to ${clusterIP}:${port.port} time out instead of being refused` : ''}.`);
        if (clusterIP !== null) {
          flag('no-reject-rule', 'info', `kube-proxy normally writes a reject rule for a service port without endpoints; none was found on node ${node}.`);
        }
      }
    } else if (noEndpointsRule) {
      flag('no-endpoints-rule-but-ready', 'error', `The rules on node ${node} reject ${label} as having no endpoints, but the slices list ${usable.length} usable endpoint(s): kube-proxy's rules are stale.`);
    }
    if (kp === undefined && usable.length > 0) {
      flag('port-not-in-rules', 'error', `Port ${label} of ${ref.namespace}/${ref.name} has ${usable.length} usable endpoint(s) but no kube-proxy rules on node ${node}: kube-proxy has not programmed it (or runs in another mode).`);
    }
    if (kp !== undefined && clusterIP !== null && kp.clusterIP !== null && kp.clusterIP !== clusterIP) {
      flag('cluster-ip-mismatch', 'error', `The rules send ${kp.clusterIP}:${kp.port ?? '?'} to this service port, but the service's ClusterIP is ${clusterIP}.`);
    }
    if (port.nodePort !== undefined && port.nodePort !== null && kp !== undefined && !kp.nodePorts.includes(port.nodePort) && !noEndpointsRule) {
      flag('node-port-missing', 'warning', `NodePort ${port.nodePort} of port ${label} is not in the rules on node ${node}.`);
    }
    for (const address of [...externalIPs, ...loadBalancerIPs]) {
      if (kp !== undefined && !kp.externalIPs.includes(address) && !noEndpointsRule) {
        flag('external-ip-missing', 'warning', `External address ${address} of port ${label} is not in the rules on node ${node}.`, address);
      }
    }
    const affinityInRules = kp?.sessionAffinity ?? false;
    if (affinitySpec === 'ClientIP') {
      flag(
        'session-affinity',
        'info',
        `Session affinity ClientIP (${affinityTimeout ?? '?'} s): each client sticks to the endpoint of its first connection${rules.kind === 'iptables' ? ' (the "recent" match rules)' : ' (kube-proxy\'s affinity sets)'}; the shares below apply to a client's first connection only.`,
      );
      if (!affinityInRules && kp !== undefined && kp.endpoints.length > 0) {
        flag('session-affinity-mismatch', 'warning', `The service asks for ClientIP session affinity, but the rules on node ${node} have no affinity rules.`);
      }
    } else if (affinityInRules) {
      flag('session-affinity-mismatch', 'warning', `The rules on node ${node} pin clients to endpoints (session affinity) although the service has sessionAffinity None.`);
    }
    if (internalLocal) {
      flag('local-traffic-policy', 'info', `internalTrafficPolicy Local: from node ${node} the ClusterIP only reaches endpoints on this node (${usable.length}).`);
    }

    const svcChain = kp?.svcChain ?? null;
    ports.push({
      portName: port.name ?? null,
      protocol,
      port: port.port,
      targetPort: port.targetPort ?? null,
      nodePort: port.nodePort ?? null,
      clusterIP,
      externalIPs,
      loadBalancerIPs,
      inRules: kp !== undefined,
      rules: {
        clusterIP: kp?.clusterIP ?? null,
        port: kp?.port ?? null,
        nodePorts: kp?.nodePorts ?? [],
        externalIPs: kp?.externalIPs ?? [],
        noEndpoints: noEndpointsRule,
        sessionAffinity: affinityInRules,
      },
      entryRules: lookup.entryRules(kp, ref, port),
      svcChain,
      svcChainRules: lookup.chainRules(svcChain),
      nodePortRules: port.nodePort ? lookup.nodePortRules(kp, ref, port) : [],
      rejectRules,
      endpoints,
      missing,
      sliceEndpoints,
      sessionAffinity: { spec: affinitySpec, timeoutSeconds: affinityTimeout, inRules: affinityInRules },
      flags,
    });
    allFlags.push(...flags);
  }
  allFlags.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return { ports, flags: allFlags };
}

/** The node a trace looks at by default: one running a usable endpoint, else the first Ready node. */
export function chooseTraceNode(slices: readonly V1EndpointSlice[], service: V1Service, readyNodes: readonly string[]): { node: string | null; choice: 'endpoint' | 'first-ready' } {
  const candidates = new Set<string>();
  for (const port of service.spec?.ports ?? []) {
    for (const endpoint of sliceEndpointsForPort(slices, port)) {
      if (endpoint.ready && endpoint.nodeName !== null && readyNodes.includes(endpoint.nodeName)) {
        candidates.add(endpoint.nodeName);
      }
    }
  }
  const sorted = [...candidates].sort();
  if (sorted.length > 0) {
    return { node: sorted[0], choice: 'endpoint' };
  }
  return { node: readyNodes[0] ?? null, choice: 'first-ready' };
}

function summaryOf(service: V1Service): ServiceTrace['service'] {
  return {
    namespace: service.metadata?.namespace ?? '',
    name: service.metadata?.name ?? '',
    type: service.spec?.type ?? 'ClusterIP',
    clusterIP: service.spec?.clusterIP ?? null,
    clusterIPs: service.spec?.clusterIPs ?? (service.spec?.clusterIP ? [service.spec.clusterIP] : []),
    externalIPs: service.spec?.externalIPs ?? [],
    sessionAffinity: service.spec?.sessionAffinity ?? 'None',
    internalTrafficPolicy: service.spec?.internalTrafficPolicy ?? null,
    externalTrafficPolicy: service.spec?.externalTrafficPolicy ?? null,
  };
}

/** The manual commands of a trace. */
export function traceManualCommands(ref: ServiceRef, node: string, image: string, backend: RulesBackend | null, ports: readonly TracedPort[]): ManualCommand[] {
  const commands: ManualCommand[] = [
    { where: 'workstation', description: 'The service and its ports', command: commandLine('kubectl', 'get', 'service', '-n', ref.namespace, ref.name, '-o', 'wide') },
    { where: 'workstation', description: 'Its EndpointSlices (the endpoints kube-proxy should program)', command: commandLine('kubectl', 'get', 'endpointslices', '-n', ref.namespace, '-l', `kubernetes.io/service-name=${ref.name}`, '-o', 'wide') },
    kubectlDebugNodeCommand(node, image),
  ];
  const save = backend === 'iptables-legacy' ? 'iptables-legacy-save' : 'iptables-nft-save';
  const list = backend === 'iptables-legacy' ? 'iptables-legacy' : 'iptables-nft';
  if (backend === 'iptables-nft' || backend === 'iptables-legacy') {
    // kube-proxy's comments name `ns/svc:port` (or `ns/svc` for an unnamed port): match the word's end, not `ns/svc-other`.
    const named = ports.length > 0 && ports.every((port) => port.portName !== null);
    const pattern = named ? `${ref.namespace}/${ref.name}:` : `${ref.namespace}/${ref.name}`;
    commands.push({ where: 'node', description: `Every rule that names the service (${backend === 'iptables-legacy' ? 'legacy' : 'nf_tables'} backend)`, command: `${commandLine(save)} | ${commandLine('grep', '-F', '--', pattern)}` });
    const clusterIP = ports.find((port) => port.clusterIP !== null)?.clusterIP;
    if (clusterIP !== undefined && clusterIP !== null) {
      commands.push({ where: 'node', description: 'The ClusterIP in KUBE-SERVICES', command: `${commandLine(list, '-t', 'nat', '-L', 'KUBE-SERVICES', '-n')} | ${commandLine('grep', '-F', '--', clusterIP)}` });
    }
    for (const port of ports) {
      if (port.svcChain !== null) {
        commands.push({ where: 'node', description: `Port ${port.portName ?? port.port}: the endpoints and their probabilities`, command: commandLine(list, '-t', 'nat', '-L', port.svcChain, '-n') });
      }
      const sep = port.endpoints.find((endpoint) => endpoint.sepChain !== null)?.sepChain;
      if (sep !== undefined && sep !== null) {
        commands.push({ where: 'node', description: `Port ${port.portName ?? port.port}: one endpoint's DNAT`, command: commandLine(list, '-t', 'nat', '-L', sep, '-n') });
      }
    }
  } else if (backend === 'nftables') {
    commands.push({ where: 'node', description: "kube-proxy's ClusterIP map", command: `${commandLine('nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips')} | ${commandLine('grep', '-F', '--', `${ref.namespace}/${ref.name}/`)}` });
    for (const port of ports) {
      if (port.svcChain !== null) {
        commands.push({ where: 'node', description: `Port ${port.portName ?? port.port}: the endpoints (numgen)`, command: commandLine('nft', 'list', 'chain', 'ip', 'kube-proxy', port.svcChain) });
      }
      const chain = port.endpoints.find((endpoint) => endpoint.sepChain !== null)?.sepChain;
      if (chain !== undefined && chain !== null) {
        commands.push({ where: 'node', description: `Port ${port.portName ?? port.port}: one endpoint's DNAT`, command: commandLine('nft', 'list', 'chain', 'ip', 'kube-proxy', chain) });
      }
    }
  }
  return commands;
}

/** "Trace service path": the service's path through one node's kube-proxy rules. Two execs. */
export async function traceService(context: DiagnosticContext, ref: ServiceRef, options: DiagnosticOptions & { readonly node?: string } = {}): Promise<ServiceTrace> {
  const service = await readService(context, ref);
  const summary = summaryOf(service);
  const slices = await readServiceSlices(context, ref);
  const image = context.runner.debugImage();

  let node: string;
  let nodeChoice: ServiceTrace['nodeChoice'];
  if (options.node !== undefined) {
    await readNode(context, options.node);
    node = options.node;
    nodeChoice = 'given';
  } else {
    const nodes = await listNodesReadyFirst(context);
    const readyNames = nodes.filter(isNodeReady).map((item) => item.metadata?.name ?? '').filter((name) => name !== '');
    const chosen = chooseTraceNode(slices, service, readyNames.length > 0 ? readyNames : nodes.map((item) => item.metadata?.name ?? ''));
    if (chosen.node === null) {
      throw new DiagnosticError('node-not-found', 'The cluster has no nodes to trace the service on.');
    }
    node = chosen.node;
    nodeChoice = chosen.choice;
  }

  const notes: string[] = [];
  const problems: string[] = [];
  const empty = (mode: ProxyMode, dataPlane: DataPlaneInfo | null, alternative: 'ipvs' | null): ServiceTrace => ({
    service: summary,
    node,
    nodeChoice,
    mode,
    dataPlane,
    backend: null,
    ports: [],
    flags: [],
    alternative,
    notes,
    problems,
    manualCommands: traceManualCommands(ref, node, image, null, []),
  });
  if (summary.type === 'ExternalName') {
    notes.push(`${ref.namespace}/${ref.name} is an ExternalName service: DNS answers with a CNAME to ${service.spec?.externalName ?? '?'}; kube-proxy writes no rules for it.`);
    return empty('unknown', null, null);
  }
  if (summary.clusterIP === 'None') {
    notes.push(`${ref.namespace}/${ref.name} is headless (clusterIP None): DNS returns the pod IPs directly and kube-proxy writes no rules for it.`);
    return empty('unknown', null, null);
  }

  const dataPlane = await detectDataPlane(context, node, options);
  if (dataPlane.proxyMode === 'ipvs') {
    notes.push(`Node ${node} runs kube-proxy in IPVS mode: the path is IPVS virtual server → real servers. Use "IPVS backends" (ipvs ${node} --service ${ref.namespace}/${ref.name}).`);
    return empty('ipvs', dataPlane, 'ipvs');
  }
  let kinds: DumpKind[];
  if (dataPlane.proxyMode === 'nftables' || (dataPlane.nftKubeProxyTable && dataPlane.kubeChainsIn === 'none')) {
    kinds = ['nftables'];
  } else if (dataPlane.kubeChainsIn === 'nft' || dataPlane.kubeChainsIn === 'both') {
    kinds = ['iptables-nft'];
    if (dataPlane.kubeChainsIn === 'both') {
      notes.push('Both iptables backends hold kube-proxy chains; the trace reads the nf_tables one. Compare with the legacy dump ("rules").');
    }
  } else if (dataPlane.kubeChainsIn === 'legacy') {
    kinds = ['iptables-legacy'];
  } else {
    notes.push(
      dataPlane.kubeProxyAbsent
        ? `kube-proxy does not run on node ${node}${dataPlane.replacedBy !== null ? ` (replaced by ${dataPlane.replacedBy})` : ''}: there is no kube-proxy path to trace.`
        : `No kube-proxy rules were found on node ${node} (mode ${dataPlane.proxyMode}).`,
    );
    return empty(dataPlane.proxyMode, dataPlane, null);
  }

  const dumps: RulesDump[] = await dumpRules(context, node, kinds, options);
  const dump = dumps[0];
  problems.push(...dump.problems.slice(0, 20).map((problem) => `${dump.title}, line ${problem.line}: ${problem.reason}`));
  if (dump.truncated) {
    problems.push(`${dump.title} was larger than the memory cap; the trace read only its start.`);
  }
  const rules: TraceRules = dump.backend === 'nftables' ? { kind: 'nftables', parsed: dump.parsed } : { kind: 'iptables', backend: dump.backend, parsed: dump.parsed };

  const addresses = new Set<string>();
  for (const kp of rules.parsed.services) {
    if (kp.service === `${ref.namespace}/${ref.name}`) {
      for (const endpoint of kp.endpoints) {
        const target = splitAddressPort(endpoint.dnatTo);
        if (target !== null) {
          addresses.add(target.address);
        }
      }
    }
  }
  for (const port of service.spec?.ports ?? []) {
    for (const endpoint of sliceEndpointsForPort(slices, port)) {
      addresses.add(endpoint.address);
    }
  }
  const podsByAddress = await findPodsByAddress(context, addresses, ref.namespace);
  const { ports, flags } = traceFromRules({ service, slices, podsByAddress, node, rules });
  if ((service.spec?.clusterIPs ?? []).some((address) => isIP(address) === 6)) {
    notes.push('The service also has an IPv6 ClusterIP; its rules (ip6tables / table ip6 kube-proxy) are not part of this trace.');
  }
  if (flags.every((item) => item.severity === 'info') && ports.length > 0) {
    notes.push(`kube-proxy's rules on node ${node} match the service's EndpointSlices.`);
  }
  return {
    service: summary,
    node,
    nodeChoice,
    mode: dataPlane.proxyMode,
    dataPlane,
    backend: dump.backend,
    ports,
    flags,
    alternative: null,
    notes,
    problems,
    manualCommands: traceManualCommands(ref, node, image, dump.backend, ports),
  };
}


import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';

/**
 * Cluster DNS as CoreDNS's `kubernetes` plugin answers it (kubeadm's Corefile:
 * `kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa ip6.arpa }`
 * followed by `forward . /etc/resolv.conf`, which in the lab has no reachable upstream).
 * Pure functions: the view is built from the API state in the lab process and shipped to the
 * DNS server process, which only answers from it.
 */

export const DNS_TTL = 30;

export interface DnsPort {
  readonly name: string;
  readonly port: number;
  /** Lowercase: tcp, udp, sctp. */
  readonly protocol: string;
}

export interface DnsEndpoint {
  readonly ip: string;
  /** The endpoint's hostname (set for StatefulSet-style pods), or absent. */
  readonly hostname?: string;
  readonly ports: readonly DnsPort[];
}

export interface DnsService {
  readonly namespace: string;
  readonly name: string;
  /** An IPv4 ClusterIP, or 'None' for a headless service. */
  readonly clusterIP: string;
  readonly externalName?: string;
  readonly ports: readonly DnsPort[];
  /** Endpoints DNS publishes: ready ones (all of them with publishNotReadyAddresses). */
  readonly endpoints: readonly DnsEndpoint[];
}

/** Everything the DNS server answers from; plain data, sent over the IPC channel. */
export interface DnsView {
  readonly zone: string;
  /** SOA serial: the Unix time of the last change, as CoreDNS reports it. */
  readonly serial: number;
  readonly namespaces: readonly string[];
  readonly services: readonly DnsService[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^(0|[1-9][0-9]{0,2})$/.test(part) && Number(part) <= 255);
}

/** Builds the DNS view from API objects (invalid names are left out, as the API would reject them). */
export function buildDnsView(
  zone: string,
  serial: number,
  services: readonly V1Service[],
  endpointSlices: readonly V1EndpointSlice[],
  pods: readonly V1Pod[],
): DnsView {
  const namespaces = new Set<string>(['default', 'kube-system', 'kube-public', 'kube-node-lease']);
  for (const object of [...services, ...endpointSlices, ...pods]) {
    const namespace = object.metadata?.namespace ?? '';
    if (DNS_LABEL.test(namespace)) {
      namespaces.add(namespace);
    }
  }
  const slicesByService = new Map<string, V1EndpointSlice[]>();
  for (const slice of endpointSlices) {
    const key = `${slice.metadata?.namespace ?? ''}/${slice.metadata?.labels?.['kubernetes.io/service-name'] ?? ''}`;
    slicesByService.set(key, [...(slicesByService.get(key) ?? []), slice]);
  }
  const dnsServices: DnsService[] = [];
  for (const service of services) {
    const namespace = service.metadata?.namespace ?? '';
    const name = service.metadata?.name ?? '';
    const spec = service.spec;
    if (!spec || !DNS_LABEL.test(namespace) || !DNS_LABEL.test(name)) {
      continue;
    }
    const ports: DnsPort[] = (spec.ports ?? []).map((port) => ({ name: port.name ?? '', port: port.port, protocol: (port.protocol ?? 'TCP').toLowerCase() }));
    if (spec.type === 'ExternalName') {
      const target = (spec.externalName ?? '').toLowerCase().replace(/\.$/, '');
      if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(target)) {
        dnsServices.push({ namespace, name, clusterIP: 'None', externalName: target, ports, endpoints: [] });
      }
      continue;
    }
    const clusterIP = spec.clusterIP ?? '';
    if (clusterIP !== 'None' && !isIPv4(clusterIP)) {
      continue;
    }
    const publishNotReady = spec.publishNotReadyAddresses === true;
    const endpoints = new Map<string, DnsEndpoint>();
    for (const slice of slicesByService.get(`${namespace}/${name}`) ?? []) {
      if (slice.addressType !== 'IPv4') {
        continue;
      }
      const slicePorts: DnsPort[] = (slice.ports ?? [])
        .filter((port) => typeof port.port === 'number')
        .map((port) => ({ name: port.name ?? '', port: port.port as number, protocol: (port.protocol ?? 'TCP').toLowerCase() }));
      for (const endpoint of slice.endpoints ?? []) {
        if (endpoint.conditions?.ready === false && !publishNotReady) {
          continue;
        }
        const hostname = endpoint.hostname !== undefined && DNS_LABEL.test(endpoint.hostname) ? endpoint.hostname : undefined;
        for (const address of endpoint.addresses ?? []) {
          if (isIPv4(address) && !endpoints.has(address)) {
            endpoints.set(address, hostname === undefined ? { ip: address, ports: slicePorts } : { ip: address, hostname, ports: slicePorts });
          }
        }
      }
    }
    dnsServices.push({ namespace, name, clusterIP, ports, endpoints: [...endpoints.values()] });
  }
  dnsServices.sort((left, right) => (`${left.namespace}/${left.name}` < `${right.namespace}/${right.name}` ? -1 : 1));
  return { zone, serial, namespaces: [...namespaces].sort(), services: dnsServices };
}

export type DnsRecord =
  | { readonly type: 'A'; readonly name: string; readonly data: string }
  | { readonly type: 'CNAME' | 'PTR' | 'NS'; readonly name: string; readonly data: string }
  | { readonly type: 'TXT'; readonly name: string; readonly data: string }
  | { readonly type: 'SRV'; readonly name: string; readonly data: { priority: number; weight: number; port: number; target: string } }
  | {
      readonly type: 'SOA';
      readonly name: string;
      readonly data: { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
    };

export type DnsRcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'NOTIMP' | 'FORMERR';

export interface DnsAnswer {
  readonly rcode: DnsRcode;
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/** The zone's SOA as CoreDNS writes it. */
export function soaRecord(view: DnsView): DnsRecord {
  return {
    type: 'SOA',
    name: view.zone,
    data: { mname: `ns.dns.${view.zone}`, rname: `hostmaster.${view.zone}`, serial: view.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: DNS_TTL },
  };
}

function dashedIP(ip: string): string {
  return ip.replace(/\./g, '-');
}

function endpointName(endpoint: DnsEndpoint): string {
  return endpoint.hostname ?? dashedIP(endpoint.ip);
}

/** SRV weights like CoreDNS: 100 shared equally among the records of one priority, at least 1. */
function srvWeight(count: number): number {
  return Math.max(1, Math.floor(100 / count));
}

function serviceFqdn(view: DnsView, service: DnsService): string {
  return `${service.name}.${service.namespace}.svc.${view.zone}`;
}

interface Found {
  /** Records of every type that exist at the name; filtered by the query type afterwards. */
  readonly records: DnsRecord[];
  readonly additionals: DnsRecord[];
}

/**
 * Answers one question. `qname` is as asked (case kept in the answer), `ownAddresses` are what
 * `ns.dns.<zone>` resolves to (the kube-dns ClusterIP, as CoreDNS reports it).
 */
export function resolveQuestion(view: DnsView, qname: string, qtype: string, ownAddresses: readonly string[]): DnsAnswer {
  const name = qname.toLowerCase().replace(/\.$/, '');
  const zone = view.zone;
  const noData: DnsAnswer = { rcode: 'NOERROR', answers: [], authorities: [soaRecord(view)], additionals: [] };
  const nxDomain: DnsAnswer = { rcode: 'NXDOMAIN', answers: [], authorities: [soaRecord(view)], additionals: [] };
  const finish = (found: Found | 'nodata' | 'nxdomain'): DnsAnswer => {
    if (found === 'nxdomain') {
      return nxDomain;
    }
    if (found === 'nodata') {
      return noData;
    }
    const answers = dedupe(found.records)
      .filter((record) => record.type === qtype || (record.type === 'CNAME' && qtype !== 'CNAME'))
      .map((record) => (record.name === name ? { ...record, name: qname.replace(/\.$/, '') } : record));
    if (answers.length === 0) {
      return noData;
    }
    const additionals = qtype === 'SRV' || qtype === 'NS' ? dedupe(found.additionals) : [];
    return { rcode: 'NOERROR', answers, authorities: [], additionals };
  };

  if (name.endsWith('.in-addr.arpa')) {
    const found = reverseLookup(view, name);
    return found ? finish(found) : servFail();
  }
  if (name !== zone && !name.endsWith(`.${zone}`)) {
    // Not ours: CoreDNS would forward it, and the lab has no upstream.
    return servFail();
  }
  if (name === zone) {
    const nsName = `ns.dns.${zone}`;
    return finish({
      records: [soaRecord(view), { type: 'NS', name, data: nsName }],
      additionals: ownAddresses.map((address) => ({ type: 'A', name: nsName, data: address })),
    });
  }
  const labels = name.slice(0, -(zone.length + 1)).split('.');
  if (labels.length === 1 && labels[0] === 'dns-version') {
    return finish({ records: [{ type: 'TXT', name, data: '1.1.0' }], additionals: [] });
  }
  if (labels.join('.') === 'ns.dns') {
    return finish({ records: ownAddresses.map((address) => ({ type: 'A', name, data: address })), additionals: [] });
  }
  if (labels.join('.') === 'dns') {
    return noData;
  }
  const kind = labels[labels.length - 1];
  if (kind === 'pod') {
    return finish(podLookup(view, name, labels.slice(0, -1)));
  }
  if (kind === 'svc') {
    return finish(serviceLookup(view, name, labels.slice(0, -1)));
  }
  return nxDomain;
}

/** Identical records (two ports of one number, as kube-dns's dns and dns-tcp) appear once. */
function dedupe(records: readonly DnsRecord[]): DnsRecord[] {
  const seen = new Set<string>();
  return records.filter((record) => {
    const key = JSON.stringify(record);
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

function servFail(): DnsAnswer {
  return { rcode: 'SERVFAIL', answers: [], authorities: [], additionals: [] };
}

/** `a-b-c-d.<ns>.pod.<zone>` (pods insecure: any well-formed address in an existing namespace). */
function podLookup(view: DnsView, name: string, labels: readonly string[]): Found | 'nodata' | 'nxdomain' {
  if (labels.length === 0) {
    return 'nodata';
  }
  const namespace = labels[labels.length - 1] ?? '';
  if (!view.namespaces.includes(namespace)) {
    return 'nxdomain';
  }
  if (labels.length === 1) {
    return 'nodata';
  }
  if (labels.length !== 2) {
    return 'nxdomain';
  }
  const address = (labels[0] ?? '').replace(/-/g, '.');
  if (!isIPv4(address)) {
    return 'nxdomain';
  }
  return { records: [{ type: 'A', name, data: address }], additionals: [] };
}

function serviceLookup(view: DnsView, name: string, labels: readonly string[]): Found | 'nodata' | 'nxdomain' {
  if (labels.length === 0) {
    return 'nodata';
  }
  const namespace = labels[labels.length - 1] ?? '';
  if (!view.namespaces.includes(namespace)) {
    return 'nxdomain';
  }
  if (labels.length === 1) {
    return 'nodata';
  }
  const serviceName = labels[labels.length - 2] ?? '';
  const service = view.services.find((candidate) => candidate.namespace === namespace && candidate.name === serviceName);
  if (!service) {
    return 'nxdomain';
  }
  const rest = labels.slice(0, -2);
  if (rest.length === 0) {
    return serviceRecords(view, name, service, undefined);
  }
  if (rest.length === 2 && rest[0]?.startsWith('_') && rest[1]?.startsWith('_')) {
    const portName = rest[0].slice(1);
    const protocol = rest[1].slice(1);
    return serviceRecords(view, name, service, { portName, protocol });
  }
  if (rest.length === 1 && service.clusterIP === 'None' && service.externalName === undefined) {
    const endpoint = service.endpoints.find((candidate) => endpointName(candidate) === rest[0]);
    if (endpoint) {
      return { records: [{ type: 'A', name, data: endpoint.ip }], additionals: [] };
    }
  }
  return 'nxdomain';
}

function serviceRecords(view: DnsView, name: string, service: DnsService, portFilter: { portName: string; protocol: string } | undefined): Found | 'nxdomain' {
  const fqdn = serviceFqdn(view, service);
  const matches = (port: DnsPort): boolean => portFilter === undefined || (port.name === portFilter.portName && port.protocol === portFilter.protocol);
  if (service.externalName !== undefined) {
    const ports = service.ports.filter(matches);
    if (portFilter !== undefined && ports.length === 0) {
      return 'nxdomain';
    }
    const records: DnsRecord[] = [{ type: 'CNAME', name, data: service.externalName }];
    for (const port of ports) {
      records.push({ type: 'SRV', name, data: { priority: 0, weight: srvWeight(ports.length), port: port.port, target: service.externalName } });
    }
    return { records, additionals: [] };
  }
  if (service.clusterIP !== 'None') {
    const ports = service.ports.filter(matches);
    if (portFilter !== undefined && ports.length === 0) {
      return 'nxdomain';
    }
    const records: DnsRecord[] = portFilter === undefined ? [{ type: 'A', name, data: service.clusterIP }] : [];
    for (const port of ports) {
      records.push({ type: 'SRV', name, data: { priority: 0, weight: srvWeight(ports.length), port: port.port, target: fqdn } });
    }
    return { records, additionals: ports.length > 0 ? [{ type: 'A', name: fqdn, data: service.clusterIP }] : [] };
  }
  // Headless: one A per ready endpoint, one SRV per endpoint and port, targets named per endpoint.
  const records: DnsRecord[] = portFilter === undefined ? service.endpoints.map((endpoint) => ({ type: 'A', name, data: endpoint.ip })) : [];
  const srv: { port: number; target: string; ip: string }[] = [];
  for (const endpoint of service.endpoints) {
    for (const port of endpoint.ports.filter(matches)) {
      srv.push({ port: port.port, target: `${endpointName(endpoint)}.${fqdn}`, ip: endpoint.ip });
    }
  }
  if (portFilter !== undefined && srv.length === 0 && !service.ports.some(matches)) {
    return 'nxdomain';
  }
  for (const entry of srv) {
    records.push({ type: 'SRV', name, data: { priority: 0, weight: srvWeight(srv.length), port: entry.port, target: entry.target } });
  }
  const additionals: DnsRecord[] = srv.map((entry) => ({ type: 'A', name: entry.target, data: entry.ip }));
  return { records, additionals };
}

/** PTR for service ClusterIPs and headless endpoints; anything else falls through (no upstream). */
function reverseLookup(view: DnsView, name: string): Found | undefined {
  const octets = name.slice(0, -'.in-addr.arpa'.length).split('.');
  if (octets.length !== 4) {
    return undefined;
  }
  const address = [...octets].reverse().join('.');
  if (!isIPv4(address)) {
    return undefined;
  }
  const records: DnsRecord[] = [];
  for (const service of view.services) {
    if (service.clusterIP === address) {
      records.push({ type: 'PTR', name, data: serviceFqdn(view, service) });
    }
    if (service.clusterIP === 'None') {
      for (const endpoint of service.endpoints) {
        if (endpoint.ip === address) {
          records.push({ type: 'PTR', name, data: `${endpointName(endpoint)}.${serviceFqdn(view, service)}` });
        }
      }
    }
  }
  return records.length > 0 ? { records, additionals: [] } : undefined;
}

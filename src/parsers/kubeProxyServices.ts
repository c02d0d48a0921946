/**
 * The services view of kube-proxy's iptables rules: which ClusterIP:port goes to which
 * KUBE-SVC chain, which KUBE-SEP endpoints with which probability, and where each DNATs.
 * Built from rule facts that both `iptables-save` and `iptables -L` parsing produce.
 */

/** One endpoint of a service port as kube-proxy programmed it. */
export interface KubeProxyEndpoint {
  /** KUBE-SEP-… chain (iptables) or endpoint-… chain (nftables); null when nftables mode DNATs straight from the service chain. */
  sepChain: string | null;
  /**
   * As written in the rules: iptables' `--probability` (conditional on the earlier rules not
   * matching; null on the last rule, which takes the rest), or nftables' 1/N of `numgen mod N`.
   */
  probability: number | null;
  /** `--to-destination` / `dnat to` target, e.g. `10.244.0.3:53` or `[fd00::3]:53`; null when not visible. */
  dnatTo: string | null;
  /** The share of new connections this endpoint gets (probabilities made unconditional); null when unknown. */
  share: number | null;
}

/** One service port as kube-proxy programmed it. */
export interface KubeProxyService {
  /** `namespace/name`. */
  service: string;
  /** The service port's name; null for an unnamed port. */
  portName: string | null;
  clusterIP: string | null;
  port: number | null;
  /** `tcp`, `udp`, `sctp` (lower case). */
  protocol: string | null;
  /** KUBE-SVC-… (iptables) or service-… (nftables) chain; null when the service has no endpoints (only a reject rule). */
  svcChain: string | null;
  endpoints: KubeProxyEndpoint[];
  /** External IPs and load-balancer IPs that lead to this service port. */
  externalIPs: string[];
  nodePorts: number[];
  /** ClientIP session affinity rules seen (`-m recent --rcheck`, nftables affinity sets). */
  sessionAffinity: boolean;
  /** A reject/drop rule for "has no endpoints" was seen. */
  noEndpoints: boolean;
}

/** What the services view needs to know about one rule, whatever tool printed it. */
export interface RuleFacts {
  chain: string;
  target: string | null;
  comment: string | null;
  /** Destination address without a /32 or /128 suffix; null when absent, negated or "any". */
  destination: string | null;
  protocol: string | null;
  dport: number | null;
  probability: number | null;
  dnatTo: string | null;
  /** `-m recent --rcheck` (session affinity check). */
  affinityCheck: boolean;
}

/** A `namespace/name[:port]` reference found in a kube-proxy comment, and the words after it. */
export interface ServiceComment {
  service: string;
  portName: string | null;
  /** The rest of the comment after the reference (`cluster IP`, `external IP`, `has no endpoints`, `-> 10.1.2.3:80`). */
  rest: string;
}

const SERVICE_REFERENCE = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)(?::(\S*))?$/;

/** Finds the service reference in a kube-proxy comment; null when there is none. */
export function parseServiceComment(comment: string | null): ServiceComment | null {
  if (comment === null) {
    return null;
  }
  const tokens = comment.split(' ');
  for (let i = 0; i < tokens.length; i++) {
    const match = SERVICE_REFERENCE.exec(tokens[i]);
    if (match) {
      const portName = match[3] === undefined || match[3] === '' ? null : match[3];
      return { service: `${match[1]}/${match[2]}`, portName, rest: tokens.slice(i + 1).join(' ') };
    }
  }
  return null;
}

/** Strips `/32` and `/128` host prefixes; null for "any" addresses. */
export function hostAddress(address: string | null | undefined): string | null {
  if (address === null || address === undefined || address.length === 0) {
    return null;
  }
  if (address === '0.0.0.0/0' || address === '::/0' || address === 'anywhere') {
    return null;
  }
  if (address.endsWith('/32') || address.endsWith('/128')) {
    return address.slice(0, address.lastIndexOf('/'));
  }
  return address;
}

/** Fills in each endpoint's unconditional share from the rules' conditional probabilities. */
export function computeShares(endpoints: KubeProxyEndpoint[]): void {
  let remaining = 1;
  for (const endpoint of endpoints) {
    // A rule without a probability takes everything the earlier rules left.
    const share = endpoint.probability === null ? remaining : remaining * endpoint.probability;
    endpoint.share = share;
    remaining -= share;
  }
}

const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-EXT-', 'KUBE-FW-', 'KUBE-XLB-'];

/** The hash shared by a service port's KUBE-SVC-/SVL-/EXT-/FW-/XLB- chains; null for other chains. */
export function serviceChainHash(chain: string | null): string | null {
  if (chain === null) {
    return null;
  }
  for (const prefix of SERVICE_CHAIN_PREFIXES) {
    if (chain.startsWith(prefix)) {
      return chain.slice(prefix.length);
    }
  }
  return null;
}

function newService(service: string, portName: string | null): KubeProxyService {
  return {
    service,
    portName,
    clusterIP: null,
    port: null,
    protocol: null,
    svcChain: null,
    endpoints: [],
    externalIPs: [],
    nodePorts: [],
    sessionAffinity: false,
    noEndpoints: false,
  };
}

/** Well-known port names that `iptables -L` without `-n` prints instead of numbers. */
export const PORT_NAMES: Readonly<Record<string, number>> = {
  domain: 53,
  http: 80,
  https: 443,
  'http-alt': 8080,
  ssh: 22,
  ntp: 123,
  snmp: 161,
  ldap: 389,
  ldaps: 636,
  mysql: 3306,
  postgresql: 5432,
  redis: 6379,
  'sun-sr-https': 6443,
  webcache: 8080,
};

/**
 * Derives the services view from the rules of kube-proxy's iptables mode (old 1.3-era and
 * current layouts): KUBE-SERVICES and KUBE-NODEPORTS entries, KUBE-SVC/SVL chains with
 * their KUBE-SEP jumps and probabilities, KUBE-SEP DNAT targets, "has no endpoints" rejects.
 * Linear in the number of rules.
 */
export function deriveIptablesServices(rules: RuleFacts[]): KubeProxyService[] {
  const byHash = new Map<string, KubeProxyService>();
  const byReference = new Map<string, KubeProxyService>();
  const order: KubeProxyService[] = [];
  const sepDnat = new Map<string, string>();
  const svcRules = new Map<string, RuleFacts[]>();

  const referenceKey = (service: string, portName: string | null, protocol: string | null): string => `${service}\u0000${portName ?? ''}\u0000${protocol ?? ''}`;

  const register = (service: KubeProxyService): KubeProxyService => {
    order.push(service);
    return service;
  };

  const forHash = (hash: string, comment: ServiceComment | null, protocol: string | null): KubeProxyService | null => {
    let service = byHash.get(hash);
    if (service === undefined) {
      if (comment === null) {
        return null;
      }
      const key = referenceKey(comment.service, comment.portName, protocol);
      service = byReference.get(key);
      if (service === undefined || (service.svcChain !== null && serviceChainHash(service.svcChain) !== hash)) {
        service = register(newService(comment.service, comment.portName));
        byReference.set(key, service);
      }
      byHash.set(hash, service);
    }
    if (protocol !== null && service.protocol === null) {
      service.protocol = protocol;
      if (comment !== null) {
        byReference.set(referenceKey(service.service, service.portName, protocol), service);
      }
    }
    return service;
  };

  // First pass: where every chain's hash leads, DNAT targets, rules of the SVC/SVL chains.
  for (const rule of rules) {
    if (rule.chain.startsWith('KUBE-SEP-') && rule.dnatTo !== null && (rule.target === 'DNAT' || rule.target === null)) {
      sepDnat.set(rule.chain, rule.dnatTo);
      continue;
    }
    if (rule.chain.startsWith('KUBE-SVC-') || rule.chain.startsWith('KUBE-SVL-')) {
      const list = svcRules.get(rule.chain);
      if (list === undefined) {
        svcRules.set(rule.chain, [rule]);
      } else {
        list.push(rule);
      }
      continue;
    }
    if (!rule.chain.startsWith('KUBE-')) {
      continue;
    }
    const comment = parseServiceComment(rule.comment);
    const ownHash = serviceChainHash(rule.chain);
    if (ownHash !== null && (rule.target?.startsWith('KUBE-SVC-') === true || rule.target?.startsWith('KUBE-SVL-') === true) && serviceChainHash(rule.target) === ownHash) {
      // KUBE-EXT/FW/XLB-X jumping to KUBE-SVC/SVL-X of the same service port.
      const service = forHash(ownHash, comment, rule.protocol);
      if (service !== null && service.svcChain === null) {
        service.svcChain = rule.target;
      }
      continue;
    }
    if (rule.chain === 'KUBE-SERVICES' || rule.chain === 'KUBE-EXTERNAL-SERVICES' || rule.chain === 'KUBE-NODEPORTS') {
      const hash = serviceChainHash(rule.target);
      const kind = comment?.rest ?? '';
      if (hash !== null) {
        const service = forHash(hash, comment, rule.protocol);
        if (service === null) {
          continue;
        }
        if (rule.chain === 'KUBE-NODEPORTS') {
          if (rule.dport !== null && !service.nodePorts.includes(rule.dport)) {
            service.nodePorts.push(rule.dport);
          }
          continue;
        }
        const isExternal = kind.startsWith('external IP') || kind.startsWith('loadbalancer IP') || rule.target?.startsWith('KUBE-FW-') === true || rule.target?.startsWith('KUBE-XLB-') === true || (rule.target?.startsWith('KUBE-EXT-') === true && !kind.startsWith('cluster IP'));
        if (isExternal) {
          if (rule.destination !== null && !service.externalIPs.includes(rule.destination)) {
            service.externalIPs.push(rule.destination);
          }
        } else {
          if (service.clusterIP === null) {
            service.clusterIP = rule.destination;
          }
          if (service.port === null) {
            service.port = rule.dport;
          }
        }
        if ((rule.target?.startsWith('KUBE-SVC-') === true || rule.target?.startsWith('KUBE-SVL-') === true) && service.svcChain === null) {
          service.svcChain = rule.target;
        }
        continue;
      }
      if ((rule.target === 'REJECT' || rule.target === 'DROP') && comment !== null && kind.includes('has no endpoints')) {
        const key = referenceKey(comment.service, comment.portName, rule.protocol);
        let service = byReference.get(key);
        if (service === undefined) {
          service = register(newService(comment.service, comment.portName));
          service.protocol = rule.protocol;
          byReference.set(key, service);
        }
        service.noEndpoints = true;
        if (rule.chain === 'KUBE-SERVICES' && service.clusterIP === null) {
          service.clusterIP = rule.destination;
          service.port ??= rule.dport;
        } else if (rule.chain === 'KUBE-NODEPORTS' || (rule.chain === 'KUBE-EXTERNAL-SERVICES' && rule.destination === null)) {
          if (rule.dport !== null && !service.nodePorts.includes(rule.dport)) {
            service.nodePorts.push(rule.dport);
          }
        } else if (rule.destination !== null && !service.externalIPs.includes(rule.destination)) {
          service.externalIPs.push(rule.destination);
        }
      }
    }
  }

  // Second pass: the endpoints of each SVC chain, or of the SVL chain when the service has no SVC chain.
  const chains = [...svcRules.keys()];
  const ordered = [...chains.filter((chain) => chain.startsWith('KUBE-SVC-')), ...chains.filter((chain) => chain.startsWith('KUBE-SVL-'))];
  for (const chain of ordered) {
    const list = svcRules.get(chain) ?? [];
    const hash = serviceChainHash(chain);
    if (hash === null) {
      continue;
    }
    let comment: ServiceComment | null = null;
    for (const rule of list) {
      comment = parseServiceComment(rule.comment);
      if (comment !== null) {
        break;
      }
    }
    const protocol = list.find((rule) => rule.protocol !== null)?.protocol ?? null;
    const service = forHash(hash, comment, protocol);
    if (service === null) {
      continue;
    }
    if (chain.startsWith('KUBE-SVL-') && service.endpoints.length > 0 && service.svcChain !== chain) {
      continue;
    }
    service.svcChain = chain;
    for (const rule of list) {
      if (rule.target === null || !rule.target.startsWith('KUBE-SEP-')) {
        const masqueradeComment = rule.target === 'KUBE-MARK-MASQ' ? parseServiceComment(rule.comment) : null;
        if (masqueradeComment !== null && masqueradeComment.rest.startsWith('cluster IP') && service.clusterIP === null && rule.destination !== null) {
          service.clusterIP = rule.destination;
          service.port ??= rule.dport;
        }
        continue;
      }
      if (rule.affinityCheck) {
        service.sessionAffinity = true;
        continue;
      }
      if (service.endpoints.some((endpoint) => endpoint.sepChain === rule.target)) {
        continue;
      }
      service.endpoints.push({ sepChain: rule.target, probability: rule.probability, dnatTo: null, share: null });
    }
  }

  for (const service of order) {
    for (const endpoint of service.endpoints) {
      if (endpoint.sepChain !== null) {
        endpoint.dnatTo = sepDnat.get(endpoint.sepChain) ?? null;
      }
    }
    computeShares(service.endpoints);
  }
  return order;
}

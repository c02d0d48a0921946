/**
 * `nft list ruleset` / `nft list table …` / `nft list chain …` output (with or without `-a`
 * handles) as tables, chains, sets and maps, plus the services view of kube-proxy's
 * nftables mode (`table ip kube-proxy`: the `service-ips` verdict map, `service-…`,
 * `external-…` and `endpoint-…` chains, `numgen` load balancing, `no-endpoint-services`).
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import type { KubeProxyEndpoint, KubeProxyService, RuleFacts } from './kubeProxyServices';
import { deriveIptablesServices, hostAddress, parseServiceComment } from './kubeProxyServices';
import { isTrimMark, splitLines, toInt } from './text';

/** One rule of a chain. */
export interface NftRule {
  /** The rule as printed (handle comment removed, surrounding blanks trimmed). */
  raw: string;
  /** 1-based line number in the input. */
  line: number;
  /** `# handle N` with `nft -a`. */
  handle?: number;
  /** Chain named by a top-level `jump`/`goto`. */
  target?: string;
  /** Final top-level verdict or action word (accept, drop, reject, return, jump, goto, dnat, masquerade…). */
  verdict?: string;
  comment?: string;
  counter?: { packets: number; bytes: number };
}

/** One chain. */
export interface NftChain {
  name: string;
  /** Base chain `type` (filter, nat, route). */
  type?: string;
  hook?: string;
  /** Priority as printed (`dstnat`, `filter`, `-100`). */
  priority?: string;
  policy?: string;
  comment?: string;
  handle?: number;
  line: number;
  rules: NftRule[];
}

/** One element of a set or map. */
export interface NftElement {
  /** The element's key (`10.96.0.10 . tcp . 53`). */
  key: string;
  /** A map element's value (`goto service-…`); null in a set. */
  value: string | null;
  comment: string | null;
}

/** A set or map. */
export interface NftSet {
  name: string;
  /** `type` or `typeof` as printed. */
  type?: string;
  flags?: string;
  comment?: string;
  handle?: number;
  line: number;
  elements: NftElement[];
}

/** One table. */
export interface NftTable {
  /** ip, ip6, inet, arp, bridge, netdev; empty when the output started inside a table. */
  family: string;
  /** Empty when the output started inside a table. */
  name: string;
  comment?: string;
  handle?: number;
  /** 1-based line of `table …`; null for an implicit table. */
  line: number | null;
  /** True when the output had no `table` line around these chains (`nft list chain`, fragments). */
  implicit?: boolean;
  chains: NftChain[];
  maps: NftSet[];
  sets: NftSet[];
}

/** A parsed ruleset. */
export interface NftRuleset {
  tables: NftTable[];
  services: KubeProxyService[];
}

function empty(): NftRuleset {
  return { tables: [], services: [] };
}

type Block =
  | { kind: 'table'; table: NftTable }
  | { kind: 'chain'; table: NftTable; chain: NftChain }
  | { kind: 'set'; table: NftTable; set: NftSet }
  | { kind: 'other'; table: NftTable | null };

/** Removes a trailing `# handle N` (nft -a) and returns it. */
function splitHandle(line: string): { text: string; handle: number | null } {
  const index = line.lastIndexOf('# handle ');
  if (index === -1) {
    return { text: line, handle: null };
  }
  const handle = toInt(line.slice(index + '# handle '.length).trim());
  if (handle === null) {
    return { text: line, handle: null };
  }
  return { text: line.slice(0, index).trimEnd(), handle };
}

/** Brace balance outside double quotes. */
function braceBalance(text: string): number {
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted) {
      if (ch === '{') {
        depth++;
      } else if (ch === '}') {
        depth--;
      }
    }
  }
  return depth;
}

interface Token {
  text: string;
  depth: number;
}

/** Splits a statement into words, keeping quoted strings whole and noting each word's brace depth. */
function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t' || ch === ',') {
      i++;
      continue;
    }
    if (ch === '{') {
      out.push({ text: '{', depth });
      depth++;
      i++;
      continue;
    }
    if (ch === '}') {
      depth = Math.max(0, depth - 1);
      out.push({ text: '}', depth });
      i++;
      continue;
    }
    if (ch === '"') {
      const end = text.indexOf('"', i + 1);
      const stop = end === -1 ? text.length : end + 1;
      out.push({ text: text.slice(i, stop), depth });
      i = stop;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t' && text[j] !== '{' && text[j] !== '}' && text[j] !== ',' && text[j] !== '"') {
      j++;
    }
    out.push({ text: text.slice(i, j), depth });
    i = j;
  }
  return out;
}

function unquote(text: string): string {
  return text.length >= 2 && text.startsWith('"') && text.endsWith('"') ? text.slice(1, -1) : text;
}

const VERDICTS = new Set(['accept', 'drop', 'reject', 'return', 'continue', 'queue', 'masquerade', 'dnat', 'snat', 'redirect', 'notrack', 'log']);

function readRule(raw: string, line: number, handle: number | null): NftRule {
  const rule: NftRule = { raw, line };
  if (handle !== null) {
    rule.handle = handle;
  }
  const tokens = tokenize(raw);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.depth !== 0) {
      continue;
    }
    const next = tokens[i + 1];
    if ((token.text === 'jump' || token.text === 'goto') && next !== undefined && next.depth === 0 && next.text !== '{') {
      rule.target = unquote(next.text);
      rule.verdict = token.text;
      i++;
    } else if (token.text === 'comment' && next !== undefined && next.text.startsWith('"')) {
      rule.comment = unquote(next.text);
      i++;
    } else if (token.text === 'counter' && tokens[i + 1]?.text === 'packets' && tokens[i + 3]?.text === 'bytes') {
      const packets = toInt(tokens[i + 2]?.text);
      const bytes = toInt(tokens[i + 4]?.text);
      if (packets !== null && bytes !== null) {
        rule.counter = { packets, bytes };
      }
      i += 4;
    } else if (VERDICTS.has(token.text) && rule.target === undefined) {
      rule.verdict = token.text;
    }
  }
  return rule;
}

/** Splits `{ a, b : c, d }` contents at top-level commas. */
function splitElements(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted) {
      if (ch === '{') {
        depth++;
      } else if (ch === '}') {
        depth--;
      } else if (ch === ',' && depth === 0) {
        out.push(body.slice(start, i));
        start = i + 1;
      }
    }
  }
  out.push(body.slice(start));
  return out.map((item) => item.trim()).filter((item) => item.length > 0);
}

function readElement(text: string): NftElement {
  let comment: string | null = null;
  let rest = text;
  const commentIndex = rest.indexOf(' comment "');
  if (commentIndex !== -1) {
    const end = rest.indexOf('"', commentIndex + ' comment "'.length);
    if (end !== -1) {
      comment = rest.slice(commentIndex + ' comment "'.length, end);
      rest = `${rest.slice(0, commentIndex)}${rest.slice(end + 1)}`;
    }
  }
  const separator = rest.indexOf(' : ');
  if (separator === -1) {
    return { key: rest.trim(), value: null, comment };
  }
  return { key: rest.slice(0, separator).trim(), value: rest.slice(separator + 3).trim(), comment };
}

function readElementsStatement(set: NftSet, statement: string): boolean {
  const open = statement.indexOf('{');
  const close = statement.lastIndexOf('}');
  if (open === -1 || close < open) {
    return false;
  }
  for (const item of splitElements(statement.slice(open + 1, close))) {
    set.elements.push(readElement(item));
  }
  return true;
}

const BLOCK_KEYWORDS = new Set(['chain', 'set', 'map', 'flowtable', 'counter', 'quota', 'limit', 'secmark', 'synproxy', 'ct']);

function parseText(text: string): ParseResult<NftRuleset> {
  const problems: ParseProblem[] = [];
  const tables: NftTable[] = [];
  const stack: Block[] = [];
  let pending: { parts: string[]; balance: number; line: number; original: string; handle: number | null } | null = null;

  const implicitTable = (): NftTable => {
    const table: NftTable = { family: '', name: '', line: null, implicit: true, chains: [], maps: [], sets: [] };
    tables.push(table);
    stack.push({ kind: 'table', table });
    return table;
  };

  const handleStatement = (statement: string, lineNumber: number, original: string, handle: number | null): void => {
    const top = stack.length > 0 ? stack[stack.length - 1] : null;
    const tokens = statement.split(/\s+/);
    const keyword = tokens[0];

    if (statement === '}') {
      if (stack.length === 0) {
        problems.push({ line: lineNumber, text: original, reason: 'closing brace without an open block' });
      } else {
        stack.pop();
      }
      return;
    }

    if (keyword === 'table' && statement.endsWith('{')) {
      const parts = statement.slice(0, -1).trim().split(/\s+/);
      const table: NftTable = parts.length >= 3
        ? { family: parts[1], name: unquote(parts[2]), line: lineNumber, chains: [], maps: [], sets: [] }
        : { family: 'ip', name: unquote(parts[1] ?? ''), line: lineNumber, chains: [], maps: [], sets: [] };
      if (handle !== null) {
        table.handle = handle;
      }
      tables.push(table);
      stack.push({ kind: 'table', table });
      return;
    }

    if (BLOCK_KEYWORDS.has(keyword) && statement.endsWith('{') && (top === null || top.kind === 'table')) {
      const table = top === null ? implicitTable() : top.table;
      const name = unquote(statement.slice(keyword.length, -1).trim().replace(/^(helper|timeout|expectation)\s+/, ''));
      if (keyword === 'chain') {
        const chain: NftChain = { name, line: lineNumber, rules: [] };
        if (handle !== null) {
          chain.handle = handle;
        }
        table.chains.push(chain);
        stack.push({ kind: 'chain', table, chain });
      } else if (keyword === 'set' || keyword === 'map') {
        const set: NftSet = { name, line: lineNumber, elements: [] };
        if (handle !== null) {
          set.handle = handle;
        }
        (keyword === 'map' ? table.maps : table.sets).push(set);
        stack.push({ kind: 'set', table, set });
      } else {
        stack.push({ kind: 'other', table });
      }
      return;
    }

    if (top === null) {
      problems.push({ line: lineNumber, text: original, reason: 'not inside a table, chain, set or map' });
      return;
    }

    if (top.kind === 'table') {
      if (keyword === 'comment') {
        top.table.comment = unquote(statement.slice('comment'.length).trim());
        return;
      }
      if (keyword === 'flags') {
        return;
      }
      problems.push({ line: lineNumber, text: original, reason: 'unexpected line at table level' });
      return;
    }

    if (top.kind === 'chain') {
      const chain = top.chain;
      if (keyword === 'type' && statement.includes(' hook ')) {
        const match = /^type\s+(\S+)\s+hook\s+(\S+)(?:\s+device\s+\S+)?\s+priority\s+([^;]+);(?:\s*policy\s+(\S+?);)?/.exec(statement);
        if (match) {
          chain.type = match[1];
          chain.hook = match[2];
          chain.priority = match[3].trim();
          if (match[4] !== undefined) {
            chain.policy = match[4];
          }
        } else {
          problems.push({ line: lineNumber, text: original, reason: 'unreadable base chain declaration' });
        }
        return;
      }
      if (keyword === 'policy' && statement.endsWith(';')) {
        chain.policy = statement.slice('policy'.length, -1).trim();
        return;
      }
      if (keyword === 'comment' && /^comment\s+"[^"]*"$/.test(statement)) {
        chain.comment = unquote(statement.slice('comment'.length).trim());
        return;
      }
      chain.rules.push(readRule(statement, lineNumber, handle));
      return;
    }

    if (top.kind === 'set') {
      const set = top.set;
      if (keyword === 'type' || keyword === 'typeof') {
        set.type = statement.slice(keyword.length).trim();
      } else if (keyword === 'flags') {
        set.flags = statement.slice('flags'.length).trim();
      } else if (keyword === 'comment') {
        set.comment = unquote(statement.slice('comment'.length).trim());
      } else if (keyword === 'elements') {
        if (!readElementsStatement(set, statement)) {
          problems.push({ line: lineNumber, text: original, reason: 'unreadable elements list' });
        }
      } else if (!['size', 'timeout', 'gc-interval', 'policy', 'auto-merge', 'counter'].includes(keyword)) {
        problems.push({ line: lineNumber, text: original, reason: `unexpected line in ${set.name}` });
      }
      return;
    }
    // Inside a flowtable, named counter, quota…: nothing to keep.
  };

  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const original = lines[n];
    const lineNumber = n + 1;
    if (isTrimMark(original)) {
      continue;
    }
    const { text: withoutHandle, handle } = splitHandle(original);
    const trimmed = withoutHandle.trim();
    if (pending !== null) {
      // Balance is kept per line so a long wrapped list stays linear.
      pending.parts.push(trimmed);
      pending.balance += braceBalance(trimmed);
      if (handle !== null) {
        pending.handle = handle;
      }
      if (pending.balance <= 0) {
        const done = pending;
        pending = null;
        handleStatement(done.parts.join(' '), done.line, done.original, done.handle);
      }
      continue;
    }
    if (trimmed.length === 0 || trimmed.startsWith('#')) {
      continue;
    }
    const balance = braceBalance(trimmed);
    const opensBlock = trimmed.endsWith('{') && balance === 1;
    if (balance > 0 && !opensBlock) {
      pending = { parts: [trimmed], balance, line: lineNumber, original, handle };
      continue;
    }
    handleStatement(trimmed, lineNumber, original, handle);
  }
  const unfinished = pending as { line: number; original: string } | null;
  if (unfinished !== null) {
    problems.push({ line: unfinished.line, text: unfinished.original, reason: 'statement not closed before the end of the output' });
  }
  return { value: { tables, services: [...deriveNftServices(tables), ...deriveIptablesNftServices(tables)] }, problems };
}

/** Facts of a rule that iptables-nft wrote (kube-proxy iptables mode seen through `nft list`). */
function iptablesFacts(chain: string, rule: NftRule): RuleFacts {
  const raw = rule.raw;
  const daddr = /\bip6? daddr (\S+)/.exec(raw);
  const protocol = /\bmeta l4proto (\w+)/.exec(raw) ?? /\bip protocol (\w+)/.exec(raw) ?? /\b(tcp|udp|sctp) dport\b/.exec(raw);
  const dport = /\b(?:tcp|udp|sctp|th) dport (\d+)/.exec(raw);
  const dnat = /\bdnat (?:ip6? )?to (\S+)/.exec(raw);
  return {
    chain,
    target: rule.target ?? (dnat ? 'DNAT' : rule.verdict === 'reject' ? 'REJECT' : rule.verdict === 'drop' ? 'DROP' : null),
    comment: rule.comment ?? null,
    destination: daddr && daddr[1] !== '!=' && !daddr[1].startsWith('@') && !daddr[1].startsWith('{') ? hostAddress(daddr[1]) : null,
    protocol: protocol ? protocol[1] : null,
    dport: dport ? Number(dport[1]) : null,
    probability: null,
    dnatTo: dnat ? dnat[1] : null,
    affinityCheck: false,
  };
}

/** kube-proxy's iptables-mode services from KUBE-* chains that iptables-nft keeps in nftables tables. */
function deriveIptablesNftServices(tables: NftTable[]): KubeProxyService[] {
  const facts: RuleFacts[] = [];
  for (const table of tables) {
    for (const chain of table.chains) {
      if (!chain.name.startsWith('KUBE-')) {
        continue;
      }
      for (const rule of chain.rules) {
        facts.push(iptablesFacts(chain.name, rule));
      }
    }
  }
  return facts.length === 0 ? [] : deriveIptablesServices(facts);
}

/** `service-HASH-ns/name/proto/port` (also external-, local-, firewall-, endpoint- prefixes). */
const KUBE_PROXY_CHAIN = /^(service|external|local|firewall|endpoint)-([A-Z0-9]+)-([^/\s]+)\/([^/\s]+)\/([a-z]+)\/([^/\s]*?)(?:__(.+))?$/;

interface ChainName {
  prefix: string;
  hash: string;
  service: string;
  protocol: string;
  portName: string | null;
  endpoint: string | null;
}

function readChainName(name: string): ChainName | null {
  // nft limits names to 256 characters; anything longer is not kube-proxy's.
  const match = name.length > 512 ? null : KUBE_PROXY_CHAIN.exec(name);
  if (!match) {
    return null;
  }
  return {
    prefix: match[1],
    hash: match[2],
    service: `${match[3]}/${match[4]}`,
    protocol: match[5],
    portName: match[6] === '' ? null : match[6],
    endpoint: match[7] ?? null,
  };
}

/** `10.180.0.1/80` of an endpoint chain name as a DNAT target `10.180.0.1:80` (`[fd00::1]:80` for IPv6). */
function endpointFromName(endpoint: string): string | null {
  const slash = endpoint.lastIndexOf('/');
  if (slash === -1) {
    return null;
  }
  const address = endpoint.slice(0, slash);
  const port = endpoint.slice(slash + 1);
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** `a . b . c` → parts. */
function concatParts(key: string): string[] {
  return key.split(' . ').map((part) => part.trim());
}

function verdictChain(value: string | null): string | null {
  if (value === null) {
    return null;
  }
  const match = /^(?:goto|jump)\s+(\S+)$/.exec(value.trim());
  return match ? match[1] : null;
}

/** Reads the endpoints a service chain sends traffic to. */
function readServiceChain(service: KubeProxyService, chain: NftChain, chainsByName: Map<string, NftChain>): void {
  const endpoints: KubeProxyEndpoint[] = [];
  for (const rule of chain.rules) {
    const raw = rule.raw;
    if (raw.includes('@affinity-') || /\bip6? saddr @/.test(raw)) {
      if (/\bgoto\s+endpoint-/.test(raw)) {
        service.sessionAffinity = true;
      }
      continue;
    }
    const numgen = /numgen random mod (\d+)/.exec(raw);
    const modulus = numgen ? Number(numgen[1]) : null;
    if (numgen && raw.includes(' vmap {')) {
      const body = raw.slice(raw.indexOf('{') + 1, raw.lastIndexOf('}'));
      for (const item of splitElements(body)) {
        const element = readElement(item);
        const target = verdictChain(element.value);
        if (target !== null && !endpoints.some((endpoint) => endpoint.sepChain === target)) {
          endpoints.push({ sepChain: target, probability: modulus ? 1 / modulus : null, dnatTo: null, share: null });
        }
      }
      continue;
    }
    if (numgen && /\bdnat\b/.test(raw) && raw.includes(' map {')) {
      // Newer kube-proxy: `meta l4proto tcp dnat ip addr . port to numgen random mod N map { 0 : IP . PORT, … }`
      // (nft prints `dnat ip to …`).
      const body = raw.slice(raw.indexOf('{') + 1, raw.lastIndexOf('}'));
      for (const item of splitElements(body)) {
        const element = readElement(item);
        if (element.value === null) {
          continue;
        }
        const [address, port] = concatParts(element.value);
        if (address === undefined) {
          continue;
        }
        const dnatTo = port === undefined ? address : address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
        endpoints.push({ sepChain: null, probability: modulus ? 1 / modulus : null, dnatTo, share: null });
      }
      continue;
    }
    const dnat = /\bdnat (?:ip6? )?to (\S+)/.exec(raw);
    if (dnat && !raw.includes(' map ')) {
      endpoints.push({ sepChain: null, probability: 1, dnatTo: dnat[1], share: null });
      continue;
    }
    if (rule.target !== undefined && rule.target.startsWith('endpoint-') && !endpoints.some((endpoint) => endpoint.sepChain === rule.target)) {
      endpoints.push({ sepChain: rule.target, probability: 1, dnatTo: null, share: null });
      continue;
    }
    if (service.clusterIP === null) {
      const daddr = /\bip6? daddr (\S+) (?:tcp|udp|sctp) dport (\d+)/.exec(raw);
      if (daddr && !daddr[1].startsWith('@') && !daddr[1].startsWith('{')) {
        service.clusterIP = daddr[1];
        service.port = Number(daddr[2]);
      }
    }
  }
  for (const endpoint of endpoints) {
    if (endpoint.sepChain !== null) {
      const endpointChain = chainsByName.get(endpoint.sepChain);
      if (endpointChain !== undefined) {
        for (const rule of endpointChain.rules) {
          const dnat = /\bdnat (?:ip6? )?to (\S+)/.exec(rule.raw);
          if (dnat) {
            endpoint.dnatTo = dnat[1];
            break;
          }
        }
      } else {
        const name = readChainName(endpoint.sepChain);
        endpoint.dnatTo = name?.endpoint ? endpointFromName(name.endpoint) : null;
      }
    }
    endpoint.share = endpoint.probability;
  }
  service.endpoints = endpoints;
}

/** Derives kube-proxy's services from every table that holds its nftables-mode chains and maps. */
function deriveNftServices(tables: NftTable[]): KubeProxyService[] {
  const out: KubeProxyService[] = [];
  for (const table of tables) {
    const chainsByName = new Map<string, NftChain>();
    for (const chain of table.chains) {
      chainsByName.set(chain.name, chain);
    }
    const byHash = new Map<string, KubeProxyService>();
    const clusterIPs = new Set<string>();
    const clusterSet = table.sets.find((set) => set.name === 'cluster-ips');
    for (const element of clusterSet?.elements ?? []) {
      clusterIPs.add(element.key);
    }

    const serviceFor = (name: ChainName, comment: string | null): KubeProxyService => {
      let service = byHash.get(name.hash);
      if (service === undefined) {
        const reference = parseServiceComment(comment);
        service = {
          service: name.service,
          portName: reference?.portName ?? name.portName,
          clusterIP: null,
          port: null,
          protocol: name.protocol,
          svcChain: null,
          endpoints: [],
          externalIPs: [],
          nodePorts: [],
          sessionAffinity: false,
          noEndpoints: false,
        };
        byHash.set(name.hash, service);
        out.push(service);
      }
      return service;
    };

    for (const map of table.maps) {
      if (map.name === 'service-ips' || map.name === 'firewall-ips') {
        for (const element of map.elements) {
          const target = verdictChain(element.value);
          const name = target === null ? null : readChainName(target);
          if (name === null || target === null) {
            continue;
          }
          const [address, protocol, port] = concatParts(element.key);
          const service = serviceFor(name, element.comment);
          // kube-proxy sends ClusterIP traffic to the service-/local- chain, external and load-balancer IPs to external-.
          const isCluster = name.prefix === 'service' || name.prefix === 'local';
          if (map.name === 'service-ips' && isCluster) {
            service.clusterIP = address;
            service.port = toInt(port);
            service.protocol = protocol ?? service.protocol;
            if (name.prefix === 'service' || name.prefix === 'local') {
              service.svcChain = target;
            }
          } else if (!service.externalIPs.includes(address)) {
            service.externalIPs.push(address);
          }
        }
      } else if (map.name === 'service-nodeports') {
        for (const element of map.elements) {
          const target = verdictChain(element.value);
          const name = target === null ? null : readChainName(target);
          if (name === null) {
            continue;
          }
          const port = toInt(concatParts(element.key)[1]);
          const service = serviceFor(name, element.comment);
          if (port !== null && !service.nodePorts.includes(port)) {
            service.nodePorts.push(port);
          }
        }
      }
    }

    // Service chains with no service-ips element (a chain listed on its own, or a fragment).
    for (const chain of table.chains) {
      const name = readChainName(chain.name);
      if (name !== null && (name.prefix === 'service' || name.prefix === 'local')) {
        const service = serviceFor(name, null);
        service.svcChain ??= chain.name;
      }
    }

    for (const service of byHash.values()) {
      const chain = service.svcChain === null ? undefined : chainsByName.get(service.svcChain);
      if (chain !== undefined) {
        readServiceChain(service, chain, chainsByName);
      }
    }

    // Services without endpoints: kube-proxy puts them in no-endpoint-* maps with a comment naming them.
    for (const map of table.maps) {
      if (map.name !== 'no-endpoint-services' && map.name !== 'no-endpoint-nodeports') {
        continue;
      }
      for (const element of map.elements) {
        const reference = parseServiceComment(element.comment);
        if (reference === null) {
          continue;
        }
        const parts = concatParts(element.key);
        const nodePort = map.name === 'no-endpoint-nodeports';
        const protocol = nodePort ? parts[0] : parts[1];
        let service = out.find((item) => item.service === reference.service && item.portName === reference.portName && (item.protocol === protocol || item.protocol === null));
        if (service === undefined) {
          service = {
            service: reference.service,
            portName: reference.portName,
            clusterIP: null,
            port: null,
            protocol: protocol ?? null,
            svcChain: null,
            endpoints: [],
            externalIPs: [],
            nodePorts: [],
            sessionAffinity: false,
            noEndpoints: false,
          };
          out.push(service);
        }
        service.noEndpoints = service.endpoints.length === 0;
        if (nodePort) {
          const port = toInt(parts[1]);
          if (port !== null && !service.nodePorts.includes(port)) {
            service.nodePorts.push(port);
          }
        } else {
          const address = parts[0];
          const isCluster = clusterIPs.size > 0 ? clusterIPs.has(address) : service.clusterIP === null;
          if (isCluster && service.clusterIP === null) {
            service.clusterIP = address;
            service.port = toInt(parts[2]);
          } else if (!isCluster && !service.externalIPs.includes(address)) {
            service.externalIPs.push(address);
          }
        }
      }
    }
  }
  return out;
}

/**
 * Parses `nft list ruleset`, `nft list table …`, `nft list chain …` (also `-a` with handles):
 * tables, chains (base chain type/hook/priority/policy, rules with target, verdict,
 * counter, comment), sets and maps with their elements, and kube-proxy's nftables-mode
 * services (ClusterIP/port from `service-ips`, endpoints from `numgen` vmaps or maps and
 * the `endpoint-…` chains' `dnat to`, NodePorts, session affinity, no-endpoint rejects).
 */
export function parseNft(text: string): ParseResult<NftRuleset> {
  return guardParser('nft', text, empty, parseText);
}

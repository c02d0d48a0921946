/**
 * `ip addr` / `ip link` output (iproute2 and BusyBox; `-d`, `-s`, `-br`, `-j`; also inside
 * `ip netns exec`, `nsenter -n` and `ip -all netns exec`) as interfaces.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isTrimMark, splitLines, toInt, words } from './text';

/** One address of an interface. */
export interface IpAddress {
  family: 'inet' | 'inet6';
  /** The local address, without prefix. */
  address: string;
  /** Prefix length; for an address without one (BusyBox point-to-point) 32 or 128. */
  prefixLength: number;
  /** `scope` (global, link, host…) when printed. */
  scope?: string;
  /** `brd` broadcast address when printed. */
  broadcast?: string;
  /** `peer` address of a point-to-point address, without prefix. */
  peer?: string;
  /** The label at the end of an `inet` line (`eth0`, `eth0:1`). */
  label?: string;
}

/** Packet counters from `ip -s link` (only the main RX/TX rows). */
export interface IpLinkStats {
  rx: Record<string, number>;
  tx: Record<string, number>;
}

/** One network interface as `ip` prints it. */
export interface IpInterface {
  /** Interface index (`5:` in `5: eth0@if6:`); null only in `ip -br` output, which has none. */
  index: number | null;
  /** Name without the `@…` part. */
  name: string;
  /** The N of `name@ifN`: the peer's index in the other namespace (veth). */
  peerIndex: number | null;
  /** The raw text after `@` (`if11`, `NONE`, `cilium_host`, `eth0` for a VLAN); null without `@`. */
  link: string | null;
  /** `link-netnsid N` on the link line. */
  linkNetnsId: number | null;
  /** `link-netns NAME` on the link line (newer iproute2 prints the name when it knows it). */
  linkNetns: string | null;
  /** `master X` (bridge or bond the interface is enslaved to). */
  master: string | null;
  mtu: number | null;
  /** `state` (UP, DOWN, UNKNOWN, LOWERLAYERDOWN…); null when not printed (BusyBox). */
  state: string | null;
  /** The flags between `<` and `>`. */
  flags: string[];
  /** The `link/ether` address; null for links without one (loopback counts: its all-zero MAC is reported). */
  mac: string | null;
  addresses: IpAddress[];
  /** `link/ether`, `link/loopback`, `link/ipip`, `link/none`… without `link/`. */
  linkType?: string;
  /** Interface kind from `ip -d` (veth, bridge, vxlan, ipip…). */
  kind?: string;
  /** Slave kind from `ip -d` (bridge_slave, bond_slave). */
  slaveKind?: string;
  qdisc?: string;
  qlen?: number;
  /** `alias` line (KubeVirt and some CNIs set it). */
  alias?: string;
  /** `altname` lines. */
  altNames?: string[];
  /** The namespace named by a preceding `netns: NAME` line (`ip -all netns exec`). */
  netns?: string;
  stats?: IpLinkStats;
}

const LINK_KINDS = new Set([
  'veth', 'vxlan', 'bridge', 'bridge_slave', 'bond', 'bond_slave', 'team', 'team_slave', 'ipip', 'sit', 'gre', 'gretap',
  'ip6gre', 'ip6gretap', 'ip6tnl', 'vti', 'vti6', 'vlan', 'macvlan', 'macvtap', 'ipvlan', 'ipvtap', 'dummy', 'tun', 'tap',
  'geneve', 'wireguard', 'vrf', 'vrf_slave', 'nlmon', 'ifb', 'erspan', 'ip6erspan', 'xfrm', 'netkit', 'openvswitch',
  'openvswitch_slave', 'bareudp', 'gtp', 'hsr', 'macsec', 'can', 'vcan', 'vxcan', 'batadv', 'amt',
]);

const BRIEF_STATES = new Set(['UP', 'DOWN', 'UNKNOWN', 'LOWERLAYERDOWN', 'DORMANT', 'NOTPRESENT', 'TESTING']);

/** The header line of an interface: `5: eth0@if6: <FLAGS> rest`. */
const HEADER = /^(\d+):\s+([^\s<>]+?):?\s+<([^>]*)>(.*)$/;

function emptyInterface(index: number | null, rawName: string): IpInterface {
  const at = rawName.indexOf('@');
  const name = at === -1 ? rawName : rawName.slice(0, at);
  const link = at === -1 ? null : rawName.slice(at + 1);
  let peerIndex: number | null = null;
  if (link !== null && link.startsWith('if')) {
    peerIndex = toInt(link.slice(2));
  }
  return {
    index,
    name,
    peerIndex,
    link,
    linkNetnsId: null,
    linkNetns: null,
    master: null,
    mtu: null,
    state: null,
    flags: [],
    mac: null,
    addresses: [],
  };
}

function readHeaderAttributes(item: IpInterface, rest: string): void {
  const tokens = words(rest);
  for (let i = 0; i < tokens.length; i++) {
    const key = tokens[i];
    const value = tokens[i + 1];
    switch (key) {
      case 'mtu':
        item.mtu = toInt(value);
        i++;
        break;
      case 'state':
        item.state = value ?? null;
        i++;
        break;
      case 'master':
        item.master = value ?? null;
        i++;
        break;
      case 'qdisc':
        item.qdisc = value;
        i++;
        break;
      case 'qlen': {
        const qlen = toInt(value);
        if (qlen !== null) {
          item.qlen = qlen;
        }
        i++;
        break;
      }
      case 'mode':
      case 'group':
      case 'portid':
      case 'link-netnsid':
        if (key === 'link-netnsid') {
          item.linkNetnsId = toInt(value);
        }
        i++;
        break;
      default:
        break;
    }
  }
}

/** Reads `link/ether MAC brd MAC link-netnsid N …`; returns true when `-d` details followed on the line. */
function readLinkLine(item: IpInterface, tokens: string[]): boolean {
  item.linkType = tokens[0].slice('link/'.length);
  let details = false;
  let i = 1;
  if (tokens.length > 1 && tokens[1] !== 'brd' && !tokens[1].startsWith('link-') && tokens[1] !== 'promiscuity') {
    const address = tokens[1];
    if (/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+$/.test(address)) {
      item.mac = address.toLowerCase();
    }
    i = 2;
  }
  for (; i < tokens.length; i++) {
    const key = tokens[i];
    const value = tokens[i + 1];
    if (key === 'link-netnsid') {
      item.linkNetnsId = toInt(value);
      i++;
    } else if (key === 'link-netns') {
      item.linkNetns = value ?? null;
      i++;
    } else if (key === 'brd' || key === 'peer') {
      i++;
    } else if (key === 'promiscuity' || key === 'minmtu' || key === 'addrgenmode') {
      details = true;
      i++;
    }
  }
  return details;
}

function readAddressLine(item: IpInterface, tokens: string[]): string | null {
  const family = tokens[0] === 'inet6' ? 'inet6' : 'inet';
  const local = tokens[1];
  if (local === undefined) {
    return 'address line without an address';
  }
  const slash = local.indexOf('/');
  const address = slash === -1 ? local : local.slice(0, slash);
  let prefixLength = slash === -1 ? null : toInt(local.slice(slash + 1));
  if (slash !== -1 && prefixLength === null) {
    return `unreadable prefix length in ${local}`;
  }
  const entry: IpAddress = { family, address, prefixLength: 0 };
  for (let i = 2; i < tokens.length; i++) {
    const key = tokens[i];
    const value = tokens[i + 1];
    if (key === 'peer' && value !== undefined) {
      const peerSlash = value.indexOf('/');
      entry.peer = peerSlash === -1 ? value : value.slice(0, peerSlash);
      if (prefixLength === null && peerSlash !== -1) {
        prefixLength = toInt(value.slice(peerSlash + 1));
      }
      i++;
    } else if (key === 'brd' && value !== undefined) {
      entry.broadcast = value;
      i++;
    } else if (key === 'scope' && value !== undefined) {
      entry.scope = value;
      i++;
    } else if (key === 'metric' || key === 'proto') {
      i++;
    } else if (i === tokens.length - 1 && family === 'inet' && key !== 'dynamic' && key !== 'secondary' && key !== 'noprefixroute' && key !== 'deprecated' && key !== 'tentative' && key !== 'permanent' && key !== 'temporary' && key !== 'mngtmpaddr' && key !== 'nodad' && key !== 'optimistic' && key !== 'stable-privacy') {
      entry.label = key;
    }
  }
  entry.prefixLength = prefixLength ?? (family === 'inet' ? 32 : 128);
  item.addresses.push(entry);
  return null;
}

function parseJson(text: string, problems: ParseProblem[]): IpInterface[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    problems.push({ line: 0, text: '', reason: `ip -j output is not complete JSON: ${error instanceof Error ? error.message : String(error)}` });
    return [];
  }
  if (!Array.isArray(data)) {
    problems.push({ line: 0, text: '', reason: 'ip -j output is not a JSON array' });
    return [];
  }
  const out: IpInterface[] = [];
  for (const raw of data) {
    if (raw === null || typeof raw !== 'object') {
      continue;
    }
    const entry = raw as Record<string, unknown>;
    const name = typeof entry.ifname === 'string' ? entry.ifname : '';
    const item = emptyInterface(typeof entry.ifindex === 'number' ? entry.ifindex : null, name);
    if (typeof entry.link_index === 'number') {
      item.peerIndex = entry.link_index;
      item.link = `if${entry.link_index}`;
    } else if (typeof entry.link === 'string') {
      item.link = entry.link;
    }
    if (typeof entry.link_netnsid === 'number') {
      item.linkNetnsId = entry.link_netnsid;
    }
    if (typeof entry.link_netns === 'string') {
      item.linkNetns = entry.link_netns;
    }
    if (typeof entry.master === 'string') {
      item.master = entry.master;
    }
    if (typeof entry.mtu === 'number') {
      item.mtu = entry.mtu;
    }
    if (typeof entry.operstate === 'string') {
      item.state = entry.operstate;
    }
    if (Array.isArray(entry.flags)) {
      item.flags = entry.flags.filter((flag): flag is string => typeof flag === 'string');
    }
    if (typeof entry.address === 'string' && /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+$/.test(entry.address)) {
      item.mac = entry.address.toLowerCase();
    }
    if (typeof entry.link_type === 'string') {
      item.linkType = entry.link_type;
    }
    if (typeof entry.qdisc === 'string') {
      item.qdisc = entry.qdisc;
    }
    if (typeof entry.txqlen === 'number') {
      item.qlen = entry.txqlen;
    }
    const linkinfo = entry.linkinfo as Record<string, unknown> | undefined;
    if (linkinfo && typeof linkinfo === 'object') {
      if (typeof linkinfo.info_kind === 'string') {
        item.kind = linkinfo.info_kind;
      }
      if (typeof linkinfo.info_slave_kind === 'string') {
        item.slaveKind = `${linkinfo.info_slave_kind}_slave`;
      }
    }
    if (typeof entry.ifalias === 'string') {
      item.alias = entry.ifalias;
    }
    if (Array.isArray(entry.altnames)) {
      item.altNames = entry.altnames.filter((altName): altName is string => typeof altName === 'string');
    }
    if (Array.isArray(entry.addr_info)) {
      for (const info of entry.addr_info) {
        if (info === null || typeof info !== 'object') {
          continue;
        }
        const addr = info as Record<string, unknown>;
        if ((addr.family === 'inet' || addr.family === 'inet6') && typeof addr.local === 'string') {
          const address: IpAddress = {
            family: addr.family,
            address: addr.local,
            prefixLength: typeof addr.prefixlen === 'number' ? addr.prefixlen : addr.family === 'inet' ? 32 : 128,
          };
          if (typeof addr.scope === 'string') {
            address.scope = addr.scope;
          }
          if (typeof addr.broadcast === 'string') {
            address.broadcast = addr.broadcast;
          }
          if (typeof addr.address === 'string') {
            address.peer = addr.address;
          }
          if (typeof addr.label === 'string') {
            address.label = addr.label;
          }
          item.addresses.push(address);
        }
      }
    }
    out.push(item);
  }
  return out;
}

/** `ip -br addr` / `ip -br link`: `NAME STATE ADDRESSES…` or `NAME STATE MAC <FLAGS>`. */
function readBriefLine(tokens: string[]): IpInterface | null {
  if (tokens.length < 2 || !BRIEF_STATES.has(tokens[1])) {
    return null;
  }
  const item = emptyInterface(null, tokens[0]);
  item.state = tokens[1];
  for (let i = 2; i < tokens.length; i++) {
    const token = tokens[i];
    if (token.startsWith('<') && token.endsWith('>')) {
      item.flags = token.slice(1, -1).split(',').filter((flag) => flag.length > 0);
    } else if (/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(token)) {
      item.mac = token.toLowerCase();
    } else {
      const slash = token.indexOf('/');
      const address = slash === -1 ? token : token.slice(0, slash);
      const prefix = slash === -1 ? null : toInt(token.slice(slash + 1));
      const family = address.includes(':') ? 'inet6' : 'inet';
      if (prefix === null && slash !== -1) {
        return null;
      }
      item.addresses.push({ family, address, prefixLength: prefix ?? (family === 'inet' ? 32 : 128) });
    }
  }
  return item;
}

function parseText(text: string): ParseResult<IpInterface[]> {
  const problems: ParseProblem[] = [];
  const trimmedStart = text.trimStart();
  if (trimmedStart.startsWith('[') && !trimmedStart.startsWith('[ ')) {
    return { value: parseJson(trimmedStart, problems), problems };
  }
  const lines = splitLines(text);
  const interfaces: IpInterface[] = [];
  let current: IpInterface | null = null;
  let netns: string | undefined;
  let afterLinkWithDetails = false;
  let statsTarget: { direction: 'rx' | 'tx'; columns: string[] } | null = null;
  let skipNextNumbers = false;

  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const lineNumber = n + 1;
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    const header = HEADER.exec(line);
    if (header) {
      current = emptyInterface(Number(header[1]), header[2]);
      current.flags = header[3].split(',').filter((flag) => flag.length > 0);
      readHeaderAttributes(current, header[4]);
      if (netns !== undefined) {
        current.netns = netns;
      }
      interfaces.push(current);
      afterLinkWithDetails = false;
      statsTarget = null;
      skipNextNumbers = false;
      continue;
    }
    const indented = line.startsWith(' ') || line.startsWith('\t');
    if (!indented) {
      if (trimmed.startsWith('netns:')) {
        netns = trimmed.slice('netns:'.length).trim();
        current = null;
        continue;
      }
      const brief = readBriefLine(words(trimmed));
      if (brief) {
        if (netns !== undefined) {
          brief.netns = netns;
        }
        interfaces.push(brief);
        current = null;
        continue;
      }
      problems.push({ line: lineNumber, text: line, reason: 'not an interface line of ip addr/ip link output' });
      current = null;
      continue;
    }
    if (current === null) {
      problems.push({ line: lineNumber, text: line, reason: 'indented line outside any interface' });
      continue;
    }
    const tokens = words(trimmed);
    const first = tokens[0];
    if (statsTarget !== null && /^\d+$/.test(first)) {
      const target = current.stats ?? { rx: {}, tx: {} };
      current.stats = target;
      const row = target[statsTarget.direction];
      for (let i = 0; i < statsTarget.columns.length && i < tokens.length; i++) {
        const value = toInt(tokens[i]);
        if (value !== null) {
          row[statsTarget.columns[i]] = value;
        }
      }
      statsTarget = null;
      continue;
    }
    if (skipNextNumbers && /^\d+$/.test(first)) {
      skipNextNumbers = false;
      continue;
    }
    afterLinkWithDetails = afterLinkWithDetails && first !== 'RX:' && first !== 'TX:';
    if (first === 'RX:' || first === 'TX:') {
      statsTarget = { direction: first === 'RX:' ? 'rx' : 'tx', columns: tokens.slice(1) };
      continue;
    }
    if ((first === 'RX' || first === 'TX') && tokens[1] === 'errors:') {
      skipNextNumbers = true;
      continue;
    }
    statsTarget = null;
    skipNextNumbers = false;
    if (first.startsWith('link/')) {
      afterLinkWithDetails = readLinkLine(current, tokens);
      continue;
    }
    if (first === 'inet' || first === 'inet6') {
      const reason = readAddressLine(current, tokens);
      if (reason !== null) {
        problems.push({ line: lineNumber, text: line, reason });
      }
      afterLinkWithDetails = false;
      continue;
    }
    if (first === 'valid_lft' || first === 'preferred_lft') {
      continue;
    }
    if (first === 'altname') {
      (current.altNames ??= []).push(...tokens.slice(1));
      continue;
    }
    if (first === 'alias') {
      current.alias = trimmed.slice('alias'.length).trim();
      continue;
    }
    if (LINK_KINDS.has(first) || (afterLinkWithDetails && /^[a-z][a-z0-9_]*$/.test(first))) {
      if (first.endsWith('_slave')) {
        current.slaveKind = first;
      } else if (current.kind === undefined) {
        current.kind = first;
      }
      afterLinkWithDetails = false;
      continue;
    }
    if (first === 'promiscuity' || first === 'addrgenmode' || first === 'numtxqueues' || first === 'gso_max_size' || first === 'parentbus' || first === 'vf' || first === 'prop') {
      continue;
    }
    problems.push({ line: lineNumber, text: line, reason: `unrecognised detail line for ${current.name}` });
  }
  return { value: interfaces, problems };
}

/**
 * Parses `ip addr`, `ip -d addr`, `ip link`, `ip -d link`, `ip -s link`, `ip -br addr|link`,
 * `ip -j addr|link` and BusyBox `ip addr` output. Lines it cannot read are reported.
 */
export function parseIpAddr(text: string): ParseResult<IpInterface[]> {
  return guardParser('ip-addr', text, () => [], parseText);
}

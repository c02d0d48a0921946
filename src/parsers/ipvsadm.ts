/**
 * `ipvsadm -Ln` / `-L` (resolved names) / `-Ln -t VIP:PORT` / `--persistent-conn` /
 * `--stats` / `--rate` output as virtual services and their real servers, and the
 * `--timeout` line.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isTrimMark, splitHostPort, splitLines, toInt } from './text';

/** One real server (`-> ADDRESS:PORT Forward Weight ActiveConn InActConn`). */
export interface IpvsRealServer {
  /** Address, or the host name `ipvsadm -L` printed (possibly cut short by ipvsadm). */
  address: string;
  /** Port number; null when `-L` printed a service name instead (see portName). */
  port: number | null;
  /** The port as printed when it is not a number (`http`). */
  portName?: string;
  /** Masq, Route, Tunnel, Local; null when the listing has no Forward column (`--persistent-conn`). */
  forward: string | null;
  weight: number | null;
  activeConn: number | null;
  inactConn: number | null;
  /** `--persistent-conn` column. */
  persistConn?: number;
  /** Columns of `--stats` / `--rate` listings by header name. */
  stats?: Record<string, number>;
}

/** One virtual service. */
export interface IpvsService {
  /** TCP, UDP, SCTP, FWM. */
  protocol: string;
  /** Virtual address (host name with `-L`); null for a firewall-mark (FWM) service. */
  vip: string | null;
  /** Null for FWM services and when `-L` printed a name or nothing. */
  port: number | null;
  portName?: string;
  /** Firewall mark of an FWM service. */
  fwmark?: number;
  /** rr, wlc, lc, sh, mh…; null in `--stats`/`--rate` listings. */
  scheduler: string | null;
  /** `persistent`, `ops`, `netmask`, scheduler flags (`flag-1`, `sh-port`…). */
  flags: string[];
  /** Seconds of `persistent N`. */
  persistence?: number;
  netmask?: string;
  /** `--stats` / `--rate` columns of the service line. */
  stats?: Record<string, number>;
  realServers: IpvsRealServer[];
  /** 1-based line number of the service line. */
  line: number;
}

/** `ipvsadm -L --timeout`. */
export interface IpvsTimeouts {
  tcp: number;
  tcpfin: number;
  udp: number;
}

const PROTOCOLS = new Set(['TCP', 'UDP', 'SCTP', 'FWM']);
const FORWARD_METHODS = new Set(['Masq', 'Route', 'Tunnel', 'Local', 'Gate', 'Tunnel-GUE', 'Tunnel-GRE']);

function readEndpoint(text: string): { address: string; port: number | null; portName?: string } {
  const { host, port } = splitHostPort(text);
  if (port === null) {
    return { address: host, port: null };
  }
  const number = toInt(port);
  return number === null ? { address: host, port: null, portName: port } : { address: host, port: number };
}

interface Layout {
  /** Column names after `-> RemoteAddress:Port`. */
  serverColumns: string[];
  /** Column names after `LocalAddress:Port` when they are numbers (stats, rate). */
  serviceStatColumns: string[] | null;
}

const DEFAULT_LAYOUT: Layout = { serverColumns: ['Forward', 'Weight', 'ActiveConn', 'InActConn'], serviceStatColumns: null };

function parseText(text: string): ParseResult<IpvsService[]> {
  const problems: ParseProblem[] = [];
  const services: IpvsService[] = [];
  let layout: Layout = { ...DEFAULT_LAYOUT };
  let current: IpvsService | null = null;
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const lineNumber = n + 1;
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    if (trimmed.startsWith('IP Virtual Server version') || trimmed.startsWith('Timeout (')) {
      continue;
    }
    const tokens = trimmed.split(/\s+/);
    if (tokens[0] === 'Prot' && tokens[1] === 'LocalAddress:Port') {
      const rest = tokens.slice(2);
      if (rest[0] === 'Scheduler') {
        layout = { ...layout, serviceStatColumns: null };
        // `--persistent-conn` puts the server columns on this line: "Weight PersistConn ActiveConn InActConn".
        if (rest.includes('Weight')) {
          layout.serverColumns = rest.slice(rest.indexOf('Weight'));
        }
      } else if (rest.includes('Weight')) {
        layout = { serviceStatColumns: null, serverColumns: rest };
      } else {
        layout = { serviceStatColumns: rest, serverColumns: rest };
      }
      continue;
    }
    if (tokens[0] === '->' && tokens[1] === 'RemoteAddress:Port') {
      if (tokens.length > 2) {
        layout = { ...layout, serverColumns: tokens.slice(2) };
      }
      continue;
    }
    if (tokens[0] === '->') {
      if (current === null) {
        problems.push({ line: lineNumber, text: line, reason: 'real server before any virtual service' });
        continue;
      }
      if (tokens[1] === undefined) {
        problems.push({ line: lineNumber, text: line, reason: 'real server line without an address' });
        continue;
      }
      const endpoint = readEndpoint(tokens[1]);
      const server: IpvsRealServer = { address: endpoint.address, port: endpoint.port, forward: null, weight: null, activeConn: null, inactConn: null };
      if (endpoint.portName !== undefined) {
        server.portName = endpoint.portName;
      }
      const values = tokens.slice(2);
      let readable = true;
      layout.serverColumns.forEach((column, index) => {
        const value = values[index];
        if (value === undefined) {
          return;
        }
        if (column === 'Forward') {
          if (!FORWARD_METHODS.has(value)) {
            readable = false;
          }
          server.forward = value;
          return;
        }
        const number = toInt(value) ?? readScaled(value);
        if (number === null) {
          readable = false;
          return;
        }
        switch (column) {
          case 'Weight':
            server.weight = number;
            break;
          case 'ActiveConn':
            server.activeConn = number;
            break;
          case 'InActConn':
            server.inactConn = number;
            break;
          case 'PersistConn':
            server.persistConn = number;
            break;
          default:
            (server.stats ??= {})[column] = number;
        }
      });
      if (!readable || values.length > layout.serverColumns.length) {
        problems.push({ line: lineNumber, text: line, reason: 'real server columns do not match the header' });
      }
      current.realServers.push(server);
      continue;
    }
    if (PROTOCOLS.has(tokens[0])) {
      const protocol = tokens[0];
      const service: IpvsService = { protocol, vip: null, port: null, scheduler: null, flags: [], realServers: [], line: lineNumber };
      if (tokens[1] === undefined) {
        problems.push({ line: lineNumber, text: line, reason: 'virtual service line without an address' });
        continue;
      }
      if (protocol === 'FWM') {
        const mark = toInt(tokens[1]) ?? (tokens[1].startsWith('0x') ? Number.parseInt(tokens[1], 16) : null);
        if (mark !== null && Number.isFinite(mark)) {
          service.fwmark = mark;
        }
      } else {
        const endpoint = readEndpoint(tokens[1]);
        service.vip = endpoint.address;
        service.port = endpoint.port;
        if (endpoint.portName !== undefined) {
          service.portName = endpoint.portName;
        }
      }
      const rest = tokens.slice(2);
      if (layout.serviceStatColumns !== null && rest.length > 0 && rest.every((value) => toInt(value) !== null || readScaled(value) !== null)) {
        service.stats = {};
        layout.serviceStatColumns.forEach((column, index) => {
          const value = rest[index];
          const number = value === undefined ? null : toInt(value) ?? readScaled(value);
          if (number !== null && service.stats) {
            service.stats[column] = number;
          }
        });
      } else {
        service.scheduler = rest[0] ?? null;
        for (let i = 1; i < rest.length; i++) {
          const word = rest[i];
          if (word === 'persistent') {
            service.flags.push('persistent');
            const seconds = toInt(rest[i + 1]);
            if (seconds !== null) {
              service.persistence = seconds;
              i++;
            }
          } else if (word === 'mask' || word === 'netmask') {
            if (rest[i + 1] !== undefined) {
              service.netmask = rest[i + 1];
              i++;
            }
          } else if (word === 'pe') {
            service.flags.push(`pe ${rest[i + 1] ?? ''}`.trim());
            i++;
          } else {
            for (const flag of word.split(',')) {
              if (flag.length > 0) {
                service.flags.push(flag);
              }
            }
          }
        }
      }
      services.push(service);
      current = service;
      continue;
    }
    if (trimmed.startsWith("Can't initialize ipvs") || trimmed.startsWith('Are you sure that IP Virtual Server is built')) {
      problems.push({ line: lineNumber, text: line, reason: 'IPVS is not available on this node (ip_vs not loaded: kube-proxy is not in IPVS mode)' });
      continue;
    }
    problems.push({ line: lineNumber, text: line, reason: 'not an ipvsadm listing line' });
  }
  return { value: services, problems };
}

/** `1234K`, `5M` of `--stats` (ipvsadm scales by 1000). */
function readScaled(text: string): number | null {
  const match = /^(\d+)([KMGT])$/.exec(text);
  if (!match) {
    return null;
  }
  const scale = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[match[2] as 'K' | 'M' | 'G' | 'T'];
  return Number(match[1]) * scale;
}

/**
 * Parses `ipvsadm -Ln` (and `-L` with resolved names, `-t VIP:PORT`, `--persistent-conn`,
 * `--stats`, `--rate`) into virtual services with scheduler, flags and real servers
 * (forward method, weight, active and inactive connections). IPv6 `[addr]:port` and FWM
 * services are read. The header lines and the `--timeout` line are not problems.
 */
export function parseIpvsadm(text: string): ParseResult<IpvsService[]> {
  return guardParser('ipvsadm', text, () => [], parseText);
}

/** Reads `Timeout (tcp tcpfin udp): 900 120 300` from `ipvsadm -L --timeout`; null when absent. */
export function parseIpvsadmTimeouts(text: string): ParseResult<IpvsTimeouts | null> {
  return guardParser('ipvsadm-timeout', text, () => null, (input) => {
    const match = /Timeout \(tcp tcpfin udp\):\s*(\d+)\s+(\d+)\s+(\d+)/.exec(input);
    return { value: match ? { tcp: Number(match[1]), tcpfin: Number(match[2]), udp: Number(match[3]) } : null, problems: [] };
  });
}

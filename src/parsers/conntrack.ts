/**
 * conntrack-tools output: `conntrack -L` entries, `-E` events (`[NEW]`, `[UPDATE]`,
 * `[DESTROY]`, with or without `-o timestamp`), `-o extended` (`ipv4 2 tcp 6 …`), `-o xml`,
 * the summary line, and `conntrack -S` per-CPU statistics. Linear; one split per line.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isTrimMark, splitLines, toInt } from './text';

/** One direction of a connection. */
export interface ConntrackTuple {
  src: string;
  dst: string;
  sport: number | null;
  dport: number | null;
  /** Per-direction accounting (`packets=`, `bytes=`) when enabled. */
  packets?: number;
  bytes?: number;
  /** ICMP `type=`, `code=`, `id=` and other per-direction keys that are not addresses or ports. */
  extra?: Record<string, string>;
}

/** One connection-tracking entry or event. */
export interface ConntrackEntry {
  /** Layer-4 protocol name as printed (`tcp`, `udp`, `icmp`, `unknown`…). */
  protocol: string;
  /** Layer-4 protocol number (`6`, `17`…); null when not printed. */
  protocolNumber: number | null;
  /** `ipv4`/`ipv6` with `-o extended` or XML; null otherwise. */
  family: string | null;
  /** TCP state (ESTABLISHED, TIME_WAIT…); null for stateless protocols. */
  state: string | null;
  /** Seconds left; null when not printed (DESTROY events). */
  timeout: number | null;
  original: ConntrackTuple;
  reply: ConntrackTuple | null;
  /** Bracketed flags: ASSURED, UNREPLIED, OFFLOAD, HW_OFFLOAD… */
  flags: string[];
  mark: number | null;
  zone: number | null;
  /** NEW, UPDATE, DESTROY for `conntrack -E` lines; null for listings. */
  event: string | null;
  use?: number;
  id?: number;
  /** `-o timestamp` event time, as printed (seconds). */
  timestamp?: string;
  /** 1-based line number in the input. */
  line: number;
}

/** Per-CPU counters of `conntrack -S`. */
export interface ConntrackCpuStats {
  cpu: number;
  counters: Record<string, number>;
}

/** `conntrack -S` output. */
export interface ConntrackStats {
  cpus: ConntrackCpuStats[];
  /** The sum of each counter over the CPUs shown. */
  totals: Record<string, number>;
  /** `conntrack -C` / a global `entries` line, when present. */
  entries: number | null;
}

function newTuple(): ConntrackTuple {
  return { src: '', dst: '', sport: null, dport: null };
}

const SUMMARY = /^conntrack v[\d.]+ \(conntrack-tools\): (\d+) flow entries have been shown\.$/;

/** Decimal integer of line[start, end); null when not all digits. */
function intAt(line: string, start: number, end: number): number | null {
  if (end <= start || end - start > 15) {
    return null;
  }
  let value = 0;
  for (let i = start; i < end; i++) {
    const code = line.charCodeAt(i);
    if (code < 48 || code > 57) {
      return null;
    }
    value = value * 10 + (code - 48);
  }
  return value;
}

/**
 * Reads one entry line, or says why it is not one. The words are:
 * `[TIME] [EVENT] [family famnum] proto protonum [timeout] [STATE] key=value… [FLAG]… key=value…`.
 * Scans the line once without splitting it, to keep 262,144-entry tables cheap.
 */
function readEntry(line: string, lineNumber: number): ConntrackEntry | string {
  const length = line.length;
  let position = 0;
  let start = 0;
  let end = 0;
  /** Moves start/end to the next word; false at the end of the line. */
  const next = (): boolean => {
    while (position < length) {
      const code = line.charCodeAt(position);
      if (code !== 32 && code !== 9) {
        break;
      }
      position++;
    }
    if (position >= length) {
      return false;
    }
    start = position;
    while (position < length) {
      const code = line.charCodeAt(position);
      if (code === 32 || code === 9) {
        break;
      }
      position++;
    }
    end = position;
    return true;
  };

  if (!next()) {
    return 'empty line';
  }
  let timestamp: string | undefined;
  let event: string | null = null;
  if (line.charCodeAt(start) === 91 /* [ */ && line.charCodeAt(end - 1) === 93 && /^\[\d+\.\d+\]$/.test(line.slice(start, end))) {
    timestamp = line.slice(start + 1, end - 1);
    if (!next()) {
      return 'nothing after the timestamp';
    }
  }
  if (line.charCodeAt(start) === 91) {
    const word = line.slice(start, end);
    if (word === '[NEW]' || word === '[UPDATE]' || word === '[DESTROY]') {
      event = word.slice(1, -1);
      if (!next()) {
        return 'nothing after the event';
      }
    }
  }
  let family: string | null = null;
  let word = line.slice(start, end);
  if (word === 'ipv4' || word === 'ipv6') {
    const saveStart = start;
    const saveEnd = end;
    const savePosition = position;
    if (next() && intAt(line, start, end) !== null) {
      family = word;
      if (!next()) {
        return 'nothing after the family';
      }
      word = line.slice(start, end);
    } else {
      start = saveStart;
      end = saveEnd;
      position = savePosition;
    }
  }
  const protocol = word;
  if (protocol.includes('=') || !next()) {
    return 'not a conntrack entry (expected "PROTOCOL NUMBER …")';
  }
  const protocolNumber = intAt(line, start, end);
  if (protocolNumber === null) {
    return 'not a conntrack entry (expected "PROTOCOL NUMBER …")';
  }
  const entry: ConntrackEntry = {
    protocol,
    protocolNumber,
    family,
    state: null,
    timeout: null,
    original: newTuple(),
    reply: null,
    flags: [],
    mark: null,
    zone: null,
    event,
    line: lineNumber,
  };
  if (timestamp !== undefined) {
    entry.timestamp = timestamp;
  }
  let tuple = entry.original;
  let sawSource = false;
  let expectTimeout = true;
  let expectState = true;
  while (next()) {
    const first = line.charCodeAt(start);
    if (expectTimeout) {
      expectTimeout = false;
      const timeout = intAt(line, start, end);
      if (timeout !== null) {
        entry.timeout = timeout;
        continue;
      }
    }
    if (expectState) {
      expectState = false;
      if (first >= 65 && first <= 90 && line.indexOf('=', start) !== -1 && line.indexOf('=', start) < end) {
        // a KEY=value word: no state
      } else if (first >= 65 && first <= 90) {
        const state = line.slice(start, end);
        if (/^[A-Z_]+$/.test(state)) {
          entry.state = state;
          continue;
        }
      }
    }
    if (first === 91 /* [ */ && line.charCodeAt(end - 1) === 93) {
      entry.flags.push(line.slice(start + 1, end - 1));
      continue;
    }
    let equals = -1;
    for (let i = start; i < end; i++) {
      if (line.charCodeAt(i) === 61) {
        equals = i;
        break;
      }
    }
    if (equals === -1) {
      return `unexpected word ${JSON.stringify(line.slice(start, end))}`;
    }
    const key = line.slice(start, equals);
    const valueStart = equals + 1;
    switch (key) {
      case 'src':
        if (sawSource) {
          // The second src= starts the reply direction.
          entry.reply = newTuple();
          tuple = entry.reply;
        }
        sawSource = true;
        tuple.src = line.slice(valueStart, end);
        break;
      case 'dst':
        tuple.dst = line.slice(valueStart, end);
        break;
      case 'sport':
        tuple.sport = intAt(line, valueStart, end);
        break;
      case 'dport':
        tuple.dport = intAt(line, valueStart, end);
        break;
      case 'packets':
        tuple.packets = intAt(line, valueStart, end) ?? undefined;
        break;
      case 'bytes':
        tuple.bytes = intAt(line, valueStart, end) ?? undefined;
        break;
      case 'type':
      case 'code':
        (tuple.extra ??= {})[key] = line.slice(valueStart, end);
        break;
      case 'id':
        // ICMP tuples carry type=, code=, id=; otherwise id= is the entry id of `-o id`.
        if (tuple.extra?.type !== undefined && tuple.extra.id === undefined) {
          tuple.extra.id = line.slice(valueStart, end);
        } else {
          entry.id = intAt(line, valueStart, end) ?? undefined;
        }
        break;
      case 'mark': {
        const value = line.slice(valueStart, end);
        entry.mark = intAt(line, valueStart, end) ?? (value.startsWith('0x') ? Number.parseInt(value, 16) : null);
        break;
      }
      case 'zone':
      case 'orig-zone':
      case 'reply-zone':
        entry.zone ??= intAt(line, valueStart, end);
        break;
      case 'use':
        entry.use = intAt(line, valueStart, end) ?? undefined;
        break;
      default:
        // secctx=, labels=, helper=, delta-time=, timestamp=…: kept out of the model.
        break;
    }
  }
  if (!sawSource) {
    return 'no src= in the entry';
  }
  return entry;
}

function tagText(block: string, tag: string): string | null {
  const open = block.indexOf(`<${tag}>`);
  if (open === -1) {
    return null;
  }
  const close = block.indexOf(`</${tag}>`, open);
  return close === -1 ? null : block.slice(open + tag.length + 2, close).trim();
}

function attribute(tagText: string, name: string): string | null {
  const index = tagText.indexOf(`${name}="`);
  if (index === -1) {
    return null;
  }
  const end = tagText.indexOf('"', index + name.length + 2);
  return end === -1 ? null : tagText.slice(index + name.length + 2, end);
}

/** `conntrack -o xml`: `<flow>` blocks, one per line or pretty-printed. */
function parseXml(text: string, lineStarts: number[], problems: ParseProblem[]): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  const lineOf = (offset: number): number => {
    let low = 0;
    let high = lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (lineStarts[middle] <= offset) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    return low + 1;
  };
  let position = 0;
  for (;;) {
    const open = text.indexOf('<flow', position);
    if (open === -1) {
      break;
    }
    const close = text.indexOf('</flow>', open);
    if (close === -1) {
      const line = lineOf(open);
      const start = lineStarts[line - 1];
      const end = text.indexOf('\n', start);
      const lineText = text.slice(start, end === -1 ? text.length : end).replace(/\r$/, '');
      problems.push({ line, text: lineText, reason: '<flow> without </flow> (output cut short?)' });
      break;
    }
    const block = text.slice(open, close);
    position = close + '</flow>'.length;
    const entry: ConntrackEntry = {
      protocol: 'unknown',
      protocolNumber: null,
      family: null,
      state: null,
      timeout: null,
      original: newTuple(),
      reply: null,
      flags: [],
      mark: null,
      zone: null,
      event: null,
      line: lineOf(open),
    };
    const flowTag = block.slice(0, block.indexOf('>') + 1);
    const flowType = attribute(flowTag, 'type');
    if (flowType !== null) {
      entry.event = flowType.toUpperCase();
    }
    let metaPosition = 0;
    for (;;) {
      const metaOpen = block.indexOf('<meta', metaPosition);
      if (metaOpen === -1) {
        break;
      }
      const metaClose = block.indexOf('</meta>', metaOpen);
      const metaEnd = metaClose === -1 ? block.length : metaClose;
      const meta = block.slice(metaOpen, metaEnd);
      metaPosition = metaEnd + 1;
      const direction = attribute(meta.slice(0, meta.indexOf('>') + 1), 'direction');
      if (direction === 'original' || direction === 'reply') {
        const tuple = newTuple();
        tuple.src = tagText(meta, 'src') ?? '';
        tuple.dst = tagText(meta, 'dst') ?? '';
        tuple.sport = toInt(tagText(meta, 'sport'));
        tuple.dport = toInt(tagText(meta, 'dport'));
        const l3 = meta.indexOf('<layer3');
        if (l3 !== -1) {
          entry.family = attribute(meta.slice(l3, meta.indexOf('>', l3) + 1), 'protoname');
        }
        const l4 = meta.indexOf('<layer4');
        if (l4 !== -1) {
          const l4Tag = meta.slice(l4, meta.indexOf('>', l4) + 1);
          entry.protocol = attribute(l4Tag, 'protoname') ?? entry.protocol;
          entry.protocolNumber = toInt(attribute(l4Tag, 'protonum'));
        }
        if (direction === 'original') {
          entry.original = tuple;
        } else {
          entry.reply = tuple;
        }
      } else {
        entry.state = tagText(meta, 'state');
        entry.timeout = toInt(tagText(meta, 'timeout'));
        entry.mark = toInt(tagText(meta, 'mark'));
        entry.zone = toInt(tagText(meta, 'zone'));
        const use = toInt(tagText(meta, 'use'));
        if (use !== null) {
          entry.use = use;
        }
        const id = toInt(tagText(meta, 'id'));
        if (id !== null) {
          entry.id = id;
        }
        for (const flag of ['assured', 'unreplied', 'offload', 'hw_offload']) {
          if (meta.includes(`<${flag}/>`) || meta.includes(`<${flag} />`)) {
            entry.flags.push(flag.toUpperCase());
          }
        }
      }
    }
    entries.push(entry);
  }
  return entries;
}

function parseText(text: string): ParseResult<ConntrackEntry[]> {
  const problems: ParseProblem[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith('<?xml') || trimmed.startsWith('<conntrack') || trimmed.startsWith('<flow')) {
    const lineStarts = [0];
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 10) {
        lineStarts.push(i + 1);
      }
    }
    return { value: parseXml(text, lineStarts, problems), problems };
  }
  const entries: ConntrackEntry[] = [];
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const content = line.trim();
    if (content.length === 0 || isTrimMark(line)) {
      continue;
    }
    if (SUMMARY.test(content)) {
      continue;
    }
    const result = readEntry(content, n + 1);
    if (typeof result === 'string') {
      problems.push({ line: n + 1, text: line, reason: content.startsWith('cpu=') ? 'a conntrack -S statistics line (read it with parseConntrackStats)' : result });
      continue;
    }
    entries.push(result);
  }
  return { value: entries, problems };
}

/**
 * Parses `conntrack -L` listings (also `-o extended`, `-o id`, accounting), `conntrack -E`
 * event lines (`[NEW]`, `[UPDATE]`, `[DESTROY]`, `-o timestamp`) and `-o xml` output into
 * entries. The "N flow entries have been shown" summary is not a problem; other lines are.
 */
export function parseConntrack(text: string): ParseResult<ConntrackEntry[]> {
  return guardParser('conntrack', text, () => [], parseText);
}

/** The count in conntrack's summary line (`… 1 flow entries have been shown.`); null without one. */
export function conntrackSummaryCount(text: string): number | null {
  if (typeof text !== 'string') {
    return null;
  }
  const index = text.lastIndexOf('flow entries have been shown');
  if (index === -1) {
    return null;
  }
  const lineStart = text.lastIndexOf('\n', index) + 1;
  const match = SUMMARY.exec(text.slice(lineStart, text.indexOf('\n', index) === -1 ? text.length : text.indexOf('\n', index)).trim());
  return match ? Number(match[1]) : null;
}

function parseStatsText(text: string): ParseResult<ConntrackStats> {
  const problems: ParseProblem[] = [];
  const stats: ConntrackStats = { cpus: [], totals: {}, entries: null };
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const content = line.trim();
    if (content.length === 0 || isTrimMark(line)) {
      continue;
    }
    const bare = toInt(content);
    if (bare !== null) {
      stats.entries = bare;
      continue;
    }
    const tokens = content.split(/\s+/);
    const counters: Record<string, number> = {};
    let cpu: number | null = null;
    let readable = true;
    for (const token of tokens) {
      const equals = token.indexOf('=');
      const value = equals === -1 ? null : toInt(token.slice(equals + 1));
      if (value === null) {
        readable = false;
        break;
      }
      const key = token.slice(0, equals);
      if (key === 'cpu') {
        cpu = value;
      } else {
        counters[key] = value;
      }
    }
    if (!readable) {
      problems.push({ line: n + 1, text: line, reason: 'not a key=number statistics line' });
      continue;
    }
    if (cpu === null) {
      if (counters.entries !== undefined) {
        stats.entries = counters.entries;
      }
      continue;
    }
    stats.cpus.push({ cpu, counters });
    for (const [key, value] of Object.entries(counters)) {
      stats.totals[key] = (stats.totals[key] ?? 0) + value;
    }
  }
  return { value: stats, problems };
}

/** Parses `conntrack -S` (per-CPU `cpu=N key=value…` lines; also a bare `conntrack -C` count). */
export function parseConntrackStats(text: string): ParseResult<ConntrackStats> {
  return guardParser('conntrack-stats', text, () => ({ cpus: [], totals: {}, entries: null }), parseStatsText);
}

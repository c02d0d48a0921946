/**
 * `dig` output (full, `+short`, `+search +showsearch` with several answers) and `nslookup`
 * output (bind and BusyBox), as one result shape.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isIP, isIPv4, isIPv6, isTrimMark, splitLines, toInt, words } from './text';

/** One resource record of a dig section. */
export interface DnsRecord {
  name: string;
  /** Null when the tool did not print a TTL (`+short`, nslookup). */
  ttl: number | null;
  class: string;
  type: string;
  /** The record data as printed (`10.96.0.10`, `0 100 8200 vault.vault.svc.cluster.local.`). */
  data: string;
}

/** One DNS reply as dig prints it. */
export interface DigMessage {
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED…; null when no reply arrived or the output does not say. */
  status: string | null;
  opcode: string | null;
  id: number | null;
  /** Header flags (`qr`, `aa`, `rd`, `ra`…). */
  flags: string[];
  question: { name: string; class: string; type: string } | null;
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
}

/** What a dig (or nslookup) run said. */
export interface DigResult {
  /** Status of the last reply; null with {@link DigResult.error} when none arrived. */
  status: string | null;
  /** Address of the server that answered (without `#port`). */
  server: string | null;
  serverPort: number | null;
  queryTimeMs: number | null;
  answers: DnsRecord[];
  authority: DnsRecord[];
  additional: DnsRecord[];
  flags: string[];
  question: { name: string; class: string; type: string } | null;
  /** Why there is no reply (`connection timed out; no servers could be reached`, `communications error …`). */
  error: string | null;
  /** `;; WARNING:` lines and other notes dig printed. */
  warnings: string[];
  /** Every reply when dig printed more than one (`+showsearch`); the top-level fields describe the last. */
  messages?: DigMessage[];
  /** Which tool printed it. */
  tool: 'dig' | 'dig-short' | 'nslookup';
}

const SECTION_NAMES: Record<string, 'question' | 'answers' | 'authority' | 'additional'> = {
  QUESTION: 'question',
  ANSWER: 'answers',
  AUTHORITY: 'authority',
  ADDITIONAL: 'additional',
};

const CLASSES = new Set(['IN', 'CH', 'HS', 'ANY', 'NONE', 'CS']);

function emptyResult(tool: DigResult['tool']): DigResult {
  return {
    status: null,
    server: null,
    serverPort: null,
    queryTimeMs: null,
    answers: [],
    authority: [],
    additional: [],
    flags: [],
    question: null,
    error: null,
    warnings: [],
    tool,
  };
}

function emptyMessage(): DigMessage {
  return { status: null, opcode: null, id: null, flags: [], question: null, answers: [], authority: [], additional: [] };
}

function isClass(token: string | undefined): boolean {
  return token !== undefined && (CLASSES.has(token) || /^CLASS\d+$/.test(token));
}

/** `name ttl class type data…` (dig always prints the TTL unless +nottlid, then `name class type data`). */
function readRecord(line: string): DnsRecord | null {
  const tokens = words(line);
  if (tokens.length < 4) {
    return null;
  }
  const ttl = toInt(tokens[1]);
  if (ttl !== null && isClass(tokens[2])) {
    return { name: tokens[0], ttl, class: tokens[2], type: tokens[3], data: tokens.slice(4).join(' ') };
  }
  if (isClass(tokens[1])) {
    return { name: tokens[0], ttl: null, class: tokens[1], type: tokens[2], data: tokens.slice(3).join(' ') };
  }
  return null;
}

/** `;;SERVER: 10.96.0.10#53(10.96.0.10) (UDP)`. */
function readServer(result: DigResult, value: string): void {
  const text = value.trim();
  const hash = text.indexOf('#');
  const paren = text.indexOf('(');
  if (hash !== -1) {
    result.server = text.slice(0, hash);
    const portEnd = paren === -1 ? text.length : paren;
    result.serverPort = toInt(text.slice(hash + 1, portEnd).trim());
  } else {
    result.server = words(text)[0] ?? null;
  }
}

function parseShort(lines: string[], problems: ParseProblem[]): DigResult {
  const result = emptyResult('dig-short');
  lines.forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      return;
    }
    if (trimmed.startsWith(';;')) {
      readErrorLine(result, trimmed);
      return;
    }
    const type = isIPv4(trimmed) ? 'A' : isIPv6(trimmed) ? 'AAAA' : /^[A-Za-z0-9_.-]+\.$/.test(trimmed) ? 'CNAME' : null;
    if (type === null) {
      const tokens = words(trimmed);
      if (tokens.length === 4 && tokens.slice(0, 3).every((token) => toInt(token) !== null)) {
        result.answers.push({ name: '', ttl: null, class: 'IN', type: 'SRV', data: trimmed });
        return;
      }
      problems.push({ line: index + 1, text: line, reason: 'not an address or name of dig +short output' });
      return;
    }
    result.answers.push({ name: '', ttl: null, class: 'IN', type, data: trimmed });
  });
  return result;
}

/** `;; connection timed out; …`, `;; communications error to …`, `;; no servers could be reached`. */
function readErrorLine(result: DigResult, trimmed: string): boolean {
  const text = trimmed.replace(/^;+\s*/, '');
  if (text.startsWith('connection timed out') || text.startsWith('communications error') || text.startsWith('no servers could be reached') || text.startsWith('connection refused') || text.startsWith('network unreachable') || text.startsWith('host unreachable')) {
    if (result.error === null) {
      result.error = text;
    } else if (!result.error.includes(text)) {
      result.error = `${result.error}; ${text}`;
    }
    return true;
  }
  return false;
}

function parseFull(lines: string[], problems: ParseProblem[]): DigResult {
  const result = emptyResult('dig');
  const messages: DigMessage[] = [];
  let message: DigMessage | null = null;
  let section: 'question' | 'answers' | 'authority' | 'additional' | 'opt' | null = null;
  let lastWasWarning = false;

  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const trimmed = line.trim();
    if (trimmed.length === 0) {
      section = null;
      lastWasWarning = false;
      continue;
    }
    if (isTrimMark(line)) {
      continue;
    }
    if (trimmed.startsWith(';')) {
      const text = trimmed.replace(/^;+\s*/, '');
      const followsWarning = lastWasWarning;
      lastWasWarning = false;
      if (readErrorLine(result, trimmed)) {
        continue;
      }
      if (followsWarning && result.warnings.length > 0 && !text.startsWith('->>') && !/^[A-Z][A-Za-z ]*:/.test(text)) {
        // dig's mDNS warning goes on over a second ";;" line.
        result.warnings[result.warnings.length - 1] += ` ${text}`;
        lastWasWarning = true;
        continue;
      }
      if (text.startsWith('->>HEADER<<-')) {
        message = emptyMessage();
        messages.push(message);
        const status = /status:\s*([A-Z0-9]+)/.exec(text);
        const opcode = /opcode:\s*([A-Z0-9]+)/.exec(text);
        const id = /id:\s*(\d+)/.exec(text);
        message.status = status ? status[1] : null;
        message.opcode = opcode ? opcode[1] : null;
        message.id = id ? Number(id[1]) : null;
        section = null;
        continue;
      }
      if (text.startsWith('flags:')) {
        if (message !== null) {
          const semicolon = text.indexOf(';');
          message.flags = words(text.slice('flags:'.length, semicolon === -1 ? text.length : semicolon));
        }
        continue;
      }
      const sectionMatch = /^([A-Z]+) SECTION:$/.exec(text);
      if (sectionMatch) {
        const name = SECTION_NAMES[sectionMatch[1]];
        section = name ?? null;
        if (message === null) {
          message = emptyMessage();
          messages.push(message);
        }
        continue;
      }
      if (text.startsWith('OPT PSEUDOSECTION:')) {
        section = 'opt';
        continue;
      }
      if (section === 'question' && message !== null && trimmed.startsWith(';') && !trimmed.startsWith(';;')) {
        const tokens = words(trimmed.slice(1));
        if (tokens.length >= 3) {
          message.question = { name: tokens[0], class: tokens[1], type: tokens[2] };
        } else {
          problems.push({ line: n + 1, text: line, reason: 'unreadable question line' });
        }
        continue;
      }
      if (text.startsWith('Query time:')) {
        const match = /Query time:\s*(\d+)\s*(msec|usec)?/.exec(text);
        if (match) {
          const amount = Number(match[1]);
          result.queryTimeMs = match[2] === 'usec' ? amount / 1000 : amount;
        }
        continue;
      }
      if (text.startsWith('SERVER:')) {
        readServer(result, text.slice('SERVER:'.length));
        continue;
      }
      if (text.startsWith('WARNING:')) {
        result.warnings.push(text.slice('WARNING:'.length).trim());
        lastWasWarning = true;
        continue;
      }
      // Banner, global options, EDNS, COOKIE, WHEN, MSG SIZE, "Got answer", "(1 server found)": nothing to keep.
      continue;
    }
    if (section !== null && section !== 'question' && section !== 'opt' && message !== null) {
      const record = readRecord(trimmed);
      if (record) {
        message[section].push(record);
        continue;
      }
      problems.push({ line: n + 1, text: line, reason: `unreadable record in ${section} section` });
      continue;
    }
    if (lastWasWarning && result.warnings.length > 0) {
      // dig's mDNS warning goes on over a second line without a leading ";;".
      result.warnings[result.warnings.length - 1] += ` ${trimmed}`;
      continue;
    }
    if (/^dig:\s/.test(trimmed) || trimmed.startsWith("couldn't get address")) {
      result.error = result.error === null ? trimmed : `${result.error}; ${trimmed}`;
      continue;
    }
    problems.push({ line: n + 1, text: line, reason: 'not part of dig output' });
  }

  const last = messages.length > 0 ? messages[messages.length - 1] : null;
  if (last !== null) {
    result.status = last.status;
    result.flags = last.flags;
    result.question = last.question;
    result.answers = last.answers;
    result.authority = last.authority;
    result.additional = last.additional;
    if (last.status !== null) {
      // A reply arrived after earlier tries failed: the error lines were retries, not the outcome.
      result.error = null;
    }
  }
  if (messages.length > 1) {
    result.messages = messages;
  }
  return result;
}

function looksLikeNslookup(lines: string[]): boolean {
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    return /^Server:\s/.test(trimmed) || trimmed.startsWith('** server can') || trimmed.startsWith('*** Can') || trimmed.startsWith('nslookup:');
  }
  return false;
}

function looksLikeShort(lines: string[]): boolean {
  let sawData = false;
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    if (trimmed.startsWith(';')) {
      if (trimmed.includes('<<>> DiG') || trimmed.includes('->>HEADER<<-') || trimmed.includes('global options')) {
        return false;
      }
      continue;
    }
    if (!isIP(trimmed) && !/^[A-Za-z0-9_.-]+\.$/.test(trimmed) && !/^\d+ \d+ \d+ \S+$/.test(trimmed)) {
      return false;
    }
    sawData = true;
  }
  return sawData;
}

function parseNslookupText(text: string): ParseResult<DigResult> {
  const problems: ParseProblem[] = [];
  const result = emptyResult('nslookup');
  const lines = splitLines(text);
  let inAnswer = false;
  let currentName: string | null = null;
  let sawServer = false;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    if (readErrorLine(result, trimmed)) {
      continue;
    }
    const server = /^Server:\s+(\S+)/.exec(trimmed);
    if (server) {
      result.server = server[1];
      sawServer = true;
      inAnswer = false;
      continue;
    }
    const address = /^Address(?:\s+\d+)?:\s*(\S+)(?:\s+(\S+))?/.exec(trimmed);
    if (address) {
      if (!inAnswer) {
        // The server's own address line: `Address: 10.96.0.10#53` or BusyBox `Address 1: 10.96.0.10 kube-dns…`.
        const value = address[1];
        const hash = value.indexOf('#');
        if (hash !== -1) {
          result.server = value.slice(0, hash);
          result.serverPort = toInt(value.slice(hash + 1));
        } else if (isIP(value)) {
          result.server = value;
        }
        continue;
      }
      const value = address[1];
      if (!isIP(value)) {
        problems.push({ line: n + 1, text: line, reason: 'answer address is not an IP address' });
        continue;
      }
      result.answers.push({ name: currentName ?? '', ttl: null, class: 'IN', type: value.includes(':') ? 'AAAA' : 'A', data: value });
      continue;
    }
    const name = /^Name:\s+(\S+)/.exec(trimmed);
    if (name) {
      currentName = name[1];
      inAnswer = true;
      continue;
    }
    const canonical = /^(\S+)\s+canonical name\s*=\s*(\S+)/.exec(trimmed);
    if (canonical) {
      result.answers.push({ name: canonical[1], ttl: null, class: 'IN', type: 'CNAME', data: canonical[2] });
      inAnswer = true;
      continue;
    }
    if (trimmed.startsWith('Non-authoritative answer') || trimmed.startsWith('Authoritative answers')) {
      inAnswer = true;
      continue;
    }
    const cannotFind = /^\*\*\*?\s*(?:server can't find|Can't find)\s+([^:]+):\s*(.+)$/.exec(trimmed);
    if (cannotFind) {
      const reason = cannotFind[2].trim();
      const upper = reason.toUpperCase();
      if (upper === 'NXDOMAIN' || upper === 'SERVFAIL' || upper === 'REFUSED' || upper === 'FORMERR' || upper === 'NOTIMP') {
        result.status = upper;
      } else if (reason.toLowerCase().startsWith('no answer')) {
        result.status = 'NOERROR';
      } else {
        result.error = reason;
      }
      continue;
    }
    if (/^nslookup:\s/.test(trimmed) || trimmed.startsWith(';;')) {
      result.error = result.error === null ? trimmed : `${result.error}; ${trimmed}`;
      continue;
    }
    problems.push({ line: n + 1, text: line, reason: 'not part of nslookup output' });
  }
  if (result.status === null && result.answers.length > 0) {
    result.status = 'NOERROR';
  }
  if (result.status !== null) {
    result.error = null;
  }
  if (!sawServer && result.server === null && result.answers.length === 0 && result.error === null && result.status === null && lines.some((line) => line.trim().length > 0 && !isTrimMark(line))) {
    problems.push({ line: 0, text: '', reason: 'no Server: line and no answer: this does not look like nslookup output' });
  }
  return { value: result, problems };
}

function parseDigText(text: string): ParseResult<DigResult> {
  const lines = splitLines(text);
  if (looksLikeNslookup(lines)) {
    return parseNslookupText(text);
  }
  const problems: ParseProblem[] = [];
  if (looksLikeShort(lines)) {
    return { value: parseShort(lines, problems), problems };
  }
  return { value: parseFull(lines, problems), problems };
}

/**
 * Parses `dig` output: the reply's status, the server that answered, the query time, the
 * answer/authority/additional records, or the error when no reply came. Also reads
 * `dig +short` and (handing over to {@link parseNslookup}) nslookup output.
 */
export function parseDig(text: string): ParseResult<DigResult> {
  return guardParser('dig', text, () => emptyResult('dig'), parseDigText);
}

/** Parses `nslookup` output (bind and BusyBox) into the same shape as {@link parseDig}; TTLs are null. */
export function parseNslookup(text: string): ParseResult<DigResult> {
  return guardParser('nslookup', text, () => emptyResult('nslookup'), parseNslookupText);
}

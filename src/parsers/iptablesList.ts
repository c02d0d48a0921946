/**
 * `iptables -L` output (`-n`, `-v`, `-x`, `--line-numbers`, one chain or all, ip6tables too)
 * as chains and rules, plus the kube-proxy services view of them.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import type { KubeProxyService, RuleFacts } from './kubeProxyServices';
import { PORT_NAMES, deriveIptablesServices, hostAddress } from './kubeProxyServices';
import { isTrimMark, positionedWords, splitLines, toInt } from './text';

/** One rule row of `iptables -L`. */
export interface IptablesListRule {
  /** Target column; null when the rule has none (the column is blank). */
  target: string | null;
  /** Protocol as printed (`tcp`, `all`, or a number such as `6`/`17`/`0` in newer `-n` output). */
  prot: string;
  /** `--`, `-f`, `!f`; null when the column is missing. */
  opt: string | null;
  source: string;
  destination: string;
  /** Everything after the destination column (matches, comment, target options). */
  extra: string;
  /** The `/* … *\/` comment inside `extra`. */
  comment: string | null;
  pkts?: number;
  bytes?: number;
  in?: string;
  out?: string;
  /** `--line-numbers` number. */
  num?: number;
  /** 1-based line number in the input. */
  line: number;
}

/** One `Chain NAME (…)` block. */
export interface IptablesListChain {
  name: string;
  /** Built-in chain policy; null for user chains. */
  policy: string | null;
  /** `(N references)` of a user chain; null for built-in chains. */
  references: number | null;
  /** Policy counters of a built-in chain with `-v`. */
  packets?: number;
  bytes?: number;
  rules: IptablesListRule[];
  line: number;
}

/** A parsed `iptables -L` listing. */
export interface IptablesList {
  chains: IptablesListChain[];
  services: KubeProxyService[];
}

function empty(): IptablesList {
  return { chains: [], services: [] };
}

const PROTOCOL_NUMBERS: Readonly<Record<string, string | null>> = {
  '0': null,
  all: null,
  '1': 'icmp',
  '6': 'tcp',
  '17': 'udp',
  '58': 'ipv6-icmp',
  '132': 'sctp',
};

/** `597K`, `12M`, `3G`, `42` (iptables scales by 1000). */
function readCount(text: string | undefined): number | null {
  if (text === undefined || text.length === 0) {
    return null;
  }
  const last = text[text.length - 1];
  const scale = last === 'K' ? 1e3 : last === 'M' ? 1e6 : last === 'G' ? 1e9 : last === 'T' ? 1e12 : 1;
  const digits = scale === 1 ? text : text.slice(0, -1);
  const value = toInt(digits);
  return value === null ? null : value * scale;
}

function isOpt(text: string | undefined): boolean {
  return text === '--' || text === '-f' || text === '!f' || text === '!-f';
}

interface Header {
  num: boolean;
  counters: boolean;
  inOut: boolean;
}

function readHeader(line: string): Header | null {
  const tokens = line.trim().split(/\s+/);
  if (!tokens.includes('target') || !tokens.includes('source') || !tokens.includes('destination')) {
    return null;
  }
  return { num: tokens[0] === 'num', counters: tokens.includes('pkts'), inOut: tokens.includes('in') };
}

function readRuleLine(line: string, header: Header, lineNumber: number): IptablesListRule | null {
  const tokens = positionedWords(line);
  let index = 0;
  const rule: IptablesListRule = { target: null, prot: '', opt: null, source: '', destination: '', extra: '', comment: null, line: lineNumber };
  if (header.num) {
    const num = toInt(tokens[index]?.text);
    if (num === null) {
      return null;
    }
    rule.num = num;
    index++;
  }
  if (header.counters) {
    const pkts = readCount(tokens[index]?.text);
    const bytes = readCount(tokens[index + 1]?.text);
    if (pkts === null || bytes === null) {
      return null;
    }
    rule.pkts = pkts;
    rule.bytes = bytes;
    index += 2;
  }
  if (isOpt(tokens[index + 1]?.text)) {
    rule.prot = tokens[index].text;
    rule.opt = tokens[index + 1].text;
    index += 2;
  } else if (isOpt(tokens[index + 2]?.text)) {
    rule.target = tokens[index].text;
    rule.prot = tokens[index + 1].text;
    rule.opt = tokens[index + 2].text;
    index += 3;
  } else {
    if (tokens[index + 1] === undefined) {
      return null;
    }
    rule.target = tokens[index].text;
    rule.prot = tokens[index + 1].text;
    index += 2;
  }
  if (header.inOut) {
    if (tokens[index + 1] === undefined) {
      return null;
    }
    rule.in = tokens[index].text;
    rule.out = tokens[index + 1].text;
    index += 2;
  }
  const source = tokens[index];
  const destination = tokens[index + 1];
  if (source === undefined || destination === undefined) {
    return null;
  }
  rule.source = source.text;
  rule.destination = destination.text;
  const extraStart = tokens[index + 2];
  rule.extra = extraStart === undefined ? '' : line.slice(extraStart.start).trimEnd();
  const open = rule.extra.indexOf('/* ');
  if (open !== -1) {
    const close = rule.extra.indexOf(' */', open + 3);
    if (close !== -1) {
      rule.comment = rule.extra.slice(open + 3, close);
    }
  }
  return rule;
}

function factsOf(chain: string, rule: IptablesListRule): RuleFacts {
  const extraWords = rule.extra.split(' ');
  let dport: number | null = null;
  let probability: number | null = null;
  let dnatTo: string | null = null;
  for (let i = 0; i < extraWords.length; i++) {
    const word = extraWords[i];
    if (word.startsWith('dpt:')) {
      const value = word.slice(4);
      dport = toInt(value) ?? PORT_NAMES[value] ?? null;
    } else if (word === 'probability') {
      const value = Number(extraWords[i + 1]);
      probability = Number.isFinite(value) ? value : null;
    } else if (word.startsWith('to:') && rule.target === 'DNAT') {
      dnatTo = word.slice(3);
    }
  }
  const prot = rule.prot.toLowerCase();
  return {
    chain,
    target: rule.target,
    comment: rule.comment,
    destination: rule.destination.startsWith('!') ? null : hostAddress(rule.destination),
    protocol: prot in PROTOCOL_NUMBERS ? PROTOCOL_NUMBERS[prot] : prot,
    dport,
    probability,
    dnatTo,
    affinityCheck: rule.extra.includes('recent: CHECK'),
  };
}

const CHAIN_LINE = /^Chain (\S+) \((.*)\)\s*$/;

function parseText(text: string): ParseResult<IptablesList> {
  const problems: ParseProblem[] = [];
  const chains: IptablesListChain[] = [];
  const facts: RuleFacts[] = [];
  let chain: IptablesListChain | null = null;
  let header: Header | null = null;
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const lineNumber = n + 1;
    if (line.trim().length === 0) {
      continue;
    }
    if (isTrimMark(line)) {
      continue;
    }
    const chainMatch = CHAIN_LINE.exec(line);
    if (chainMatch) {
      const inside = chainMatch[2];
      chain = { name: chainMatch[1], policy: null, references: null, rules: [], line: lineNumber };
      const policy = /^policy (\S+)(?: (\S+) packets, (\S+) bytes)?$/.exec(inside);
      if (policy) {
        chain.policy = policy[1];
        const packets = readCount(policy[2]);
        const bytes = readCount(policy[3]);
        if (packets !== null && bytes !== null) {
          chain.packets = packets;
          chain.bytes = bytes;
        }
      } else {
        const references = /^(\d+) references?$/.exec(inside);
        if (references) {
          chain.references = Number(references[1]);
        } else {
          problems.push({ line: lineNumber, text: line, reason: 'unreadable chain header' });
        }
      }
      chains.push(chain);
      header = null;
      continue;
    }
    if (chain === null) {
      problems.push({ line: lineNumber, text: line, reason: 'line before any "Chain" header' });
      continue;
    }
    if (header === null) {
      header = readHeader(line);
      if (header === null) {
        problems.push({ line: lineNumber, text: line, reason: 'expected the column header after the "Chain" line' });
        header = { num: false, counters: false, inOut: false };
      }
      if (readHeader(line) !== null) {
        continue;
      }
    }
    const rule = readRuleLine(line, header, lineNumber);
    if (rule === null) {
      problems.push({ line: lineNumber, text: line, reason: 'unreadable rule row' });
      continue;
    }
    chain.rules.push(rule);
    facts.push(factsOf(chain.name, rule));
  }
  return { value: { chains, services: deriveIptablesServices(facts) }, problems };
}

/**
 * Parses `iptables -L` / `ip6tables -L` output (with `-n`, `-v`, `-x`, `--line-numbers`, a
 * single chain such as `-t nat -L KUBE-SERVICES`): chains with policy or references, rules
 * with their columns and comment, and the kube-proxy services they show.
 */
export function parseIptablesList(text: string): ParseResult<IptablesList> {
  return guardParser('iptables-list', text, empty, parseText);
}

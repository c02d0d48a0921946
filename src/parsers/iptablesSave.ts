/**
 * `iptables-save` / `ip6tables-save` (with or without `-c` counters) and `iptables -S`
 * output as tables, chains and rules, plus kube-proxy's services view of them. Linear in the
 * input: one pass over the lines, a quote-aware split of each rule, no backtracking regex.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import type { KubeProxyService, RuleFacts } from './kubeProxyServices';
import { deriveIptablesServices, hostAddress } from './kubeProxyServices';
import { isTrimMark, shellWords, splitLines, toInt } from './text';

/** Packet and byte counters (`[packets:bytes]`). */
export interface IptablesCounters {
  packets: number;
  bytes: number;
}

/** One `-A CHAIN …` rule. */
export interface IptablesRule {
  chain: string;
  /** The rule as printed, from `-A` on (counters prefix removed). */
  raw: string;
  /** `-j` target (or `-g` goto target); null when the rule has none. */
  target: string | null;
  /** The first `--comment`; null when there is none. */
  comment: string | null;
  /** 1-based line number in the input. */
  line: number;
  /** `-g` instead of `-j`. */
  goto?: boolean;
  /** `[packets:bytes]` of `iptables-save -c`. */
  counters?: IptablesCounters;
}

/** One chain. */
export interface IptablesChain {
  name: string;
  /** Policy of a built-in chain (ACCEPT, DROP); null for user chains (`-`) and chains seen only in rules. */
  policy: string | null;
  counters: IptablesCounters | null;
  rules: IptablesRule[];
  /** Line of its `:CHAIN` / `-N` / `-P` declaration; null when only rules named it. */
  line: number | null;
}

/** One table (`*nat`). */
export interface IptablesTable {
  name: string;
  chains: IptablesChain[];
  /** Line of `*name`; null for an implicit table. */
  line: number | null;
  /**
   * True when the output had no `*table` line (`iptables -S`, fragments): the name is then
   * `nat` when the rules show NAT (DNAT/SNAT/MASQUERADE targets, KUBE-SVC/SEP chains,
   * PREROUTING/POSTROUTING), else `filter`, the default table of `iptables -S`.
   */
  implicit?: boolean;
}

/** A parsed dump. */
export interface IptablesSave {
  tables: IptablesTable[];
  services: KubeProxyService[];
}

function empty(): IptablesSave {
  return { tables: [], services: [] };
}

interface TableState {
  table: IptablesTable;
  chains: Map<string, IptablesChain>;
  looksNat: boolean;
}

function readCounters(text: string): IptablesCounters | null {
  // "[12:3456]"
  if (!text.startsWith('[') || !text.endsWith(']')) {
    return null;
  }
  const colon = text.indexOf(':');
  if (colon === -1) {
    return null;
  }
  const packets = toInt(text.slice(1, colon));
  const bytes = toInt(text.slice(colon + 1, -1));
  return packets === null || bytes === null ? null : { packets, bytes };
}

const NAT_TARGETS = new Set(['DNAT', 'SNAT', 'MASQUERADE', 'REDIRECT', 'NETMAP', 'KUBE-MARK-MASQ']);

/** The facts of one rule's arguments (after `-A CHAIN`). */
function readRule(args: string[], chain: string): { facts: RuleFacts; comment: string | null; goto: boolean; dnatSeen: boolean } {
  const facts: RuleFacts = { chain, target: null, comment: null, destination: null, protocol: null, dport: null, probability: null, dnatTo: null, affinityCheck: false };
  let goto = false;
  let negate = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    switch (arg) {
      case '!':
        negate = true;
        continue;
      case '-j':
      case '--jump':
        facts.target = value ?? null;
        i++;
        break;
      case '-g':
      case '--goto':
        facts.target = value ?? null;
        goto = true;
        i++;
        break;
      case '--comment':
        if (facts.comment === null && value !== undefined) {
          facts.comment = value;
        }
        i++;
        break;
      case '-d':
      case '--destination':
      case '--dst':
        if (!negate) {
          facts.destination = hostAddress(value);
        }
        i++;
        break;
      case '-p':
      case '--protocol':
        if (!negate && value !== undefined) {
          facts.protocol = value.toLowerCase();
        }
        i++;
        break;
      case '--dport':
      case '--destination-port':
        if (!negate) {
          facts.dport = toInt(value);
        }
        i++;
        break;
      case '--probability': {
        const probability = value === undefined ? NaN : Number(value);
        facts.probability = Number.isFinite(probability) ? probability : null;
        i++;
        break;
      }
      case '--to-destination':
        facts.dnatTo = value ?? null;
        i++;
        break;
      case '--rcheck':
        facts.affinityCheck = true;
        break;
      case '-s':
      case '--source':
      case '-i':
      case '-o':
      case '-m':
      case '--match':
        i++;
        break;
      default:
        break;
    }
    negate = false;
  }
  return { facts, comment: facts.comment, goto, dnatSeen: facts.target !== null && NAT_TARGETS.has(facts.target) };
}

function parseText(text: string): ParseResult<IptablesSave> {
  const problems: ParseProblem[] = [];
  const tables: IptablesTable[] = [];
  const facts: RuleFacts[] = [];
  let current: TableState | null = null;
  let implicit: TableState | null = null;

  const openImplicit = (): TableState => {
    if (implicit === null) {
      implicit = { table: { name: 'filter', chains: [], line: null, implicit: true }, chains: new Map(), looksNat: false };
      tables.push(implicit.table);
    }
    return implicit;
  };

  const chainOf = (state: TableState, name: string, declarationLine: number | null): IptablesChain => {
    let chain = state.chains.get(name);
    if (chain === undefined) {
      chain = { name, policy: null, counters: null, rules: [], line: declarationLine };
      state.chains.set(name, chain);
      state.table.chains.push(chain);
      if (name === 'PREROUTING' || name === 'POSTROUTING' || name.startsWith('KUBE-SVC-') || name.startsWith('KUBE-SEP-')) {
        state.looksNat = true;
      }
    } else if (chain.line === null && declarationLine !== null) {
      chain.line = declarationLine;
    }
    return chain;
  };

  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const lineNumber = n + 1;
    const original = lines[n];
    let line = original.trim();
    if (line.length === 0 || isTrimMark(original)) {
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 35 /* # */) {
      continue;
    }
    if (first === 42 /* * */) {
      const name = line.slice(1).trim();
      if (name.length === 0 || name.includes(' ')) {
        problems.push({ line: lineNumber, text: original, reason: 'unreadable table line' });
        continue;
      }
      current = { table: { name, chains: [], line: lineNumber }, chains: new Map(), looksNat: false };
      tables.push(current.table);
      continue;
    }
    if (line === 'COMMIT') {
      current = null;
      continue;
    }
    if (first === 58 /* : */) {
      // :CHAIN POLICY [packets:bytes]
      const parts = line.slice(1).split(' ').filter((part) => part.length > 0);
      if (parts.length < 2) {
        problems.push({ line: lineNumber, text: original, reason: 'unreadable chain declaration' });
        continue;
      }
      const state = current ?? openImplicit();
      const chain = chainOf(state, parts[0], lineNumber);
      chain.policy = parts[1] === '-' ? null : parts[1];
      chain.counters = parts[2] === undefined ? null : readCounters(parts[2]);
      continue;
    }
    let counters: IptablesCounters | null = null;
    if (first === 91 /* [ */) {
      const close = line.indexOf(']');
      counters = close === -1 ? null : readCounters(line.slice(0, close + 1));
      if (counters === null) {
        problems.push({ line: lineNumber, text: original, reason: 'unreadable [packets:bytes] counters' });
        continue;
      }
      line = line.slice(close + 1).trimStart();
    }
    if (line.startsWith('-A ') || line.startsWith('--append ') || line.startsWith('-I ')) {
      const args = shellWords(line);
      const chainName = args[1];
      if (chainName === undefined) {
        problems.push({ line: lineNumber, text: original, reason: 'rule without a chain name' });
        continue;
      }
      const state = current ?? openImplicit();
      const chain = chainOf(state, chainName, null);
      const read = readRule(args.slice(2), chainName);
      if (read.dnatSeen) {
        state.looksNat = true;
      }
      const rule: IptablesRule = { chain: chainName, raw: line, target: read.facts.target, comment: read.comment, line: lineNumber };
      if (read.goto) {
        rule.goto = true;
      }
      if (counters !== null) {
        rule.counters = counters;
      }
      chain.rules.push(rule);
      if (chainName.startsWith('KUBE-')) {
        facts.push(read.facts);
      }
      continue;
    }
    if (line.startsWith('-N ') || line.startsWith('-P ')) {
      // iptables -S: "-N CHAIN", "-P CHAIN POLICY [-c packets bytes]"
      const parts = line.split(' ').filter((part) => part.length > 0);
      const state = current ?? openImplicit();
      const chainName = parts[1];
      if (chainName === undefined) {
        problems.push({ line: lineNumber, text: original, reason: 'chain line without a name' });
        continue;
      }
      const chain = chainOf(state, chainName, lineNumber);
      if (parts[0] === '-P') {
        chain.policy = parts[2] ?? null;
        if (parts[3] === '-c') {
          const packets = toInt(parts[4]);
          const bytes = toInt(parts[5]);
          chain.counters = packets === null || bytes === null ? null : { packets, bytes };
        }
      }
      continue;
    }
    problems.push({ line: lineNumber, text: original, reason: 'not an iptables-save or iptables -S line' });
  }
  const implicitState = implicit as TableState | null;
  if (implicitState !== null && implicitState.looksNat) {
    implicitState.table.name = 'nat';
  }
  return { value: { tables, services: deriveIptablesServices(facts) }, problems };
}

/**
 * Parses `iptables-save`/`ip6tables-save` (with `-c` counters) and `iptables -S` output: tables,
 * chains (policy, counters), rules (target, comment), and the kube-proxy services they
 * program (old and new kube-proxy layouts). Comments and `# … trimmed` marks are skipped;
 * other unreadable lines are problems. Rules outside any `*table` go to one implicit table.
 */
export function parseIptablesSave(text: string): ParseResult<IptablesSave> {
  return guardParser('iptables-save', text, empty, parseText);
}

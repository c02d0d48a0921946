/**
 * The index behind the editor features of `iptables-save` and `nft` dumps: tables, chains
 * (and nft sets/maps) with where each is declared, every jump/goto that names one, folding
 * ranges, and the kube-proxy services view for hovers. Built once per document version from
 * the parsers' output plus one pass over the lines for columns, so it is linear in the dump.
 * Pure: no `vscode` import. Lines are 0-based and columns are UTF-16 offsets, as in VS Code.
 */
import type { KubeProxyService } from '../../parsers/kubeProxyServices.js';
import { parseIptablesSave } from '../../parsers/iptablesSave.js';
import { parseNft } from '../../parsers/nft.js';
import { buildIptables } from './buildIptables.js';
import { buildNft } from './buildNft.js';
import { pushTo } from './buildShared.js';
import type { DumpSyntax } from './lineScan.js';
import { nameAt, unquoteWord } from './lineScan.js';
import type { NameKind, Occurrence, OccurrenceData } from './occurrences.js';
import { OccurrenceBuilder, OccurrenceTable } from './occurrences.js';

export type { NameKind, Occurrence, OccurrenceKind } from './occurrences.js';

/** The two dump languages. */
export type RulesLanguageId = DumpSyntax;

/** A piece of one line: 0-based line, `[start, end)` UTF-16 columns. */
export interface Span {
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

/** Whole lines `start..end`, both included, 0-based. */
export interface LineRange {
  readonly start: number;
  readonly end: number;
}

/** One chain. */
export interface ChainEntry {
  readonly name: string;
  readonly table: number;
  /** The name on its declaration line (`:NAME`, `-N`/`-P NAME`, `chain NAME {`); null when only rules name it. */
  readonly definition: Span | null;
  /** The name on the first `-A NAME` line (iptables); null without rules or in nft. */
  readonly firstRule: Span | null;
  /**
   * iptables: each run of consecutive lines holding the chain's rules (a chain's rules need
   * not be contiguous). nft: the chain's `chain … { … }` block.
   */
  readonly runs: readonly LineRange[];
  readonly ruleCount: number;
  /** Policy of a built-in/base chain; null for user chains. */
  readonly policy: string | null;
  /** nft base chain `type … hook … priority …`; null otherwise. */
  readonly hook: string | null;
  /** The first rule comment naming a service (`ns/name:port …`), else the chain's own comment; null when none. */
  readonly comment: string | null;
  /** The first DNAT target among the chain's rules (`10.244.0.3:53`); null when none. */
  readonly dnatTo: string | null;
}

/** One nft set or map. */
export interface SetEntry {
  readonly name: string;
  readonly table: number;
  readonly kind: 'set' | 'map';
  readonly definition: Span;
  readonly block: LineRange;
  readonly elementCount: number;
}

/** One table (`*nat` … `COMMIT`, `table ip kube-proxy { … }`). */
export interface TableEntry {
  /** `nat`, `filter`; nft: the table's name. Empty for an nft chain listed without its table. */
  readonly name: string;
  /** nft family (`ip`, `inet`…); null for iptables. */
  readonly family: string | null;
  /** The name on the `*name` / `table … name {` line; null when the dump had no such line. */
  readonly header: Span | null;
  readonly range: LineRange;
  /** True when the dump had no table line around these chains (fragments, `iptables -S`, `nft list chain`). */
  readonly implicit: boolean;
  readonly chains: readonly ChainEntry[];
  readonly sets: readonly SetEntry[];
}

/** What a folding range folds. */
export type FoldingKind = 'table' | 'chain' | 'set' | 'block' | 'declarations' | 'comment';

/** One folding range (whole lines, 0-based, `end > start`). */
export interface FoldingEntry {
  readonly start: number;
  readonly end: number;
  readonly kind: FoldingKind;
}

/** A resolved name at a position: where it was found and what it names. */
export interface NameTarget {
  /** The name as written at the position. */
  readonly origin: Span;
  readonly name: string;
  readonly nameKind: NameKind;
  /** The chain it names (when `nameKind` is chain and the dump has it). */
  readonly chain: ChainEntry | null;
  /** The set/map it names (nft `@name`). */
  readonly set: SetEntry | null;
}

/** A service port and, for an endpoint chain, which of its endpoints. */
export interface ServiceMatch {
  readonly service: KubeProxyService;
  /** Index into `service.endpoints` when the chain is an endpoint chain (KUBE-SEP-, endpoint-). */
  readonly endpoint: number | null;
}

/** The hash part of kube-proxy's iptables per-service chains (KUBE-SVC-, -SVL-, -EXT-, -FW-, -XLB-). */
const IPTABLES_SERVICE_CHAIN = /^KUBE-(?:SVC|SVL|EXT|FW|XLB)-(\w+)$/;
/** kube-proxy's nftables per-service chains: `service-HASH-ns/name/proto/port`, also local-, external-, firewall-. */
const NFT_SERVICE_CHAIN = /^(?:service|local|external|firewall)-([A-Z0-9]+)-[^/\s]+\/[^/\s]+\/[a-z]+\/[^/\s]*$/;

/** The shared per-service-port hash of a service chain name; null for other chains. */
export function serviceChainKey(name: string): string | null {
  const iptables = IPTABLES_SERVICE_CHAIN.exec(name);
  if (iptables) {
    return `iptables:${iptables[1]}`;
  }
  const nft = name.length <= 512 ? NFT_SERVICE_CHAIN.exec(name) : null;
  return nft ? `nft:${nft[1]}` : null;
}

/** Splits text into lines the way the parsers number them (LF or CRLF). */
function documentLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) {
      lines[i] = line.slice(0, -1);
    }
  }
  return lines;
}

/**
 * Everything {@link RulesIndex} is made of: plain data (typed arrays, arrays, plain objects),
 * so it can be built in a worker and posted back.
 */
export interface RulesIndexData {
  readonly language: RulesLanguageId;
  readonly lineCount: number;
  readonly tables: readonly TableEntry[];
  readonly services: readonly KubeProxyService[];
  readonly problemCount: number;
  readonly occurrences: OccurrenceData;
  readonly folding: readonly FoldingEntry[];
}

/**
 * The index of one dump. Queries are cheap (a per-line lookup, map lookups); building it
 * ({@link buildRulesIndexData}) is the only linear step.
 */
export class RulesIndex {
  readonly language: RulesLanguageId;
  readonly lineCount: number;
  readonly tables: readonly TableEntry[];
  /** kube-proxy's services as the parsers derived them from the rules. */
  readonly services: readonly KubeProxyService[];
  /** Lines the parser could not read. */
  readonly problemCount: number;

  private readonly occurrences: OccurrenceTable;
  private readonly folding: readonly FoldingEntry[];
  /** Chains by name, one map per table. */
  private readonly chainsByTable: Array<Map<string, ChainEntry>>;
  private readonly setsByTable: Array<Map<string, SetEntry>>;
  private readonly chainsByName = new Map<string, ChainEntry[]>();
  private readonly setsByName = new Map<string, SetEntry[]>();
  private readonly tableStarts: number[];
  private readonly tableOrder: number[];
  private servicesByChain: Map<string, ServiceMatch> | null = null;
  private servicesByKey: Map<string, KubeProxyService> | null = null;

  constructor(readonly data: RulesIndexData) {
    this.language = data.language;
    this.lineCount = data.lineCount;
    this.tables = data.tables;
    this.services = data.services;
    this.problemCount = data.problemCount;
    this.occurrences = new OccurrenceTable(data.occurrences);
    this.folding = data.folding;
    this.chainsByTable = data.tables.map(() => new Map<string, ChainEntry>());
    this.setsByTable = data.tables.map(() => new Map<string, SetEntry>());
    data.tables.forEach((table, index) => {
      for (const chain of table.chains) {
        this.chainsByTable[index].set(chain.name, chain);
        pushTo(this.chainsByName, chain.name, chain);
      }
      for (const set of table.sets) {
        this.setsByTable[index].set(set.name, set);
        pushTo(this.setsByName, set.name, set);
      }
    });
    this.tableOrder = data.tables.map((_, index) => index).sort((left, right) => data.tables[left].range.start - data.tables[right].range.start);
    this.tableStarts = this.tableOrder.map((index) => data.tables[index].range.start);
  }

  /** How many chain/set names the dump writes (declarations, rules, jumps, uses). */
  get occurrenceCount(): number {
    return this.occurrences.size;
  }

  /** The occurrences recorded on one line, in column order. */
  occurrencesOnLine(line: number): Occurrence[] {
    return this.occurrences.onLine(line);
  }

  /** The recorded occurrence under a position (a position just after a name counts). */
  occurrenceAt(line: number, character: number): Occurrence | undefined {
    return this.occurrences.atPosition(line, character);
  }

  /** The table whose range holds a line; -1 when none does. */
  tableAtLine(line: number): number {
    // Last table starting at or before the line, then back while ranges overlap.
    let low = 0;
    let high = this.tableStarts.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (this.tableStarts[middle] <= line) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    for (let i = found; i >= 0; i--) {
      if (this.tables[this.tableOrder[i]].range.end >= line) {
        return this.tableOrder[i];
      }
    }
    return -1;
  }

  /**
   * A chain by name in a table: a jump only reaches chains of its own table (the filter and
   * nat tables both have a KUBE-SERVICES). Outside every table (-1), the only chain of that
   * name, if there is exactly one.
   */
  chain(name: string, table: number): ChainEntry | null {
    if (table >= 0) {
      return this.chainsByTable[table]?.get(name) ?? null;
    }
    const all = this.chainsByName.get(name);
    return all !== undefined && all.length === 1 ? all[0] : null;
  }

  /** Every chain of that name, whatever its table. */
  chainsNamed(name: string): readonly ChainEntry[] {
    return this.chainsByName.get(name) ?? [];
  }

  /** An nft set or map by name in a table (outside every table: the only one of that name). */
  set(name: string, table: number): SetEntry | null {
    if (table >= 0) {
      return this.setsByTable[table]?.get(name) ?? null;
    }
    const all = this.setsByName.get(name);
    return all !== undefined && all.length === 1 ? all[0] : null;
  }

  /**
   * What the name at a position refers to: a recorded occurrence (a declaration, `-A`, a
   * jump or goto, an `@set`), else, given the line's text, any word there that is the name
   * of a chain of the dump (`-m recent --name KUBE-SEP-…`, a name inside a comment).
   */
  resolve(line: number, character: number, lineText?: string): NameTarget | null {
    const occurrence = this.occurrences.atPosition(line, character);
    if (occurrence !== undefined) {
      const origin: Span = { line: occurrence.line, start: occurrence.start, end: occurrence.end };
      if (occurrence.nameKind === 'set') {
        return { origin, name: occurrence.name, nameKind: 'set', chain: null, set: this.set(occurrence.name, occurrence.table) };
      }
      return { origin, name: occurrence.name, nameKind: 'chain', chain: this.chain(occurrence.name, occurrence.table), set: null };
    }
    if (lineText === undefined) {
      return null;
    }
    const bounds = nameAt(lineText, character, this.language);
    if (bounds === null) {
      return null;
    }
    const name = unquoteWord(lineText.slice(bounds.start, bounds.end));
    const chain = this.chain(name, this.tableAtLine(line));
    // A kube-proxy chain named where no chain of this table is (a comment in the filter
    // table naming a nat chain): still worth a hover about its service.
    if (chain === null && this.serviceOf(name) === null) {
      return null;
    }
    return { origin: { line, start: bounds.start, end: bounds.end }, name, nameKind: 'chain', chain, set: null };
  }

  /** Where a chain (its declaration, else its first rule) or set is defined; null when the dump does not say. */
  definitionOf(target: NameTarget): Span | null {
    if (target.chain !== null) {
      return target.chain.definition ?? target.chain.firstRule;
    }
    return target.set?.definition ?? null;
  }

  /** Every jump/goto (or `@` use) naming the target, in line order; its declaration first when asked. */
  referencesOf(target: NameTarget, includeDeclaration: boolean): Span[] {
    const out: Span[] = [];
    const entry = target.chain ?? target.set;
    const table = entry?.table ?? this.tableAtLine(target.origin.line);
    if (includeDeclaration) {
      const definition = this.definitionOf(target);
      if (definition !== null) {
        out.push(definition);
      }
    }
    for (const occurrence of this.occurrences.references(target.nameKind, table, target.name)) {
      out.push({ line: occurrence.line, start: occurrence.start, end: occurrence.end });
    }
    return out;
  }

  /** The jumps/gotos (or `@` uses) naming a chain or set of a table, in line order. */
  references(nameKind: NameKind, table: number, name: string): Occurrence[] {
    return this.occurrences.references(nameKind, table, name);
  }

  /** How many jumps/gotos (or `@` uses) name a chain or set of a table. */
  referenceCount(nameKind: NameKind, table: number, name: string): number {
    return this.occurrences.referenceCount(nameKind, table, name);
  }

  /** Folding ranges sorted by start line (one per start line): tables, chains, declaration blocks, wrapped statements, comments. */
  foldingRanges(): readonly FoldingEntry[] {
    return this.folding;
  }

  /**
   * The kube-proxy service (and endpoint) a chain belongs to, from the services view:
   * KUBE-SVC-/SVL-/EXT-/FW-/XLB-… and nft service-/local-/external-/firewall-… by their
   * shared hash, KUBE-SEP-… and endpoint-… by the endpoint lists. Null for other chains.
   */
  serviceOf(chainName: string): ServiceMatch | null {
    let byChain = this.servicesByChain;
    let byKey = this.servicesByKey;
    if (byChain === null || byKey === null) {
      byChain = new Map();
      byKey = new Map();
      for (const service of this.services) {
        if (service.svcChain !== null) {
          byChain.set(service.svcChain, { service, endpoint: null });
          const serviceKey = serviceChainKey(service.svcChain);
          if (serviceKey !== null && !byKey.has(serviceKey)) {
            byKey.set(serviceKey, service);
          }
        }
        for (let index = 0; index < service.endpoints.length; index++) {
          const sepChain = service.endpoints[index].sepChain;
          if (sepChain !== null && !byChain.has(sepChain)) {
            byChain.set(sepChain, { service, endpoint: index });
          }
        }
      }
      this.servicesByChain = byChain;
      this.servicesByKey = byKey;
    }
    const direct = byChain.get(chainName);
    if (direct !== undefined) {
      return direct;
    }
    const serviceKey = serviceChainKey(chainName);
    const service = serviceKey === null ? undefined : byKey.get(serviceKey);
    return service === undefined ? null : { service, endpoint: null };
  }
}

function emptyData(language: RulesLanguageId, lineCount: number): RulesIndexData {
  return { language, lineCount, tables: [], services: [], problemCount: 1, occurrences: new OccurrenceBuilder(16).finish(lineCount), folding: [] };
}

/** The parse, then the index build in steps (a generator pauses between steps). */
function* buildSteps(text: string, language: RulesLanguageId): Generator<void, RulesIndexData> {
  const lines = documentLines(text);
  try {
    if (language === 'nftables') {
      const parsed = parseNft(text);
      yield;
      return yield* buildNft(lines, parsed);
    }
    const parsed = parseIptablesSave(text);
    yield;
    return yield* buildIptables(lines, parsed);
  } catch {
    // A bug here must not take the editor features down with it: an empty index, one problem.
    return emptyData(language, lines.length);
  }
}

/**
 * Builds the plain data of the index of an `iptables-save` / `iptables -S` dump (language
 * `iptables`) or an `nft list …` listing (language `nftables`), in one go. Never throws: what
 * the parsers cannot read is counted in `problemCount` and left out.
 */
export function buildRulesIndexData(text: string, language: RulesLanguageId): RulesIndexData {
  const steps = buildSteps(typeof text === 'string' ? text : '', language);
  for (;;) {
    const step = steps.next();
    if (step.done === true) {
      return step.value;
    }
  }
}

/** {@link buildRulesIndexData} wrapped for queries. */
export function buildRulesIndex(text: string, language: RulesLanguageId): RulesIndex {
  return new RulesIndex(buildRulesIndexData(text, language));
}

/** Options of {@link buildRulesIndexAsync}. */
export interface AsyncBuildOptions {
  /** Checked between steps: true stops the build (the promise resolves to null). */
  readonly isCancelled?: () => boolean;
  /** Called with how long each step held the thread (for measurements), in milliseconds. */
  readonly onStep?: (milliseconds: number) => void;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Builds the index without holding the thread for long: the parse is one step, then the
 * index is built in steps of about {@link STEP_WORK} rules or lines, with a turn of the event
 * loop before each. Resolves to null when cancelled. Never rejects.
 */
export async function buildRulesIndexAsync(text: string, language: RulesLanguageId, options: AsyncBuildOptions = {}): Promise<RulesIndex | null> {
  const steps = buildSteps(typeof text === 'string' ? text : '', language);
  for (;;) {
    await nextTurn();
    if (options.isCancelled?.() === true) {
      return null;
    }
    const started = performance.now();
    let step: IteratorResult<void, RulesIndexData>;
    try {
      step = steps.next();
    } catch {
      return new RulesIndex(emptyData(language, 0));
    }
    if (step.done === true) {
      const index = new RulesIndex(step.value);
      options.onStep?.(performance.now() - started);
      return index;
    }
    options.onStep?.(performance.now() - started);
  }
}

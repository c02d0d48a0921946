/**
 * The rules index of an `iptables-save` / `ip6tables-save` (`-c` too) or `iptables -S` dump:
 * from the parser's tables, chains and rules plus one scan of each rule line for the columns
 * of `-A CHAIN` and `-j`/`-g TARGET`. Linear; pauses (yields) every few thousand rules.
 */
import type { IptablesSave } from '../../parsers/iptablesSave.js';
import { ChainFacts, commentRuns, firstAtOrAfter, isKubeProxyServiceChain, runsOf, sortFolding, STEP_WORK } from './buildShared.js';
import type { MutableChain, MutableTable } from './buildShared.js';
import { spanIs, unquoteWord, wordSpans } from './lineScan.js';
import { OccurrenceBuilder } from './occurrences.js';
import type { FoldingEntry, LineRange, RulesIndexData, Span } from './rulesIndex.js';

/** What a word of an iptables rule line is: 1 `-A`/`-I` (chain follows), 2 `-j` (target follows), 3 `-g`, 0 other. */
function iptablesFlag(line: string, start: number, end: number): number {
  const length = end - start;
  if (line.charCodeAt(start) !== 45 /* - */) {
    return 0;
  }
  if (length === 2) {
    const letter = line.charCodeAt(start + 1);
    return letter === 65 /* A */ || letter === 73 /* I */ ? 1 : letter === 106 /* j */ ? 2 : letter === 103 /* g */ ? 3 : 0;
  }
  if (length === 8) {
    return spanIs(line, start, end, '--append') || spanIs(line, start, end, '--insert') ? 1 : 0;
  }
  if (length === 6) {
    return spanIs(line, start, end, '--jump') ? 2 : spanIs(line, start, end, '--goto') ? 3 : 0;
  }
  return 0;
}

/** Builds the index data of an iptables dump, pausing between steps. */
export function* buildIptables(lines: string[], parsed: { value: IptablesSave; problems: unknown[] }): Generator<void, RulesIndexData> {
  const occurrences = new OccurrenceBuilder(lines.length * 2);
  const folding: FoldingEntry[] = [];
  const tables: MutableTable[] = [];
  const spans: number[] = [];
  const commitLines: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.charCodeAt(0) === 67 /* C */ && line.trim() === 'COMMIT') {
      commitLines.push(i);
    }
  }

  let work = 0;
  for (let tableIndex = 0; tableIndex < parsed.value.tables.length; tableIndex++) {
    const table = parsed.value.tables[tableIndex];
    let first = Number.POSITIVE_INFINITY;
    let last = -1;
    let header: Span | null = null;
    if (table.line !== null) {
      const line = table.line - 1;
      const star = (lines[line] ?? '').indexOf('*');
      header = { line, start: star + 1, end: star + 1 + table.name.length };
      first = line;
      last = line;
    }
    const declarationLines: number[] = [];
    const chains: MutableChain[] = [];
    for (const chain of table.chains) {
      const nameId = occurrences.intern(chain.name);
      let definition: Span | null = null;
      if (chain.line !== null) {
        const line = chain.line - 1;
        const lineText = lines[line] ?? '';
        wordSpans(lineText, 'iptables', spans);
        if (lineText.trimStart().startsWith(':') && spans.length >= 2) {
          definition = { line, start: spans[0] + 1, end: spans[1] };
        } else if (spans.length >= 4) {
          definition = { line, start: spans[2], end: spans[3] };
        }
        if (definition !== null) {
          occurrences.add(line, definition.start, definition.end, nameId, 'chain', 'definition', tableIndex);
          declarationLines.push(line);
        }
        first = Math.min(first, line);
        last = Math.max(last, line);
      }
      const runs: LineRange[] = [];
      let firstRule: Span | null = null;
      let runStart = -1;
      let previous = -2;
      const facts = isKubeProxyServiceChain(chain.name) ? new ChainFacts() : null;
      for (const rule of chain.rules) {
        const line = rule.line - 1;
        const lineText = lines[line] ?? '';
        if (line === previous + 1) {
          previous = line;
        } else {
          if (runStart !== -1) {
            runs.push({ start: runStart, end: previous });
          }
          runStart = line;
          previous = line;
        }
        facts?.add(rule.comment, rule.target === 'DNAT' ? /--to-destination\s+(\S+)/.exec(rule.raw)?.[1] : undefined);
        wordSpans(lineText, 'iptables', spans);
        let sawChain = false;
        for (let w = 0; w + 3 < spans.length; w += 2) {
          const flag = iptablesFlag(lineText, spans[w], spans[w + 1]);
          if (flag === 0) {
            continue;
          }
          const nextStart = spans[w + 2];
          const nextEnd = spans[w + 3];
          if (flag === 1) {
            if (!sawChain) {
              sawChain = true;
              firstRule ??= { line, start: nextStart, end: nextEnd };
              occurrences.add(line, nextStart, nextEnd, nameId, 'chain', 'rule', tableIndex);
            }
            w += 2;
            continue;
          }
          const target = rule.target ?? unquoteWord(lineText.slice(nextStart, nextEnd));
          occurrences.add(line, nextStart, nextEnd, occurrences.intern(target), 'chain', flag === 2 ? 'jump' : 'goto', tableIndex);
          break;
        }
      }
      if (runStart !== -1) {
        runs.push({ start: runStart, end: previous });
        first = Math.min(first, runs[0].start);
        last = Math.max(last, previous);
      }
      for (const run of runs) {
        if (run.start < first) {
          first = run.start;
        }
        if (run.end > last) {
          last = run.end;
        }
        if (run.end > run.start) {
          folding.push({ start: run.start, end: run.end, kind: 'chain' });
        }
      }
      chains.push({ name: chain.name, table: tableIndex, definition, firstRule, runs, ruleCount: chain.rules.length, policy: chain.policy, hook: null, comment: facts?.comment() ?? null, dnatTo: facts?.dnatTo ?? null });
      work += chain.rules.length + 1;
      if (work >= STEP_WORK) {
        work = 0;
        yield;
      }
    }
    if (declarationLines.length > 1) {
      // Declarations arrive in file order except when a rule named a chain before its declaration.
      declarationLines.sort((left, right) => left - right);
      runsOf(declarationLines, 'declarations', folding);
    }
    if (last === -1) {
      first = header?.line ?? 0;
      last = first;
    }
    tables.push({ name: table.name, family: null, header, range: { start: first, end: last }, implicit: table.implicit === true, chains, sets: [] });
  }

  // A table ends at the first COMMIT after its last line, unless another table starts first.
  const starts = tables.map((table) => table.range.start).sort((left, right) => left - right);
  for (const table of tables) {
    const nextStart = starts.find((start) => start > table.range.start) ?? Number.POSITIVE_INFINITY;
    const commit = firstAtOrAfter(commitLines, table.range.end);
    const end = commit !== undefined && commit < nextStart ? commit : table.range.end;
    table.range = { start: table.range.start, end };
    if (end > table.range.start) {
      folding.push({ start: table.range.start, end, kind: 'table' });
    }
  }
  commentRuns(lines, folding);
  return {
    language: 'iptables',
    lineCount: lines.length,
    tables,
    services: parsed.value.services,
    problemCount: parsed.problems.length,
    occurrences: occurrences.finish(lines.length),
    folding: sortFolding(folding),
  };
}

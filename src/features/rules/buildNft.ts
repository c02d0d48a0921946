/**
 * The rules index of an `nft list ruleset` / `nft list table …` / `nft list chain …` listing:
 * from the parser's tables, chains, sets and maps plus one scan of every line for braces
 * (blocks and folding), `jump`/`goto` targets (also inside verdict maps and map elements)
 * and `@set` uses. Linear; pauses (yields) every few thousand lines.
 */
import type { NftRuleset } from '../../parsers/nft.js';
import { ChainFacts, commentRuns, isKubeProxyServiceChain, sortFolding, STEP_WORK } from './buildShared.js';
import type { MutableChain, MutableTable } from './buildShared.js';
import { spanIs, unquoteWord, wordSpans } from './lineScan.js';
import type { NameKind, OccurrenceKind } from './occurrences.js';
import { OccurrenceBuilder } from './occurrences.js';
import type { FoldingEntry, LineRange, RulesIndexData, SetEntry, Span } from './rulesIndex.js';

/** The name word on a declaration line: the word after `keyword` (`chain NAME {`, `map NAME {`, `table [family] NAME {`). */
function declaredName(lineText: string, line: number, keyword: string, spans: number[]): Span | null {
  wordSpans(lineText, 'nftables', spans);
  let at = -1;
  for (let w = 0; w + 1 < spans.length; w += 2) {
    if (spanIs(lineText, spans[w], spans[w + 1], keyword)) {
      at = w;
      break;
    }
  }
  if (at === -1) {
    return null;
  }
  const isBrace = (w: number): boolean => spans[w] !== undefined && spanIs(lineText, spans[w], spans[w + 1], '{');
  let nameAtWord = at + 2;
  // `table ip NAME {` (family given) vs `table NAME {`.
  if (keyword === 'table' && spans[at + 4] !== undefined && !isBrace(at + 4)) {
    nameAtWord = at + 4;
  }
  if (spans[nameAtWord] === undefined || isBrace(nameAtWord)) {
    return null;
  }
  return { line, start: spans[nameAtWord], end: spans[nameAtWord + 1] };
}

/** Builds the index data of an nft listing, pausing between steps. */
export function* buildNft(lines: string[], parsed: { value: NftRuleset; problems: unknown[] }): Generator<void, RulesIndexData> {
  const occurrences = new OccurrenceBuilder(lines.length);
  const folding: FoldingEntry[] = [];
  const spans: number[] = [];
  // One pass: brace blocks (by the line that opens them), jumps/gotos and @set uses. The
  // table of each occurrence is known only once the table ranges are, so they wait here.
  const closeOf = new Map<number, number>();
  const strayCloses: number[] = [];
  const stack: number[] = [];
  const pendingLine: number[] = [];
  const pendingStart: number[] = [];
  const pendingEnd: number[] = [];
  const pendingName: number[] = [];
  const pendingKind: Array<'jump' | 'goto' | 'use'> = [];
  for (let line = 0; line < lines.length; line++) {
    const lineText = lines[line];
    if (line % STEP_WORK === STEP_WORK - 1) {
      yield;
    }
    if (lineText.length === 0) {
      continue;
    }
    wordSpans(lineText, 'nftables', spans);
    for (let w = 0; w + 1 < spans.length; w += 2) {
      const start = spans[w];
      const end = spans[w + 1];
      const code = lineText.charCodeAt(start);
      if (end - start === 1 && code === 123 /* { */) {
        stack.push(line);
        continue;
      }
      if (end - start === 1 && code === 125 /* } */) {
        const open = stack.pop();
        if (open === undefined) {
          strayCloses.push(line);
        } else {
          closeOf.set(open, line);
        }
        continue;
      }
      if (code === 64 /* @ */ && end - start > 1) {
        pendingLine.push(line);
        pendingStart.push(start + 1);
        pendingEnd.push(end);
        pendingName.push(occurrences.intern(unquoteWord(lineText.slice(start + 1, end))));
        pendingKind.push('use');
        continue;
      }
      const isJump = spanIs(lineText, start, end, 'jump');
      if (isJump || spanIs(lineText, start, end, 'goto')) {
        const nextStart = spans[w + 2];
        const nextEnd = spans[w + 3];
        if (nextStart !== undefined && nextEnd !== undefined && lineText.charCodeAt(nextStart) !== 123) {
          pendingLine.push(line);
          pendingStart.push(nextStart);
          pendingEnd.push(nextEnd);
          pendingName.push(occurrences.intern(unquoteWord(lineText.slice(nextStart, nextEnd))));
          pendingKind.push(isJump ? 'jump' : 'goto');
          w += 2;
        }
      }
    }
  }
  const lastLine = Math.max(0, lines.length - 1);
  for (const open of stack) {
    // Blocks left open at the end of a cut dump end with it.
    closeOf.set(open, lastLine);
  }

  const tables: MutableTable[] = [];
  const blockFolds = new Set<number>();
  let work = 0;
  for (let tableIndex = 0; tableIndex < parsed.value.tables.length; tableIndex++) {
    const table = parsed.value.tables[tableIndex];
    const chains: MutableChain[] = [];
    const sets: SetEntry[] = [];
    let first = Number.POSITIVE_INFINITY;
    let last = -1;
    for (const chain of table.chains) {
      const line = chain.line - 1;
      const end = closeOf.get(line) ?? line;
      first = Math.min(first, line);
      last = Math.max(last, end);
      const definition = declaredName(lines[line] ?? '', line, 'chain', spans);
      if (definition !== null) {
        occurrences.add(line, definition.start, definition.end, occurrences.intern(chain.name), 'chain', 'definition', tableIndex);
      }
      if (end > line) {
        folding.push({ start: line, end, kind: 'chain' });
        blockFolds.add(line);
      }
      const hook = chain.type !== undefined && chain.hook !== undefined ? `type ${chain.type} hook ${chain.hook}${chain.priority === undefined ? '' : ` priority ${chain.priority}`}` : null;
      const facts = isKubeProxyServiceChain(chain.name) ? new ChainFacts() : null;
      if (facts !== null) {
        for (const rule of chain.rules) {
          facts.add(rule.comment ?? null, rule.verdict === 'dnat' ? /\bdnat (?:ip6? )?to (\S+)/.exec(rule.raw)?.[1] : undefined);
        }
        facts.add(chain.comment ?? null, undefined);
      }
      chains.push({ name: chain.name, table: tableIndex, definition, firstRule: null, runs: [{ start: line, end }], ruleCount: chain.rules.length, policy: chain.policy ?? null, hook, comment: facts?.comment() ?? null, dnatTo: facts?.dnatTo ?? null });
      work += chain.rules.length + 1;
      if (work >= STEP_WORK) {
        work = 0;
        yield;
      }
    }
    for (const [kind, list] of [['set', table.sets], ['map', table.maps]] as const) {
      for (const set of list) {
        const line = set.line - 1;
        const end = closeOf.get(line) ?? line;
        first = Math.min(first, line);
        last = Math.max(last, end);
        const declared = declaredName(lines[line] ?? '', line, kind, spans);
        if (declared !== null) {
          occurrences.add(line, declared.start, declared.end, occurrences.intern(set.name), 'set', 'definition', tableIndex);
        }
        if (end > line) {
          folding.push({ start: line, end, kind: 'set' });
          blockFolds.add(line);
        }
        sets.push({ name: set.name, table: tableIndex, kind, definition: declared ?? { line, start: 0, end: 0 }, block: { start: line, end }, elementCount: set.elements.length });
      }
    }
    sets.sort((left, right) => left.block.start - right.block.start);
    let header: Span | null = null;
    let range: LineRange;
    if (table.line !== null) {
      const line = table.line - 1;
      header = declaredName(lines[line] ?? '', line, 'table', spans);
      range = { start: line, end: Math.max(closeOf.get(line) ?? line, last) };
    } else if (last === -1) {
      range = { start: 0, end: 0 };
    } else {
      // A listing cut inside a table: the table ends at the stray `}` that closed it, if any.
      const stray = strayCloses.find((line) => line > last);
      range = { start: first, end: stray ?? last };
    }
    if (range.end > range.start) {
      folding.push({ start: range.start, end: range.end, kind: 'table' });
      blockFolds.add(range.start);
    }
    tables.push({ name: table.name, family: table.family === '' ? null : table.family, header, range, implicit: table.implicit === true, chains, sets });
  }

  // Other multi-line blocks: wrapped `elements = { … }`, anonymous sets and maps.
  for (const [open, close] of closeOf) {
    if (close > open && !blockFolds.has(open)) {
      folding.push({ start: open, end: close, kind: 'block' });
    }
  }
  commentRuns(lines, folding);

  // Now each waiting occurrence gets its table (they are in line order).
  const order = tables.map((_, index) => index).sort((left, right) => tables[left].range.start - tables[right].range.start);
  let cursor = 0;
  for (let p = 0; p < pendingLine.length; p++) {
    const line = pendingLine[p];
    while (cursor < order.length && tables[order[cursor]].range.end < line) {
      cursor++;
    }
    let table = -1;
    for (let i = cursor; i < order.length && tables[order[i]].range.start <= line; i++) {
      if (tables[order[i]].range.end >= line) {
        table = order[i];
        break;
      }
    }
    occurrences.add(line, pendingStart[p], pendingEnd[p], pendingName[p], pendingKind[p] === 'use' ? 'set' : 'chain', pendingKind[p], table);
  }

  return {
    language: 'nftables',
    lineCount: lines.length,
    tables,
    services: parsed.value.services,
    problemCount: parsed.problems.length,
    occurrences: occurrences.finish(lines.length),
    folding: sortFolding(folding),
  };
}

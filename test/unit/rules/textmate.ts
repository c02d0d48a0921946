/**
 * A small TextMate grammar runner for the grammar tests: enough of the engine VS Code uses
 * (`match` with captures, `begin`/`end` with inner patterns, `include` of repository rules
 * and `$self`, earliest match wins and ties go to the first pattern, `end` checked first) to
 * tokenize one line at a time with JavaScript regular expressions. It is not vscode-textmate
 * (Oniguruma is not installed): the grammars use only syntax both engines read the same way.
 */
import * as fs from 'node:fs';

/** A grammar rule as it appears in a .tmLanguage.json file. */
export interface GrammarRule {
  name?: string;
  match?: string;
  begin?: string;
  end?: string;
  include?: string;
  patterns?: GrammarRule[];
  captures?: Record<string, { name?: string }>;
  beginCaptures?: Record<string, { name?: string }>;
  endCaptures?: Record<string, { name?: string }>;
}

/** A whole grammar. */
export interface Grammar {
  scopeName: string;
  patterns: GrammarRule[];
  repository?: Record<string, GrammarRule>;
}

/** Reads a grammar file. */
export function loadGrammar(file: string): Grammar {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Grammar;
}

/** Every regular expression source in a grammar, with where it is. */
export function grammarRegexes(grammar: Grammar): Array<{ where: string; source: string }> {
  const out: Array<{ where: string; source: string }> = [];
  const visit = (rule: GrammarRule, where: string): void => {
    for (const key of ['match', 'begin', 'end'] as const) {
      const source = rule[key];
      if (source !== undefined) {
        out.push({ where: `${where}.${key}`, source });
      }
    }
    rule.patterns?.forEach((child, index) => visit(child, `${where}.patterns[${index}]`));
  };
  grammar.patterns.forEach((rule, index) => visit(rule, `patterns[${index}]`));
  for (const [name, rule] of Object.entries(grammar.repository ?? {})) {
    visit(rule, `repository.${name}`);
  }
  return out;
}

const compiled = new Map<string, RegExp>();

function regex(source: string): RegExp {
  let value = compiled.get(source);
  if (value === undefined) {
    // `d` gives capture positions; `g` lets a search start at lastIndex.
    value = new RegExp(source, 'dg');
    compiled.set(source, value);
  }
  return value;
}

/** Resolves includes into the flat list of candidate rules, in order. */
function candidates(grammar: Grammar, rules: GrammarRule[], seen = new Set<GrammarRule>()): GrammarRule[] {
  const out: GrammarRule[] = [];
  for (const rule of rules) {
    if (rule.include !== undefined) {
      let target: GrammarRule[] = [];
      if (rule.include === '$self' || rule.include === '$base') {
        target = grammar.patterns;
      } else if (rule.include.startsWith('#')) {
        const named = grammar.repository?.[rule.include.slice(1)];
        if (named === undefined) {
          throw new Error(`unknown include ${rule.include}`);
        }
        target = [named];
      }
      for (const item of target) {
        if (!seen.has(item)) {
          seen.add(item);
          out.push(...candidates(grammar, [item], seen));
          seen.delete(item);
        }
      }
      continue;
    }
    if (rule.match === undefined && rule.begin === undefined && rule.patterns !== undefined) {
      out.push(...candidates(grammar, rule.patterns, seen));
      continue;
    }
    out.push(rule);
  }
  return out;
}

/** The scopes of every character of a line: `scopes[i]` lists the scope names covering character i, outermost first. */
export function tokenizeLine(grammar: Grammar, line: string): string[][] {
  const scopes: string[][] = Array.from({ length: line.length }, () => [grammar.scopeName]);
  const paint = (start: number, end: number, name: string | undefined): void => {
    if (name === undefined) {
      return;
    }
    for (let i = start; i < end && i < line.length; i++) {
      scopes[i].push(name);
    }
  };
  const paintCaptures = (match: RegExpExecArray, captures: GrammarRule['captures']): void => {
    if (captures === undefined || match.indices === undefined) {
      return;
    }
    for (const [group, capture] of Object.entries(captures)) {
      const bounds = match.indices[Number(group)];
      if (bounds !== undefined) {
        paint(bounds[0], bounds[1], capture.name);
      }
    }
  };
  const search = (source: string, from: number): RegExpExecArray | null => {
    const expression = regex(source);
    expression.lastIndex = from;
    return expression.exec(line);
  };

  /** Scans from `position` with `rules` until `end` matches (or the line ends); returns where it stopped. */
  const scan = (rules: GrammarRule[], position: number, end: string | undefined, endCaptures: GrammarRule['endCaptures'], name: string | undefined, blockStart: number): number => {
    let guard = 0;
    for (;;) {
      if (++guard > 10_000) {
        throw new Error(`no progress tokenizing ${JSON.stringify(line)}`);
      }
      const endMatch = end === undefined ? null : search(end, position);
      let best: { rule: GrammarRule; match: RegExpExecArray } | null = null;
      if (position <= line.length) {
        for (const rule of rules) {
          const source = rule.match ?? rule.begin;
          if (source === undefined) {
            continue;
          }
          const match = search(source, position);
          if (match !== null && (best === null || match.index < best.match.index)) {
            best = { rule, match };
          }
        }
      }
      if (endMatch !== null && (best === null || endMatch.index <= best.match.index)) {
        const stop = endMatch.index + endMatch[0].length;
        paint(blockStart, stop, name);
        paintCaptures(endMatch, endCaptures);
        return stop;
      }
      if (best === null) {
        paint(blockStart, line.length, name);
        return line.length;
      }
      const { rule, match } = best;
      const matchEnd = match.index + match[0].length;
      if (rule.match !== undefined) {
        paint(match.index, matchEnd, rule.name);
        paintCaptures(match, rule.captures);
        position = matchEnd > position ? matchEnd : position + 1;
      } else {
        paintCaptures(match, rule.beginCaptures ?? rule.captures);
        const inner = candidates(grammar, rule.patterns ?? []);
        const stop = scan(inner, matchEnd, rule.end, rule.endCaptures ?? rule.captures, rule.name, match.index);
        position = stop > position ? stop : position + 1;
      }
      if (position > line.length) {
        paint(blockStart, line.length, name);
        return line.length;
      }
    }
  };
  scan(candidates(grammar, grammar.patterns), 0, undefined, undefined, undefined, 0);
  return scopes;
}

/** The scopes at the first character of `fragment` in `line` (searched from `from`). */
export function scopesOf(grammar: Grammar, line: string, fragment: string, from = 0): string[] {
  const at = line.indexOf(fragment, from);
  if (at === -1) {
    throw new Error(`${JSON.stringify(fragment)} is not in ${JSON.stringify(line)}`);
  }
  return tokenizeLine(grammar, line)[at];
}

/** True when every character of `fragment` (first occurrence in `line`) carries a scope starting with `scope`. */
export function fragmentHasScope(grammar: Grammar, line: string, fragment: string, scope: string): boolean {
  const at = line.indexOf(fragment);
  if (at === -1) {
    throw new Error(`${JSON.stringify(fragment)} is not in ${JSON.stringify(line)}`);
  }
  const scopes = tokenizeLine(grammar, line);
  for (let i = at; i < at + fragment.length; i++) {
    if (!scopes[i].some((name) => name.startsWith(scope))) {
      return false;
    }
  }
  return true;
}

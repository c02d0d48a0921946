/**
 * Helpers of the rules-document tests: the captured fixtures, and an independent reading of
 * a dump (plain regular expressions, line by line) that the index is checked against.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { repoRoot } from '../parsers/corpusFiles.js';

/** `<repo>/test/unit/rules/fixtures/<name>`, read whole. */
export function readFixture(name: string): string {
  return fs.readFileSync(path.join(repoRoot(), 'test', 'unit', 'rules', 'fixtures', name), 'utf8');
}

/** A whole corpus file, header included (as a user would open it). */
export function readCorpusFile(kind: string, name: string): string {
  return fs.readFileSync(path.join(repoRoot(), '..', 'shared', 'corpus', kind, name), 'utf8');
}

/** Lines as the editor numbers them. */
export function linesOf(text: string): string[] {
  return text.split('\n').map((line) => line.replace(/\r$/, ''));
}

/** Removes double-quoted strings (with `\"` escapes) from a line, keeping its length. */
export function blankStrings(line: string): string {
  return line.replace(/"(?:[^"\\]|\\.)*"?/g, (match) => ' '.repeat(match.length));
}

/** What the oracle reads in an iptables-save / iptables -S dump. */
export interface IptablesOracle {
  /** Per table section (by order of `*table` lines; one section before the first), chain name → declaration line. */
  declarations: Array<Map<string, number>>;
  /** Per section, chain name → line of its first rule. */
  firstRules: Array<Map<string, number>>;
  /** Every jump/goto: line, column of the target, target, section. */
  jumps: Array<{ line: number; column: number; target: string; section: number }>;
  /** `*table` and `COMMIT` lines. */
  tableLines: number[];
  commitLines: number[];
}

/** Reads an iptables dump with regular expressions only (strings blanked first). */
export function readIptablesOracle(text: string): IptablesOracle {
  const lines = linesOf(text);
  const declarations: Array<Map<string, number>> = [new Map()];
  const firstRules: Array<Map<string, number>> = [new Map()];
  const jumps: IptablesOracle['jumps'] = [];
  const tableLines: number[] = [];
  const commitLines: number[] = [];
  lines.forEach((raw, line) => {
    if (/^\s*#/.test(raw)) {
      return;
    }
    const text = blankStrings(raw);
    if (/^\*\S+\s*$/.test(text)) {
      tableLines.push(line);
      declarations.push(new Map());
      firstRules.push(new Map());
      return;
    }
    if (/^COMMIT\s*$/.test(text)) {
      commitLines.push(line);
      return;
    }
    const section = declarations.length - 1;
    const declaration = /^:(\S+)\s/.exec(text) ?? /^-[NP] (\S+)/.exec(text);
    if (declaration) {
      if (!declarations[section].has(declaration[1])) {
        declarations[section].set(declaration[1], line);
      }
      return;
    }
    const rule = /^(?:\[\d+:\d+\] )?-[AI] (\S+)/.exec(text);
    if (rule === null) {
      return;
    }
    if (!firstRules[section].has(rule[1])) {
      firstRules[section].set(rule[1], line);
    }
    const jump = /\s-[jg] (\S+)/.exec(text);
    if (jump) {
      jumps.push({ line, column: jump.index + 4, target: jump[1], section });
    }
  });
  return { declarations, firstRules, jumps, tableLines, commitLines };
}

/** What the oracle reads in an nft listing: chain declarations and jumps per table section. */
export interface NftOracle {
  declarations: Array<Map<string, number>>;
  jumps: Array<{ line: number; column: number; target: string; section: number }>;
}

/** Reads an nft listing with regular expressions only: `table` lines at column 0 start sections; strings blanked. */
export function readNftOracle(text: string): NftOracle {
  const declarations: Array<Map<string, number>> = [new Map()];
  const jumps: NftOracle['jumps'] = [];
  linesOf(text).forEach((raw, line) => {
    if (/^\s*#/.test(raw)) {
      return;
    }
    const text = blankStrings(raw).replace(/#.*$/, '');
    if (/^table\s/.test(text)) {
      declarations.push(new Map());
      return;
    }
    const section = declarations.length - 1;
    const chain = /^\s*chain (\S+) \{/.exec(text);
    if (chain) {
      declarations[section].set(chain[1], line);
      return;
    }
    const pattern = /(?:^|[\s{,:])(?:jump|goto) ([^\s,{}]+)/g;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      jumps.push({ line, column: match.index + match[0].length - match[1].length, target: match[1], section });
    }
  });
  return { declarations, jumps };
}

/** Undoes CommonMark backslash escapes and drops bold markers (to read hover text as a user sees it). */
export function unescapeMarkdown(text: string): string {
  return text.replace(/(?<!\\)\*\*/g, '').replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

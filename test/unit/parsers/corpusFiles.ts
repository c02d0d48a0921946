/**
 * Finds the shared corpus of real tool outputs (`<repo root>/../shared/corpus`) and reads its
 * files for the parser tests. The repo root is the folder holding package.json, found by
 * walking up from this file, so the tests run the same from any output folder.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ParseResult } from '../../../src/parsers/result';
import { isTrimMark, splitCorpusHeader, splitLines } from '../../../src/parsers/text';
import type { CorpusHeader } from '../../../src/parsers/text';

/** The folder holding package.json above this file. */
export function repoRoot(): string {
  let directory = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(directory, 'package.json'))) {
      return directory;
    }
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error(`no package.json above ${__dirname}`);
    }
    directory = parent;
  }
}

/** `<repo root>/../shared/corpus`. */
export function corpusDirectory(): string {
  return path.join(repoRoot(), '..', 'shared', 'corpus');
}

/** One corpus file, split into header and body. */
export interface CorpusEntry {
  kind: string;
  name: string;
  path: string;
  header: CorpusHeader;
  body: string;
}

/** Every file of one corpus folder (ip-addr, dns, iptables…), sorted by name. Fails when the folder is missing. */
export function corpusFiles(kind: string): CorpusEntry[] {
  const directory = path.join(corpusDirectory(), kind);
  assert.ok(fs.existsSync(directory), `corpus folder ${directory} is missing (the shared corpus must sit beside the repository)`);
  return fs
    .readdirSync(directory)
    .filter((name) => fs.statSync(path.join(directory, name)).isFile())
    .sort()
    .map((name) => {
      const filePath = path.join(directory, name);
      const { header, body } = splitCorpusHeader(fs.readFileSync(filePath, 'utf8'));
      return { kind, name, path: filePath, header, body };
    });
}

/** The corpus folders present (for tests that cover every kind). */
export function corpusKinds(): string[] {
  const directory = corpusDirectory();
  assert.ok(fs.existsSync(directory), `corpus folder ${directory} is missing`);
  return fs
    .readdirSync(directory)
    .filter((name) => fs.statSync(path.join(directory, name)).isDirectory())
    .sort();
}

/**
 * Checks what every parse result must satisfy: a value, problems that point at real lines
 * of the input and quote them exactly, each with a reason.
 */
export function assertWellFormed<T>(result: ParseResult<T>, input: string): void {
  assert.ok(result !== null && typeof result === 'object', 'result is an object');
  assert.ok('value' in result, 'result has a value');
  assert.ok(Array.isArray(result.problems), 'problems is an array');
  const lines = splitLines(input);
  for (const problem of result.problems) {
    assert.equal(typeof problem.reason, 'string');
    assert.ok(problem.reason.length > 0, 'a problem says why');
    assert.ok(Number.isInteger(problem.line) && problem.line >= 0 && problem.line <= lines.length, `problem line ${problem.line} within 0..${lines.length}`);
    if (problem.line > 0) {
      assert.equal(problem.text, lines[problem.line - 1], 'a problem quotes its line');
      assert.ok(!isTrimMark(problem.text), 'a trim mark is not a problem');
    }
  }
}

/** The problems' line numbers, for compact assertions. */
export function problemLines<T>(result: ParseResult<T>): number[] {
  return result.problems.map((problem) => problem.line);
}

/** Fails when an expectation names a corpus file that does not exist (so it cannot silently stop running). */
export function assertExpectationsMatchFiles(kind: string, names: string[]): void {
  const present = new Set(corpusFiles(kind).map((entry) => entry.name));
  for (const name of names) {
    assert.ok(present.has(name), `expectation for ${kind}/${name}, but the corpus has no such file`);
  }
}

/** Appends one line to a body (adding a line break first when missing); returns the text and the new line's number. */
export function appendLine(body: string, line: string): { text: string; lineNumber: number } {
  const base = body.length === 0 || body.endsWith('\n') ? body : `${body}\n`;
  return { text: `${base}${line}\n`, lineNumber: splitLines(base).length + 1 };
}

/** A non-empty output must give something read, or problems saying why nothing could be. */
export function assertReadOrExplained<T>(somethingRead: boolean, result: ParseResult<T>): void {
  assert.ok(somethingRead || result.problems.length > 0, 'nothing read and no problem says why');
}

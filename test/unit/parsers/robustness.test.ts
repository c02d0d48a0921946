/**
 * Every parser against every corpus file (of any kind), against random and cut-short input,
 * and against pathological lines: it must return a well-formed result, never throw, never
 * hit its internal-error guard, and finish (the inputs are sized so a quadratic parser would
 * visibly stall the run).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { guessFormat } from '../../../src/parsers/detect';
import type { FormatName } from '../../../src/parsers/detect';
import { containerIdFromStatus, parsersByFormat, stripCorpusHeader } from '../../../src/parsers/index';
import type { ParseResult } from '../../../src/parsers/result';
import { splitCorpusHeader } from '../../../src/parsers/text';
import { assertWellFormed, corpusFiles, corpusKinds } from './corpusFiles';

/** A small deterministic PRNG (mulberry32) so failures are reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function check(format: string, input: string): ParseResult<unknown> {
  const parser = parsersByFormat[format];
  let result: ParseResult<unknown> | undefined;
  assert.doesNotThrow(() => {
    result = parser(input);
  }, `${format} threw`);
  assert.ok(result);
  assertWellFormed(result, input);
  for (const problem of result.problems) {
    assert.ok(!problem.reason.includes('internal parser error'), `${format}: ${problem.reason}`);
  }
  return result;
}

const FOLDER_FORMATS: Record<string, FormatName[]> = {
  'ip-addr': ['ip-addr'],
  dns: ['dig', 'nslookup', 'resolv-conf'],
  'container-pid': ['proc-cgroup', 'crictl-inspect'],
  kubectl: ['kubectl-table'],
  iptables: ['iptables-save', 'iptables-list'],
  nftables: ['nft'],
  conntrack: ['conntrack', 'conntrack-stats'],
  ipvs: ['ipvsadm'],
};

const formats = Object.keys(parsersByFormat);
const allFiles = corpusKinds().flatMap((kind) => corpusFiles(kind));

describe('every parser on every corpus file', () => {
  test('the corpus is there', () => {
    assert.ok(allFiles.length > 0);
  });
  for (const entry of allFiles) {
    test(`${entry.kind}/${entry.name}`, () => {
      assert.ok(!stripCorpusHeader(`${'# source: x\n# ---\n'}${entry.body}`).startsWith('# source'));
      for (const format of formats) {
        check(format, entry.body);
      }
      const allowed = FOLDER_FORMATS[entry.kind];
      if (allowed !== undefined) {
        const guessed = guessFormat(entry.body, allowed);
        assert.ok(guessed === null || allowed.includes(guessed));
      }
    });
  }
});

describe('cut-short and shuffled corpus files', () => {
  const next = random(20241126);
  for (const entry of allFiles) {
    test(`${entry.kind}/${entry.name}`, () => {
      const cuts = [1, 2, 7, Math.floor(entry.body.length / 2), entry.body.length - 1];
      for (let i = 0; i < 8; i++) {
        cuts.push(Math.floor(next() * entry.body.length));
      }
      const lines = entry.body.split('\n');
      const shuffled = [...lines].sort(() => next() - 0.5).join('\n');
      for (const format of formats) {
        for (const cut of cuts) {
          check(format, entry.body.slice(0, cut));
          check(format, entry.body.slice(cut));
        }
        check(format, shuffled);
      }
    });
  }
});

describe('random and pathological input', () => {
  const alphabet = 'abcXYZ019 .:/@<>[]{}()"\'\\=,;#*-_|!?\t\n\r\u2026\u0000\u00e9';
  test('random text from a hostile alphabet', () => {
    const next = random(7);
    for (let round = 0; round < 150; round++) {
      let text = '';
      const length = Math.floor(next() * 2000);
      for (let i = 0; i < length; i++) {
        text += alphabet[Math.floor(next() * alphabet.length)];
      }
      for (const format of formats) {
        check(format, text);
      }
    }
  });
  test('random splices of real lines from different tools', () => {
    const next = random(99);
    const pool = allFiles.flatMap((entry) => entry.body.split('\n'));
    for (let round = 0; round < 150; round++) {
      const lines: string[] = [];
      const count = 1 + Math.floor(next() * 40);
      for (let i = 0; i < count; i++) {
        const line = pool[Math.floor(next() * pool.length)] ?? '';
        const cut = Math.floor(next() * (line.length + 1));
        lines.push(next() < 0.3 ? line.slice(0, cut) : line);
      }
      for (const format of formats) {
        check(format, lines.join('\n'));
      }
    }
  });
  test('pathological lines', () => {
    const inputs = [
      '',
      '\n\n\n',
      '{'.repeat(100_000),
      '}'.repeat(100_000),
      '"'.repeat(100_001),
      '['.repeat(50_000),
      `1: ${'a:'.repeat(50_000)} <`,
      `-A X ${'"\\'.repeat(30_000)}`,
      `table ip t {\n\tset s {\n\t\telements = { ${'10.0.0.1,\n'.repeat(50_000)}`,
      `chain ${'service-A-'.repeat(5_000)} {\n}`,
      `Chain X (${'('.repeat(50_000)}`,
      `tcp 6 1 ${'src=1 '.repeat(50_000)}`,
      `${'NAME   '.repeat(10_000)}\n${'x   '.repeat(10_000)}`,
      `; <<>> DiG\n;; ANSWER SECTION:\n${'a. 1 IN A 1.2.3.4\n'.repeat(20_000)}`,
      `0::/${'kubepods-pod'.repeat(10_000)}`,
      `{"info": {"pid": ${'9'.repeat(400)}}}`,
      '[{"ifname": 7, "addr_info": "no"}]',
      'Prot LocalAddress:Port Weight\n' + 'TCP 1.2.3.4:80 rr\n  -> 1.2.3.5:80 x y z w v\n'.repeat(10_000),
    ];
    for (const input of inputs) {
      for (const format of formats) {
        check(format, input);
      }
    }
  });
  test('non-string input is read as empty text', () => {
    for (const value of [null, undefined, 42, {}, [], Symbol('x')]) {
      for (const format of formats) {
        const result = parsersByFormat[format](value as unknown as string);
        assert.deepEqual(result.problems, []);
      }
      assert.equal(containerIdFromStatus(value as unknown as string), null);
      assert.equal(guessFormat(value as unknown as string), null);
      assert.equal(splitCorpusHeader(value as unknown as string).body, '');
    }
  });
});

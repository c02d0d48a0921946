import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nameAt, unquoteWord, wordSpans } from '../../../src/features/rules/lineScan.js';
import { corpusFiles } from '../parsers/corpusFiles.js';
import { linesOf, readFixture } from './dumps.js';

function words(line: string, syntax: 'iptables' | 'nftables'): string[] {
  const spans = wordSpans(line, syntax);
  const out: string[] = [];
  for (let i = 0; i < spans.length; i += 2) {
    out.push(line.slice(spans[i], spans[i + 1]));
  }
  return out;
}

describe('wordSpans', () => {
  it('keeps an iptables --comment string whole, escaped quotes included', () => {
    const line = '-A KUBE-SERVICES -m comment --comment "a \\"-j KUBE-FAKE\\" b" -j KUBE-SVC-X';
    assert.deepEqual(words(line, 'iptables'), ['-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', '"a \\"-j KUBE-FAKE\\" b"', '-j', 'KUBE-SVC-X']);
  });

  it('splits nft words at blanks, commas and semicolons, braces stand alone, # ends the words', () => {
    const line = '\t\tnumgen random mod 2 vmap { 0 : goto a/b__10.0.0.1/80, 1 : goto c } # handle 35';
    assert.deepEqual(words(line, 'nftables'), ['numgen', 'random', 'mod', '2', 'vmap', '{', '0', ':', 'goto', 'a/b__10.0.0.1/80', '1', ':', 'goto', 'c', '}']);
    assert.deepEqual(words('type nat hook prerouting priority dstnat; policy accept;', 'nftables'), ['type', 'nat', 'hook', 'prerouting', 'priority', 'dstnat', 'policy', 'accept']);
    assert.deepEqual(words('comment "x # not a comment, {}"', 'nftables'), ['comment', '"x # not a comment, {}"']);
  });

  it('splits real rule lines into increasing spans separated only by blanks, blanks inside words only within quotes', () => {
    const files = [...corpusFiles('iptables').map((entry) => entry.body), readFixture('kube-proxy-iptables-nft.iptables')];
    for (const text of files) {
      for (const line of linesOf(text)) {
        const spans = wordSpans(line, 'iptables');
        let previous = 0;
        for (let i = 0; i < spans.length; i += 2) {
          assert.ok(spans[i] < spans[i + 1], 'a word is not empty');
          assert.match(line.slice(previous, spans[i]), /^[ \t]*$/, 'only blanks between words');
          assert.doesNotMatch(line.slice(spans[i], spans[i + 1]).replace(/"(?:[^"\\]|\\.)*"?/g, ''), /[ \t]/, 'no blank outside quotes in a word');
          previous = spans[i + 1];
        }
        assert.match(line.slice(previous), /^[ \t]*$/, 'nothing left after the last word');
      }
    }
  });

  it('reuses the array it is given', () => {
    const out: number[] = [];
    const first = wordSpans('-A X -j Y', 'iptables', out);
    const second = wordSpans('COMMIT', 'iptables', out);
    assert.equal(first, second);
    assert.deepEqual(second, [0, 6]);
  });
});

describe('nameAt', () => {
  it('finds a chain name under or just after the cursor, without the : of a declaration', () => {
    assert.deepEqual(nameAt(':KUBE-SERVICES - [0:0]', 3, 'iptables'), { start: 1, end: 14 });
    assert.deepEqual(nameAt(':KUBE-SERVICES - [0:0]', 14, 'iptables'), { start: 1, end: 14 });
    assert.equal(nameAt('-A X  -j Y', 5, 'iptables'), null);
    const line = 'ip saddr @affinity-XYZ-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-G-ns5/svc5/tcp/p80__10.180.0.3/80';
    assert.deepEqual(nameAt(line, 12, 'nftables'), { start: 10, end: line.indexOf(' goto') });
    assert.equal(unquoteWord('"a \\"b\\""'), 'a "b"');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { hoverMarkdown } from '../../../src/features/rules/rulesHover.js';
import { buildRulesIndex } from '../../../src/features/rules/rulesIndex.js';
import type { RulesIndex } from '../../../src/features/rules/rulesIndex.js';
import { corpusFiles } from '../parsers/corpusFiles.js';
import { linesOf, readCorpusFile, readFixture, readIptablesOracle, readNftOracle, unescapeMarkdown } from './dumps.js';

/** The index's table for an oracle section of an iptables dump (section 0: before the first `*table`). */
function tableOfSection(index: RulesIndex, tableLines: number[], section: number): number {
  if (section === 0) {
    return index.tables.findIndex((table) => table.header === null);
  }
  return index.tables.findIndex((table) => table.header?.line === tableLines[section - 1]);
}

/** Every jump of an iptables dump resolves like the oracle says: declaration, else first rule, in its own table. */
function checkIptablesJumps(text: string): number {
  const index = buildRulesIndex(text, 'iptables');
  const lines = linesOf(text);
  const oracle = readIptablesOracle(text);
  let checked = 0;
  for (const jump of oracle.jumps) {
    const target = index.resolve(jump.line, jump.column, lines[jump.line]);
    assert.ok(target !== null, `line ${jump.line + 1}: -j ${jump.target} resolves`);
    assert.equal(target.name, jump.target);
    assert.equal(lines[jump.line].slice(target.origin.start, target.origin.end), jump.target, 'the origin is the name as written');
    const expected = oracle.declarations[jump.section].get(jump.target) ?? oracle.firstRules[jump.section].get(jump.target) ?? null;
    const definition = index.definitionOf(target);
    assert.equal(definition?.line ?? null, expected, `line ${jump.line + 1}: definition of ${jump.target}`);
    if (definition !== null) {
      assert.equal(lines[definition.line].slice(definition.start, definition.end), jump.target, 'the definition span is the name');
      // Find references from the definition gives every jump of that table (the oracle counts them).
      const references = index.referencesOf(target, false);
      const expectedReferences = oracle.jumps.filter((other) => other.section === jump.section && other.target === jump.target).map((other) => other.line);
      assert.deepEqual(
        references.map((span) => span.line),
        expectedReferences,
        `references of ${jump.target}`,
      );
      assert.equal(index.chain(jump.target, tableOfSection(index, oracle.tableLines, jump.section))?.name, jump.target);
    }
    checked++;
  }
  return checked;
}

function checkNftJumps(text: string): number {
  const index = buildRulesIndex(text, 'nftables');
  const lines = linesOf(text);
  const oracle = readNftOracle(text);
  let checked = 0;
  for (const jump of oracle.jumps) {
    const target = index.resolve(jump.line, jump.column, lines[jump.line]);
    assert.ok(target !== null, `line ${jump.line + 1}: jump/goto ${jump.target} resolves`);
    assert.equal(target.name, jump.target);
    const expected = oracle.declarations[jump.section].get(jump.target) ?? null;
    assert.equal(index.definitionOf(target)?.line ?? null, expected, `line ${jump.line + 1}: definition of ${jump.target}`);
    const references = index.referencesOf(target, false).map((span) => span.line);
    const expectedReferences = oracle.jumps.filter((other) => other.section === jump.section && other.target === jump.target).map((other) => other.line);
    assert.deepEqual(references, expectedReferences, `references of ${jump.target}`);
    checked++;
  }
  return checked;
}

/** Hover text at the first occurrence of `name` on the first line matching `lineTest`, as the user reads it. */
function hoverAt(index: RulesIndex, text: string, lineTest: (line: string) => boolean, name: string): string | null {
  const lines = linesOf(text);
  const line = lines.findIndex(lineTest);
  assert.ok(line !== -1, `a line for ${name}`);
  const target = index.resolve(line, lines[line].indexOf(name) + 1, lines[line]);
  assert.ok(target !== null, `${name} resolves on line ${line + 1}`);
  const markdown = hoverMarkdown(index, target);
  return markdown === null ? null : unescapeMarkdown(markdown);
}

describe('rules index: the iptables corpus', () => {
  for (const entry of corpusFiles('iptables')) {
    it(`${entry.name}: builds, and every span names what it says`, () => {
      const text = readCorpusFile('iptables', entry.name);
      const index = buildRulesIndex(text, 'iptables');
      const lines = linesOf(text);
      for (let line = 0; line < lines.length; line++) {
        for (const occurrence of index.occurrencesOnLine(line)) {
          assert.equal(lines[line].slice(occurrence.start, occurrence.end).replace(/^"|"$/g, ''), occurrence.name, `line ${line + 1}`);
        }
      }
      for (const fold of index.foldingRanges()) {
        assert.ok(fold.end > fold.start && fold.end < lines.length, `fold ${fold.start}-${fold.end}`);
      }
    });
  }

  // Files in iptables-save or iptables -S format, by the command their header names.
  for (const entry of corpusFiles('iptables').filter((file) => /iptables-save|ip6tables-save|-S\b/.test(file.header.command ?? ''))) {
    it(`${entry.name}: every -j/-g goes to its declaration (or first rule) in its own table, references match`, () => {
      assert.ok(checkIptablesJumps(readCorpusFile('iptables', entry.name)) > 0);
    });
  }

  it('k8s36835: -j KUBE-SERVICES from PREROUTING lands on :KUBE-SERVICES; the *nat table folds', () => {
    const text = readCorpusFile('iptables', 'k8s36835-1.3.6-ubuntu1604-iptables-1.6.0-nat-head.txt');
    const index = buildRulesIndex(text, 'iptables');
    const lines = linesOf(text);
    const rule = lines.findIndex((line) => line.startsWith('-A PREROUTING') && line.includes('-j KUBE-SERVICES'));
    const target = index.resolve(rule, lines[rule].indexOf('KUBE-SERVICES'), lines[rule]);
    assert.ok(target !== null);
    assert.equal(index.definitionOf(target)?.line, lines.indexOf(':KUBE-SERVICES - [0:0]'));
    const nat = index.tables.find((table) => table.name === 'nat');
    assert.equal(nat?.header?.line, lines.indexOf('*nat'));
    // The dump was cut before COMMIT: the table ends at its last rule.
    assert.equal(nat?.range.end, lines.map((line) => line.startsWith('-A ')).lastIndexOf(true));
    assert.ok(index.foldingRanges().some((fold) => fold.kind === 'table' && fold.start === nat?.range.start && fold.end === nat.range.end));
    assert.ok(index.foldingRanges().some((fold) => fold.kind === 'declarations' && fold.start === lines.indexOf(':PREROUTING ACCEPT [23:1304]')));
  });

  it('calico3835 (ip6tables-save -c): counters prefix, two tables, hover on a KUBE-SEP shows its IPv6 DNAT target', () => {
    const text = readCorpusFile('iptables', 'calico3835-ipv6-ip6tables-save-c-v1.4.21-redacted-addrs.txt');
    const index = buildRulesIndex(text, 'iptables');
    const lines = linesOf(text);
    assert.deepEqual(index.tables.map((table) => table.name).sort(), ['filter', 'nat']);
    const filter = index.tables.find((table) => table.name === 'filter');
    assert.equal(filter?.implicit, true);
    assert.equal(filter?.range.end, lines.indexOf('COMMIT'), 'the implicit table ends at its COMMIT');
    const jump = lines.findIndex((line) => line.includes('-A KUBE-SEP-BGROXOK5IGCUJXP3') && line.includes('-j KUBE-MARK-MASQ'));
    const target = index.resolve(jump, lines[jump].indexOf('KUBE-MARK-MASQ'), lines[jump]);
    assert.ok(target !== null);
    assert.equal(index.definitionOf(target)?.line, lines.indexOf(':KUBE-MARK-MASQ - [0:0]'));
    const hover = hoverAt(index, text, (line) => line.startsWith(':KUBE-SEP-6B5SP7D5ASD3CW5Y'), 'KUBE-SEP-6B5SP7D5ASD3CW5Y');
    assert.ok(hover?.includes('[xxxx:xxx:xxx:x::111]:6443'), hover ?? 'no hover');
    assert.ok(hover?.includes('endpoint chain'));
  });

  it('k8s114470 (kind, KUBE-EXT fragment): hover names default/nodeport-service and its NodePort', () => {
    const text = readCorpusFile('iptables', 'k8s114470-kind-1.26-KUBE-EXT-iptables-save-fragment.txt');
    const index = buildRulesIndex(text, 'iptables');
    const hover = hoverAt(index, text, (line) => line.startsWith('-A KUBE-NODEPORTS'), 'KUBE-EXT-QATUYZLPU4I4HE4S');
    assert.ok(hover?.includes('default/nodeport-service'), hover ?? 'no hover');
    assert.ok(hover?.includes('31964'));
    // Its rules are there but no :KUBE-EXT declaration: go to definition lands on its first rule.
    const lines = linesOf(text);
    const from = lines.findIndex((line) => line.startsWith('-A KUBE-NODEPORTS'));
    const target = index.resolve(from, lines[from].indexOf('KUBE-EXT-QATUYZLPU4I4HE4S'), lines[from]);
    assert.ok(target !== null);
    assert.equal(index.definitionOf(target)?.line, lines.findIndex((line) => line.startsWith('-A KUBE-EXT-QATUYZLPU4I4HE4S')));
  });

  it('k8s47533 (session affinity): hover on KUBE-SVC-NPX46M4PTMTKRN6Y names default/kubernetes:https, its ClusterIP and ClientIP affinity', () => {
    const text = readCorpusFile('iptables', 'k8s47533-1.6-flannel-session-affinity-recent-module.txt');
    const index = buildRulesIndex(text, 'iptables');
    const hover = hoverAt(index, text, (line) => line.includes('-j KUBE-SVC-NPX46M4PTMTKRN6Y'), 'KUBE-SVC-NPX46M4PTMTKRN6Y');
    assert.ok(hover?.includes('default/kubernetes:https (tcp)'), hover ?? 'no hover');
    assert.ok(hover?.includes('10.96.0.1:443'));
    assert.ok(hover?.includes('ClientIP'));
    // The endpoint chain is named only by a jump and by `-m recent --name`: both hover with the service.
    const byJump = hoverAt(index, text, (line) => line.endsWith('-j KUBE-SEP-6FZLAPUAJM6OKK6A') && !line.includes('--rcheck'), 'KUBE-SEP-6FZLAPUAJM6OKK6A');
    assert.ok(byJump?.includes('default/kubernetes:https'), byJump ?? 'no hover');
    assert.ok(byJump?.includes('not in this dump'));
    const byName = hoverAt(index, text, (line) => line.includes('--name KUBE-SEP-6FZLAPUAJM6OKK6A'), 'KUBE-SEP-6FZLAPUAJM6OKK6A --mask');
    assert.ok(byName?.includes('default/kubernetes:https'));
  });

  it('python-iptables306 (iptables -t nat -S): -N and -P lines are the declarations', () => {
    const text = readCorpusFile('iptables', 'python-iptables306-centos8-calico-iptables-t-nat-S.txt');
    const index = buildRulesIndex(text, 'iptables');
    const lines = linesOf(text);
    const from = lines.findIndex((line) => line.includes('-j cali-PREROUTING'));
    const target = index.resolve(from, lines[from].indexOf('cali-PREROUTING') + 3, lines[from]);
    assert.ok(target !== null);
    assert.equal(index.definitionOf(target)?.line, lines.indexOf('-N cali-PREROUTING'));
    const prerouting = index.chain('PREROUTING', target.chain?.table ?? -1);
    assert.equal(prerouting?.definition?.line, lines.indexOf('-P PREROUTING ACCEPT'));
    assert.equal(prerouting?.policy, 'ACCEPT');
  });
});

describe('rules index: the nftables corpus', () => {
  for (const entry of corpusFiles('nftables')) {
    it(`${entry.name}: builds; every jump/goto goes to its chain in its own table; references match`, () => {
      const text = readCorpusFile('nftables', entry.name);
      checkNftJumps(text);
      const index = buildRulesIndex(text, 'nftables');
      const lines = linesOf(text);
      for (let line = 0; line < lines.length; line++) {
        for (const occurrence of index.occurrencesOnLine(line)) {
          assert.equal(lines[line].slice(occurrence.start, occurrence.end), occurrence.name, `line ${line + 1}`);
        }
      }
    });
  }

  it('calico8025: jump KUBE-SERVICES in OUTPUT lands on its chain; the one in table ip nat has no chain there', () => {
    const text = readCorpusFile('nftables', 'calico8025-k3s-flannel-calico-nft-list-ruleset-partial.txt');
    const index = buildRulesIndex(text, 'nftables');
    const lines = linesOf(text);
    const output = lines.findIndex((line) => line.includes('jump KUBE-SERVICES'));
    const fromOutput = index.resolve(output, lines[output].indexOf('KUBE-SERVICES'), lines[output]);
    assert.ok(fromOutput !== null);
    assert.equal(index.definitionOf(fromOutput)?.line, lines.findIndex((line) => line.trim() === 'chain KUBE-SERVICES {'));
    const nat = lines.findIndex((line, number) => number > lines.indexOf('table ip nat {') && line.includes('jump KUBE-SERVICES'));
    const fromNat = index.resolve(nat, lines[nat].indexOf('KUBE-SERVICES'), lines[nat]);
    assert.ok(fromNat !== null);
    assert.equal(fromNat.chain, null);
    assert.equal(index.definitionOf(fromNat), null);
    assert.match(unescapeMarkdown(hoverMarkdown(index, fromNat) ?? ''), /not in this table; in table/);
    // The listing starts inside a table: it ends at the stray `}` before `table ip nat`.
    const implicit = index.tables.find((table) => table.implicit);
    assert.equal(implicit?.range.end, lines.indexOf('table ip nat {') - 1);
  });

  it('kubeadm flannel-ipv4: table header, base chains with hooks, one fold per chain block', () => {
    const text = readCorpusFile('nftables', 'kubeadm-gce-flannel-nft-list-table-flannel-ipv4.txt');
    const index = buildRulesIndex(text, 'nftables');
    const lines = linesOf(text);
    const table = index.tables[0];
    assert.equal(table.name, 'flannel-ipv4');
    assert.equal(table.family, 'ip');
    assert.equal(lines[table.header?.line ?? -1].slice(table.header?.start, table.header?.end), 'flannel-ipv4');
    assert.deepEqual(table.chains.map((chain) => chain.name), ['postrtg', 'forward']);
    assert.match(table.chains[0].hook ?? '', /^type nat hook postrouting priority srcnat$/);
    for (const chain of table.chains) {
      const start = lines.findIndex((line) => line.trim() === `chain ${chain.name} {`);
      const end = lines.findIndex((line, number) => number > start && line.trim() === '}');
      assert.deepEqual(chain.runs, [{ start, end }]);
      assert.ok(index.foldingRanges().some((fold) => fold.start === start && fold.end === end));
    }
  });
});

describe('rules index: real kube-proxy dumps (captured fixtures)', () => {
  for (const name of ['kube-proxy-iptables-nft.iptables', 'kube-proxy-iptables-legacy.iptables']) {
    it(`${name}: every jump resolves in its own table (filter and nat both have KUBE-SERVICES)`, () => {
      const text = readFixture(name);
      assert.ok(checkIptablesJumps(text) > 50);
      const index = buildRulesIndex(text, 'iptables');
      const lines = linesOf(text);
      const withServices = index.tables.filter((table) => table.chains.some((chain) => chain.name === 'KUBE-SERVICES'));
      assert.deepEqual(withServices.map((table) => table.name).sort(), ['filter', 'nat']);
      for (const table of index.tables) {
        // Each *table … COMMIT block is one fold.
        const commit = lines.findIndex((line, number) => number > (table.header?.line ?? 0) && line === 'COMMIT');
        assert.deepEqual(table.range, { start: table.header?.line, end: commit });
      }
    });
  }

  it('kube-proxy-nftables-mode.nft: gotos in wrapped verdict-map elements, @map uses, multi-line element folds', () => {
    const text = readFixture('kube-proxy-nftables-mode.nft');
    assert.ok(checkNftJumps(text) > 10);
    const index = buildRulesIndex(text, 'nftables');
    const lines = linesOf(text);
    const use = lines.findIndex((line) => line.includes('vmap @service-ips'));
    const map = index.resolve(use, lines[use].indexOf('service-ips'), lines[use]);
    assert.equal(map?.nameKind, 'set');
    assert.equal(index.definitionOf(map ?? (null as never))?.line, lines.findIndex((line) => line.trim() === 'map service-ips {'));
    const wrapped = lines.findIndex((line) => line.trim().startsWith('elements = {') && !line.includes('}'));
    assert.ok(wrapped !== -1, 'the fixture has an element list nft wrapped over lines');
    const close = lines.findIndex((line, number) => number > wrapped && line.includes('}'));
    assert.ok(index.foldingRanges().some((fold) => fold.kind === 'block' && fold.start === wrapped && fold.end === close));
    assert.deepEqual(
      index.tables[0].sets.map((set) => `${set.kind} ${set.name}`),
      lines.filter((line) => /^\t(set|map) /.test(line)).map((line) => line.trim().replace(/ \{$/, '')),
    );
  });
});

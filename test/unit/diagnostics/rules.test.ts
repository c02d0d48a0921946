/**
 * The rules dumps: which dumps a data plane gets, the dump script with stand-ins, dumps read
 * from real corpus output, and the KUBE-SERVICES view of one service cut from a real
 * `iptables -t nat -L -n` listing.
 */
import * as assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parseIptablesSave } from '../../../src/parsers/iptablesSave';
import { splitSections } from '../../../src/diagnostics/context';
import type { DiagnosticContext } from '../../../src/diagnostics/context';
import { interpretDataPlane } from '../../../src/diagnostics/dataPlane';
import { RULES_SCRIPT, chooseDumps, fetchRules, filterKubeServicesList, kubeServicesListArgv, readDump, rulesArgv } from '../../../src/diagnostics/rules';
import { silentLogger } from '../../../src/node/logger';
import { corpusFiles } from '../parsers/corpusFiles';
import { generateKubeProxyIptablesSave, generateKubeProxyNft } from '../parsers/generators';
import { createHarness, invocations, printsFile, recordsArgv } from './shellHarness';
import type { Harness } from './shellHarness';
import { LocalRunner } from './localRunner';

const harnesses: Harness[] = [];
after(() => harnesses.forEach((harness) => harness.dispose()));
function harness(): Harness {
  const created = createHarness();
  harnesses.push(created);
  return created;
}

const saveDump = corpusFiles('iptables').find((entry) => entry.name.startsWith('k8s36835'));
assert.ok(saveDump);

/** A data plane as the detector reports it, from section text shaped like the script's. */
function dataPlane(parts: { nft?: string; legacy?: string; tables?: string; mode?: string }) {
  const section = (name: string, text: string, code = 0): string => `@@kni:${name}@@\n${text}\n@@kni:exit=${code}@@\n`;
  return interpretDataPlane(
    'node-a',
    section('proxyMode', parts.mode ?? '', parts.mode === undefined ? 7 : 0) + section('iptables-nft', parts.nft ?? '') + section('iptables-legacy', parts.legacy ?? '') + section('nft', parts.tables ?? 'table ip nat') + section('ipvs', 'absent', 3) + section('links', 'lo'),
  );
}

describe('chooseDumps', () => {
  test('iptables in one backend, in both, nftables, and nothing', () => {
    assert.deepEqual(chooseDumps(dataPlane({ nft: '1 nat KUBE-SERVICES\n3 nat KUBE-SVC-*' })).kinds, ['iptables-nft']);
    assert.deepEqual(chooseDumps(dataPlane({ legacy: '1 nat KUBE-SERVICES' })).kinds, ['iptables-legacy']);
    const both = chooseDumps(dataPlane({ nft: '1 nat KUBE-SERVICES', legacy: '1 nat KUBE-SERVICES' }));
    assert.deepEqual(both.kinds, ['iptables-nft', 'iptables-legacy']);
    assert.ok(both.notes.some((note) => note.includes('Both')));
    assert.deepEqual(chooseDumps(dataPlane({ nft: '1 filter KUBE-FIREWALL\n1 nat KUBE-KUBELET-CANARY', tables: 'table ip nat\ntable ip kube-proxy', mode: 'nftables' })).kinds, ['nftables']);
    const none = chooseDumps(dataPlane({ nft: '4 nat other' }));
    assert.deepEqual(none.kinds, ['iptables-nft']);
    assert.ok(none.notes.some((note) => note.includes('not running') || note.includes('No kube-proxy rules')));
    assert.deepEqual(chooseDumps(dataPlane({})).kinds, []);
  });
});

describe('rules script', () => {
  test('one marked section per kind, the table passed on, exit codes kept', () => {
    const h = harness();
    h.standIn('iptables-nft-save', recordsArgv('iptables-nft-save'));
    h.standIn('nft', recordsArgv('nft'));
    const sections = splitSections(h.run(rulesArgv(['iptables-nft', 'iptables-legacy', 'nftables'], 'nat')).stdout);
    assert.deepEqual(sections.map((section) => [section.name, section.exitCode]), [
      ['iptables-nft', 0],
      ['iptables-legacy', 127],
      ['nftables', 0],
    ]);
    assert.deepEqual(invocations(sections[0].text), [['iptables-nft-save', '-t', 'nat']]);
    assert.deepEqual(invocations(sections[2].text), [['nft', 'list', 'table', 'ip', 'kube-proxy']]);
    assert.throws(() => rulesArgv(['iptables-nft; reboot' as never]), RangeError);
    assert.throws(() => rulesArgv(['nftables'], 'nat; reboot' as never), RangeError);
    assert.ok(!RULES_SCRIPT.includes('kube-proxy;'));
  });

  test('fetchRules: the dump of the backend holding the chains, read back exactly, over a local runner', async () => {
    const h = harness();
    const generated = generateKubeProxyIptablesSave(2_000);
    h.standIn('iptables-nft-save', printsFile(h.file('save.txt', generated.text)));
    const runner = new LocalRunner(h);
    const context: DiagnosticContext = { core: undefined as never, discovery: undefined as never, runner, logger: silentLogger };
    const result = await fetchRules(context, 'node-a', { dataPlane: dataPlane({ nft: '1 nat KUBE-SERVICES', mode: 'iptables' }) });
    assert.equal(result.dumps.length, 1);
    const dump = result.dumps[0];
    assert.equal(dump.backend, 'iptables-nft');
    assert.equal(dump.text, generated.text.replace(/\n$/, ''));
    assert.equal(dump.summary.lines, generated.lineCount);
    assert.equal(dump.summary.services, parseIptablesSave(generated.text).value.services.length);
    assert.match(dump.title, /nf_tables.*node-a/);
  });

  test('a missing tool is a typed error that names it', async () => {
    const h = harness();
    const context: DiagnosticContext = { core: undefined as never, discovery: undefined as never, runner: new LocalRunner(h), logger: silentLogger };
    await assert.rejects(fetchRules(context, 'node-a', { dataPlane: dataPlane({ legacy: '1 nat KUBE-SERVICES' }) }), (error: unknown) => (error as { code?: string }).code === 'tool-missing' && /iptables-legacy-save/.test((error as Error).message));
  });
});

describe('readDump', () => {
  test('real iptables-save output: summary from the parse', () => {
    const dump = readDump('iptables-legacy', 'n', saveDump.body, 0, false);
    const parsed = parseIptablesSave(saveDump.body).value;
    assert.equal(dump.backend, 'iptables-legacy');
    assert.equal(dump.summary.kubeChains, saveDump.body.split('\n').filter((line) => /^:KUBE-/.test(line)).length);
    assert.equal(dump.summary.services, parsed.services.length);
    assert.deepEqual(dump.summary.tables.map((table) => table.name), parsed.tables.map((table) => table.name));
  });

  test('an nft listing of kube-proxy\'s table', () => {
    const generated = generateKubeProxyNft(10, 2);
    const dump = readDump('nftables', 'n', generated.text, 0, false);
    assert.equal(dump.backend, 'nftables');
    assert.equal(dump.summary.services, generated.services.length);
    assert.equal(dump.summary.endpoints, generated.services.reduce((sum, service) => sum + service.dnatTo.length, 0));
  });
});

describe('KUBE-SERVICES view of one service', () => {
  const listing = corpusFiles('iptables').find((entry) => entry.name.startsWith('flannel-docker-iptables-t-nat-L-n'));
  assert.ok(listing);
  const lines = listing.body.split('\n');
  const start = lines.findIndex((line) => line.startsWith('Chain KUBE-SERVICES'));
  const end = lines.findIndex((line, index) => index > start && line.trim() === '');
  const block = lines.slice(start, end === -1 ? undefined : end).join('\n');

  test('keeps the header and exactly the lines naming the service or its address', () => {
    const view = filterKubeServicesList(block, { namespace: 'kube-system', name: 'kube-dns' }, ['10.96.0.10']);
    const expected = block.split('\n').filter((line) => line.startsWith('Chain ') || line.startsWith('target ') || line.includes('/* kube-system/kube-dns:'));
    assert.deepEqual(view.text.split('\n'), expected);
    assert.equal(view.rules.length, expected.length - 2);
    const nginx = filterKubeServicesList(block, { namespace: 'default', name: 'nginx-svc' }, []);
    assert.equal(nginx.rules.length, block.split('\n').filter((line) => line.includes('/* default/nginx-svc:')).length);
  });

  test('argv: the backend is a word', () => {
    assert.deepEqual(kubeServicesListArgv('legacy').slice(3), ['kni-kube-services', 'legacy']);
    assert.throws(() => kubeServicesListArgv('x' as never), RangeError);
  });
});

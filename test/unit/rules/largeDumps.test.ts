import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { defaultWorkerScript, RulesIndexBuilder } from '../../../src/features/rules/indexBuilder.js';
import { RulesIndexCache } from '../../../src/features/rules/indexCache.js';
import { hoverMarkdown } from '../../../src/features/rules/rulesHover.js';
import { buildRulesIndexAsync, buildRulesIndexData, RulesIndex } from '../../../src/features/rules/rulesIndex.js';
import { generateKubeProxyIptablesSave, generateKubeProxyNft } from '../parsers/generators.js';
import { linesOf, unescapeMarkdown } from './dumps.js';

const dump = generateKubeProxyIptablesSave(100_000);
const dumpLines = linesOf(dump.text);

/** Line of each `:CHAIN` declaration, read from the text. */
function declarationLines(lines: string[]): Map<string, number> {
  const out = new Map<string, number>();
  lines.forEach((line, number) => {
    const match = /^:(\S+) /.exec(line);
    if (match) {
      out.set(match[1], number);
    }
  });
  return out;
}

describe('rules index: a generated 100,000-line kube-proxy dump', () => {
  const index = new RulesIndex(buildRulesIndexData(dump.text, 'iptables'));

  it('has every chain of the nat table, and the table folds from *nat to COMMIT', () => {
    assert.ok(dump.lineCount >= 100_000);
    assert.equal(index.tables.length, 1);
    assert.equal(index.tables[0].chains.length, dump.natChainCount);
    assert.deepEqual(index.tables[0].range, { start: dumpLines.indexOf('*nat'), end: dumpLines.indexOf('COMMIT') });
    assert.equal(index.problemCount, 0);
  });

  it('sends every KUBE-SERVICES jump to its KUBE-SVC declaration, and finds it as the one reference', () => {
    const declarations = declarationLines(dumpLines);
    let checked = 0;
    dumpLines.forEach((line, number) => {
      if (!line.startsWith('-A KUBE-SERVICES ') || !line.includes('-j KUBE-SVC-')) {
        return;
      }
      const name = line.slice(line.lastIndexOf(' ') + 1);
      const target = index.resolve(number, line.lastIndexOf(name), line);
      assert.ok(target !== null);
      assert.equal(index.definitionOf(target)?.line, declarations.get(name));
      assert.deepEqual(index.referencesOf(target, false).map((span) => span.line), [number]);
      checked++;
    });
    assert.equal(checked, dump.services.length);
  });

  it('hovers every 250th service and its endpoints with the generator\'s ClusterIP, port and DNAT targets', () => {
    for (let i = 0; i < dump.services.length; i += 250) {
      const service = dump.services[i];
      const line = dumpLines.findIndex((text) => text.startsWith(`:${service.svcChain} `));
      const target = index.resolve(line, 3, dumpLines[line]);
      assert.ok(target !== null);
      const hover = unescapeMarkdown(hoverMarkdown(index, target) ?? '');
      assert.ok(hover.includes(`Service port ${service.service}:${service.portName} (${service.protocol})`), hover);
      assert.ok(hover.includes(`ClusterIP: ${service.clusterIP}:${service.port}`));
      for (const endpoint of service.endpoints) {
        assert.ok(hover.includes(`${endpoint.dnatTo} · `), endpoint.dnatTo);
        const sep = index.chain(endpoint.sepChain, 0);
        assert.ok(sep !== null && sep.definition !== null);
        const sepTarget = index.resolve(sep.definition.line, sep.definition.start, dumpLines[sep.definition.line]);
        assert.ok(sepTarget !== null);
        assert.ok(unescapeMarkdown(hoverMarkdown(index, sepTarget) ?? '').includes(`Endpoint ${endpoint.dnatTo}`));
      }
    }
  });

  it('folds each service chain\'s run of rules', () => {
    const starts = new Map(index.foldingRanges().map((fold) => [fold.start, fold.end]));
    for (let i = 0; i < dump.services.length; i += 97) {
      const chain = index.chain(dump.services[i].svcChain, 0);
      assert.ok(chain !== null);
      assert.equal(chain.runs.length, 1);
      assert.equal(chain.runs[0].end - chain.runs[0].start + 1, chain.ruleCount);
      assert.equal(starts.get(chain.runs[0].start), chain.runs[0].end);
    }
  });

  it('builds the same index in steps on this thread, pausing between steps', async () => {
    let steps = 0;
    const stepped = await buildRulesIndexAsync(dump.text, 'iptables', { onStep: () => steps++ });
    assert.ok(stepped !== null);
    assert.ok(steps > 5, `${steps} steps`);
    assert.deepEqual(stepped.data, index.data);
  });

  it('builds the same index in a worker thread', async () => {
    const script = defaultWorkerScript();
    assert.ok(script !== null, 'rulesWorker.js sits beside indexBuilder.js in the compiled output');
    const builder = new RulesIndexBuilder({ workerScript: script, threshold: 0 });
    try {
      const reports: string[] = [];
      const built = await builder.build(dump.text, 'iptables', () => false, (report) => reports.push(report.where));
      assert.deepEqual(reports, ['worker']);
      assert.ok(built !== null);
      assert.deepEqual(built.data, index.data);
    } finally {
      builder.dispose();
    }
  });

  it('stops a stepwise build once it is cancelled', async () => {
    let steps = 0;
    const result = await buildRulesIndexAsync(dump.text, 'iptables', { isCancelled: () => steps > 2, onStep: () => steps++ });
    assert.equal(result, null);
    assert.equal(steps, 3);
  });
});

describe('rules index: a generated kube-proxy nftables table of 12,000 services', () => {
  const generated = generateKubeProxyNft(12_000);
  const lines = linesOf(generated.text);
  const index = new RulesIndex(buildRulesIndexData(generated.text, 'nftables'));

  it('resolves each service-ips element to its service chain and hovers its ClusterIP and DNAT targets', () => {
    const chainLines = new Map<string, number>();
    lines.forEach((line, number) => {
      const match = /^\tchain (\S+) \{$/.exec(line);
      if (match) {
        chainLines.set(match[1], number);
      }
    });
    for (let i = 0; i < generated.services.length; i += 300) {
      const service = generated.services[i];
      const line = lines.findIndex((text) => text.includes(`: goto ${service.svcChain},`) || text.endsWith(`: goto ${service.svcChain} }`));
      const target = index.resolve(line, lines[line].indexOf(service.svcChain) + 1, lines[line]);
      assert.ok(target !== null);
      assert.equal(index.definitionOf(target)?.line, chainLines.get(service.svcChain));
      const hover = unescapeMarkdown(hoverMarkdown(index, target) ?? '');
      assert.ok(hover.includes(`ClusterIP: ${service.clusterIP}:${service.port}`), hover);
      for (const address of service.dnatTo) {
        assert.ok(hover.includes(address), address);
      }
    }
  });

  it('builds the same index in a worker thread', async () => {
    const builder = new RulesIndexBuilder({ threshold: 0 });
    try {
      const built = await builder.build(generated.text, 'nftables');
      assert.ok(built !== null);
      assert.deepEqual(built.data, index.data);
    } finally {
      builder.dispose();
    }
  });
});

describe('rules index cache', () => {
  const small = generateKubeProxyIptablesSave(2_000).text;
  const document = (key: string, version: number, text = small) => ({ key, version, language: 'iptables' as const, getText: () => text });

  it('shares one build per document version, and a newer version supersedes an unfinished one', async () => {
    const builder = new RulesIndexBuilder({ workerScript: null });
    const built: number[] = [];
    const cache = new RulesIndexCache(builder, 4, (doc) => built.push(doc.version));
    const first = cache.get(document('a', 1));
    assert.equal(cache.get(document('a', 1)), first, 'same version, same promise');
    const second = cache.get(document('a', 2));
    assert.equal(await first, null, 'superseded before it finished');
    const index = await second;
    assert.ok(index !== null);
    assert.equal(index.tables[0].name, 'nat');
    assert.deepEqual(built, [2]);
    assert.equal(cache.get(document('a', 2)), second);
  });

  it('keeps the most recently used documents and forgets closed ones', async () => {
    const cache = new RulesIndexCache(new RulesIndexBuilder({ workerScript: null }), 2);
    const a = cache.get(document('a', 1));
    await cache.get(document('b', 1));
    assert.equal(cache.get(document('a', 1)), a, 'a is used again, so b is now the oldest');
    await cache.get(document('c', 1));
    assert.equal(cache.size, 2);
    assert.ok(cache.has('a', 1) && cache.has('c', 1) && !cache.has('b', 1));
    cache.delete('a');
    assert.ok(!cache.has('a', 1));
    await a;
  });

  it('a worker that cannot start falls back to this thread', async () => {
    const builder = new RulesIndexBuilder({ workerScript: '/nonexistent/rulesWorker.js', threshold: 0 });
    try {
      const reports: string[] = [];
      const index = await builder.build(small, 'iptables', () => false, (report) => reports.push(report.where));
      assert.ok(index !== null);
      assert.deepEqual(reports, ['thread']);
    } finally {
      builder.dispose();
    }
  });
});

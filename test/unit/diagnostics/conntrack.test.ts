/**
 * Connection tracking: the streaming collector against the parser on the real corpus (cut at
 * arbitrary chunk boundaries) and on a 262,144-entry listing; the node scripts run by a real
 * shell with stand-ins; the listing, usage, nf_conntrack_max and event stream end to end over a
 * local runner.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, describe, test } from 'node:test';
import { conntrackSummaryCount, parseConntrack, parseConntrackStats } from '../../../src/parsers/conntrack';
import { parseKernelLog } from '../../../src/parsers/kernelLog';
import { splitSections } from '../../../src/diagnostics/context';
import type { DiagnosticContext } from '../../../src/diagnostics/context';
import { DiagnosticError } from '../../../src/diagnostics/context';
import {
  CONNTRACK_LIST_SCRIPT,
  CONNTRACK_MAX_RANGE,
  ConntrackCollector,
  addToCounts,
  conntrackEventsArgv,
  conntrackKey,
  conntrackListArgv,
  conntrackMaxArgv,
  conntrackUsageArgv,
  emptyCounts,
  interpretConntrackUsage,
  listConntrack,
  streamConntrackEvents,
  validateConntrackFilter,
  validateConntrackMax,
} from '../../../src/diagnostics/conntrack';
import { silentLogger } from '../../../src/node/logger';
import { corpusFiles } from '../parsers/corpusFiles';
import { generateConntrackListing } from '../parsers/generators';
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

function context(runner: LocalRunner): DiagnosticContext {
  return { core: undefined as never, discovery: undefined as never, runner, logger: silentLogger };
}

/** Cuts `text` into chunks at pseudo-random places (a fixed seed: the same cuts every run). */
function chunks(text: string, seed: number): string[] {
  const out: string[] = [];
  let state = seed;
  let position = 0;
  while (position < text.length) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const size = 1 + (state % 97);
    out.push(text.slice(position, position + size));
    position += size;
  }
  return out;
}

// The scripts ask for line formats (-L -o extended, -E -o timestamp); XML (-o xml) is the parser's alone.
const listingFiles = corpusFiles('conntrack').filter((entry) => parseConntrack(entry.body).value.length > 0 && !entry.body.includes('<flow'));

describe('ConntrackCollector', () => {
  for (const entry of listingFiles) {
    test(`${entry.name}: chunked reading gives the parser's entries and counts`, () => {
      const whole = parseConntrack(entry.body).value;
      const collector = new ConntrackCollector();
      for (const chunk of chunks(entry.body, entry.name.length)) {
        collector.push(chunk);
      }
      collector.end();
      const distinct = new Map(whole.map((item) => [conntrackKey(item), item]));
      assert.deepEqual(collector.entries.map(conntrackKey), [...new Set(whole.map(conntrackKey))]);
      assert.deepEqual(collector.entries.map((item) => item.line), [...distinct.keys()].map((key) => whole.find((item) => conntrackKey(item) === key)?.line));
      const counts = emptyCounts();
      [...distinct.values()].forEach((item) => addToCounts(counts, item));
      assert.deepEqual(collector.counts, counts);
      assert.equal(collector.shownByTool, conntrackSummaryCount(entry.body));
    });
  }

  test('sections: markers switch sections, exit codes are kept, the same connection in two sections counts once', () => {
    const body = listingFiles[0].body;
    const collector = new ConntrackCollector();
    collector.push(`@@kni:list=0@@\n${body}\n@@kni:exit=0@@\n@@kni:list=1@@\n${body}\n@@kni:exit=1@@\n`);
    collector.end();
    assert.equal(collector.counts.total, new Set(parseConntrack(body).value.map(conntrackKey)).size);
    assert.deepEqual([...collector.sectionExitCodes], [
      ['list=0', 0],
      ['list=1', 1],
    ]);
    assert.ok(!collector.raw().includes('@@kni'));
  });

  test('262,144 entries: all counted, only the cap kept, the raw text capped', () => {
    const generated = generateConntrackListing(262_144);
    const collector = new ConntrackCollector({ maxEntries: 10_000, rawLimitBytes: 1024 * 1024 });
    for (let index = 0; index < generated.text.length; index += 65_536) {
      collector.push(generated.text.slice(index, index + 65_536));
    }
    collector.end();
    assert.equal(collector.counts.total, generated.entryCount);
    assert.deepEqual(collector.counts.byProtocol, generated.byProtocol);
    for (const [state, count] of Object.entries(generated.byState)) {
      assert.equal(collector.counts.byState[state], count, state);
    }
    assert.equal(collector.entries.length, 10_000);
    assert.equal(collector.entriesTruncated, true);
    assert.equal(collector.rawTruncated, true);
    assert.ok(collector.raw().length <= 1024 * 1024);
    assert.equal(collector.shownByTool, generated.entryCount);
    assert.deepEqual(collector.problems, []);
  });
});

describe('conntrack filters and scripts', () => {
  test('filters take IP addresses of one family and known protocols only', () => {
    assert.equal(validateConntrackFilter({ src: '198.18.1.3', dst: '198.19.0.80', proto: 'tcp' }), 'ipv4');
    assert.equal(validateConntrackFilter({ dst: 'fd00::1' }), 'ipv6');
    for (const bad of [{ src: '198.18.1.3; reboot' }, { dst: '-d' }, { src: '1.2.3.4', dst: 'fd00::1' }, { proto: 'tcp -D' }, { replySrc: 'x' }]) {
      assert.throws(() => validateConntrackFilter(bad as never), (error: unknown) => DiagnosticError.is(error, 'invalid-input'), JSON.stringify(bad));
    }
  });

  test('one conntrack -L per filter, each word its own argument, in marked sections', () => {
    const h = harness();
    h.standIn('conntrack', recordsArgv('conntrack'));
    const filters = [{ src: '198.18.1.3' }, { dst: 'fd00::80', proto: 'udp' as const }, { replySrc: '198.18.2.3', proto: 'tcp' as const }];
    const argv = conntrackListArgv(filters);
    assert.ok(!CONNTRACK_LIST_SCRIPT.includes('198.18'));
    const run = h.run(argv);
    assert.equal(run.status, 0, run.stderr);
    const sections = splitSections(run.stdout);
    assert.deepEqual(sections.map((section) => [section.name, section.exitCode]), [
      ['list=0', 0],
      ['list=1', 0],
      ['list=2', 0],
    ]);
    assert.deepEqual(sections.map((section) => invocations(section.text)[0]), [
      ['conntrack', '-L', '-f', 'ipv4', '-o', 'extended', '-s', '198.18.1.3'],
      ['conntrack', '-L', '-f', 'ipv6', '-o', 'extended', '-p', 'udp', '-d', 'fd00::80'],
      ['conntrack', '-L', '-f', 'ipv4', '-o', 'extended', '-p', 'tcp', '-r', '198.18.2.3'],
    ]);
  });

  test('without conntrack in the image: exit 127, and listConntrack says which tool is missing', async () => {
    const h = harness();
    assert.equal(h.run(conntrackListArgv([{}])).status, 127);
    await assert.rejects(listConntrack(context(new LocalRunner(h)), 'node-a'), (error: unknown) => DiagnosticError.is(error, 'tool-missing'));
  });

  test('listConntrack streams a real listing through the collector', async () => {
    const h = harness();
    const entry = listingFiles.find((item) => conntrackSummaryCount(item.body) !== null) ?? listingFiles[0];
    h.standIn('conntrack', printsFile(h.file('listing.txt', entry.body)));
    const listing = await listConntrack(context(new LocalRunner(h)), 'node-a', { dst: '10.0.0.10' });
    const whole = parseConntrack(entry.body).value;
    assert.equal(listing.counts.total, new Set(whole.map(conntrackKey)).size);
    assert.equal(listing.node, 'node-a');
    assert.ok(listing.manualCommands.some((command) => command.command === 'conntrack -L -o extended -d 10.0.0.10'));
    assert.ok(listing.raw.length > 0);
  });
});

describe('conntrack usage', () => {
  const statsEntry = corpusFiles('conntrack').find((item) => item.name.includes('conntrack-S'));

  function usageHarness(count: number, max: number): Harness {
    const h = harness();
    h.file('netfilter/nf_conntrack_count', `${count}\n`);
    h.file('netfilter/nf_conntrack_max', `${max}\n`);
    h.file('netfilter/nf_conntrack_buckets', `${max / 4}\n`);
    if (statsEntry !== undefined) {
      h.standIn('conntrack', printsFile(h.file('stats.txt', statsEntry.body)));
    }
    return h;
  }

  test('count, max and buckets from the sysctl files; per-CPU statistics; "table full" lines from dmesg', () => {
    const h = usageHarness(240_000, 262_144);
    const log = [
      '[1000.000001] eth0: link up',
      '[2000.000002] nf_conntrack: nf_conntrack: table full, dropping packet',
      '[2000.500000] nf_conntrack: nf_conntrack: table full, dropping packet',
      '[2100.000000] nf_conntrack: expectation table full',
    ].join('\n');
    h.standIn('dmesg', printsFile(h.file('dmesg.txt', `${log}\n`)));
    const run = h.run(conntrackUsageArgv(`${h.root}/netfilter`));
    const usage = interpretConntrackUsage('node-a', run.stdout);
    assert.equal(usage.count, Number(fs.readFileSync(`${h.root}/netfilter/nf_conntrack_count`, 'utf8')));
    assert.equal(usage.max, Number(fs.readFileSync(`${h.root}/netfilter/nf_conntrack_max`, 'utf8')));
    assert.equal(usage.buckets, 65_536);
    assert.equal(usage.ratio, 240_000 / 262_144);
    assert.equal(usage.nearLimit, true);
    assert.equal(usage.kernelLogSource, 'dmesg');
    const expected = parseKernelLog(log).value.filter((entry) => entry.conntrackTableFull);
    assert.equal(expected.length, log.split('\n').filter((line) => line.includes('table full, dropping packet')).length);
    assert.deepEqual(usage.tableFullEvents.map((entry) => entry.timestamp), expected.map((entry) => entry.timestamp));
    assert.equal(usage.kernelLogLines, 3);
    if (statsEntry !== undefined) {
      assert.deepEqual(usage.stats?.totals, parseConntrackStats(statsEntry.body).value.totals);
    }
    assert.ok(usage.warnings.some((warning) => warning.includes('% full')));
    assert.ok(usage.warnings.some((warning) => warning.includes('table full, dropping packet')));
  });

  test('dmesg refused and no journalctl: a warning, not an error; low usage is not near the limit', () => {
    const h = usageHarness(10, 262_144);
    h.standIn('dmesg', "echo 'dmesg: read kernel buffer failed: Operation not permitted' >&2\nexit 1");
    const usage = interpretConntrackUsage('node-a', h.run(conntrackUsageArgv(`${h.root}/netfilter`)).stdout);
    assert.equal(usage.kernelLogSource, null);
    assert.equal(usage.nearLimit, false);
    assert.ok(usage.warnings.some((warning) => warning.includes('Operation not permitted')));
    assert.deepEqual(usage.tableFullEvents, []);
  });

  test('BusyBox-style dmesg without --time-format falls back to plain dmesg; journalctl when dmesg fails', () => {
    const h = usageHarness(1, 1024);
    h.standIn('dmesg', `if [ "$1" = "--time-format" ]; then echo 'dmesg: unrecognized option' >&2; exit 1; fi\necho '[5.0] nf_conntrack: table full, dropping packet'`);
    assert.equal(interpretConntrackUsage('n', h.run(conntrackUsageArgv(`${h.root}/netfilter`)).stdout).tableFullEvents.length, 1);
    h.standIn('dmesg', 'exit 1');
    h.standIn('journalctl', "echo '2026-01-01T00:00:00+0000 node kernel: nf_conntrack: table full, dropping packet'");
    const usage = interpretConntrackUsage('n', h.run(conntrackUsageArgv(`${h.root}/netfilter`)).stdout);
    assert.equal(usage.kernelLogSource, 'journalctl');
    assert.deepEqual(usage.tableFullEvents.map((entry) => entry.timestamp), ['2026-01-01T00:00:00+0000']);
  });

  test('missing sysctl files (module not loaded) leave count and max null, with a warning', () => {
    const h = harness();
    const usage = interpretConntrackUsage('n', h.run(conntrackUsageArgv(`${h.root}/absent`)).stdout);
    assert.equal(usage.count, null);
    assert.equal(usage.ratio, null);
    assert.ok(usage.warnings.some((warning) => warning.includes('nf_conntrack module')));
  });
});

describe('nf_conntrack_max', () => {
  test('validation: whole numbers in the sane range only', () => {
    for (const good of [CONNTRACK_MAX_RANGE.min, 262_144, CONNTRACK_MAX_RANGE.max]) {
      assert.equal(validateConntrackMax(good), good);
    }
    for (const bad of [0, 1023, CONNTRACK_MAX_RANGE.max + 1, 1.5, Number.NaN, '262144', -1]) {
      assert.throws(() => validateConntrackMax(bad), (error: unknown) => DiagnosticError.is(error, 'invalid-input'), String(bad));
      assert.throws(() => conntrackMaxArgv(bad as never, true), DiagnosticError);
    }
    assert.throws(() => conntrackMaxArgv(4096, true, '/tmp/../etc'), RangeError);
  });

  test('dry run reads and writes nothing; apply writes and reads back; below the count is refused', () => {
    const h = harness();
    const max = h.file('nf/nf_conntrack_max', '262144\n');
    h.file('nf/nf_conntrack_count', '5000\n');
    const dry = splitSections(h.run(conntrackMaxArgv(524_288, true, `${h.root}/nf`)).stdout);
    assert.deepEqual(dry.map((section) => section.name), ['before', 'count', 'writable']);
    assert.equal(dry[0].text, '262144');
    assert.equal(fs.readFileSync(max, 'utf8'), '262144\n');
    const applied = splitSections(h.run(conntrackMaxArgv(524_288, false, `${h.root}/nf`)).stdout);
    assert.deepEqual(applied.map((section) => section.name), ['before', 'count', 'writable', 'write', 'after']);
    assert.equal(applied[4].text.trim(), '524288');
    assert.equal(fs.readFileSync(max, 'utf8'), '524288\n');
    const refused = h.run(conntrackMaxArgv(4096, false, `${h.root}/nf`));
    assert.equal(refused.status, 3);
    assert.ok(splitSections(refused.stdout).some((section) => section.name === 'refused=below-count'));
    assert.equal(fs.readFileSync(max, 'utf8'), '524288\n');
  });
});

describe('conntrack events', () => {
  const events = [
    '[1700000000.000001] [NEW] tcp      6 120 SYN_SENT src=198.18.1.3 dst=198.19.0.80 sport=40000 dport=80 [UNREPLIED] src=198.18.2.3 dst=198.18.1.3 sport=8080 dport=40000',
    '[1700000000.000002] [UPDATE] tcp      6 60 SYN_RECV src=198.18.1.3 dst=198.19.0.80 sport=40000 dport=80 src=198.18.2.3 dst=198.18.1.3 sport=8080 dport=40000',
    '[1700000000.000003] [UPDATE] tcp      6 432000 ESTABLISHED src=198.18.1.3 dst=198.19.0.80 sport=40000 dport=80 src=198.18.2.3 dst=198.18.1.3 sport=8080 dport=40000 [ASSURED]',
    '[1700000000.000004] [DESTROY] tcp      6 src=198.18.1.3 dst=198.19.0.80 sport=40000 dport=80 src=198.18.2.3 dst=198.18.1.3 sport=8080 dport=40000 [ASSURED]',
  ];

  test('argv: the time limit and filters as words', () => {
    assert.deepEqual(conntrackEventsArgv(60, { dst: '198.19.0.80', proto: 'tcp' }).slice(4), ['60', '-p', 'tcp', '-d', '198.19.0.80']);
    assert.throws(() => conntrackEventsArgv(0), RangeError);
  });

  test('each event parsed as it comes; stops after maxEntries', async () => {
    const h = harness();
    // Prints the events, then waits as conntrack -E does until it is stopped.
    h.standIn('conntrack', `cat '${h.file('events.txt', `${events.join('\n')}\n`)}'\nexec sleep 30`);
    fs.symlinkSync('/bin/sleep', `${h.tools}/sleep`);
    const seen: string[] = [];
    const result = await streamConntrackEvents(context(new LocalRunner(h)), 'node-a', { onEntry: (entry) => seen.push(entry.event ?? '?'), maxEntries: 3 });
    assert.equal(result.stoppedBy, 'max-entries');
    assert.equal(result.entries, 3);
    assert.deepEqual(seen, parseConntrack(events.slice(0, 3).join('\n')).value.map((entry) => entry.event));
  });

  test('stops when aborted, and when the command exits', async () => {
    const h = harness();
    h.standIn('conntrack', `cat '${h.file('events.txt', `${events.join('\n')}\n`)}'\nexec sleep 30`);
    fs.symlinkSync('/bin/sleep', `${h.tools}/sleep`);
    const controller = new AbortController();
    const lines: string[] = [];
    const aborted = await streamConntrackEvents(context(new LocalRunner(h)), 'node-a', {
      signal: controller.signal,
      onLine: (line) => lines.push(line),
      onEntry: (entry) => {
        if (entry.event === 'DESTROY') {
          controller.abort();
        }
      },
    });
    assert.equal(aborted.stoppedBy, 'aborted');
    assert.equal(aborted.entries, events.length);
    assert.deepEqual(lines, events);
    h.standIn('conntrack', `cat '${h.file('events2.txt', `${events[0]}\n`)}'`);
    const exited = await streamConntrackEvents(context(new LocalRunner(h)), 'node-a', { onEntry: () => {} });
    assert.equal(exited.stoppedBy, 'exited');
    assert.equal(exited.entries, 1);
  });
});

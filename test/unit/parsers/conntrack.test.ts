import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConntrackEntry, ConntrackStats } from '../../../src/parsers/conntrack';
import { conntrackSummaryCount, parseConntrack, parseConntrackStats } from '../../../src/parsers/conntrack';
import { guessFormat } from '../../../src/parsers/detect';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';
import { generateConntrackListing } from './generators';

const expectations: Record<string, (entries: ConntrackEntry[], problems: number[]) => void> = {
  'cni-plugins123-gke-conntrack-L-p-udp-orig-port-dst-with-summary.txt': ([entry, ...rest], problems) => {
    assert.equal(rest.length, 0);
    assert.equal(entry.protocol, 'udp');
    assert.equal(entry.timeout, 29);
    assert.deepEqual(entry.original, { src: '10.8.0.19', dst: '10.128.0.71', sport: 33371, dport: 10001 });
    assert.deepEqual(entry.reply, { src: '10.8.0.24', dst: '10.128.0.71', sport: 10001, dport: 33371 }, 'hostPort DNAT to the pod');
    assert.deepEqual(entry.flags, ['UNREPLIED']);
    assert.equal(entry.mark, 0);
    assert.deepEqual(problems, [], 'the summary line is not a problem');
  },
  'k8s126130-gke1.29-kube-proxy-log-conntrack-D-output-tab-indented.txt': (entries, problems) => {
    assert.equal(entries.length, 2);
    assert.deepEqual(entries.map((entry) => [entry.original.dst, entry.original.dport, entry.reply?.src]), [
      ['10.12.201.0', 8125, '10.11.4.22'],
      ['10.12.201.0', 8125, '10.11.4.22'],
    ]);
    assert.deepEqual(problems, [1, 2, 3, 4], 'the kube-proxy log lines are reported');
  },
  'k8s38802-2016-conntrack-L-close-wait-snat.txt': (entries, problems) => {
    assert.equal(entries.length, 7);
    assert.deepEqual(entries.map((entry) => entry.state), ['CLOSE_WAIT', 'CLOSE_WAIT', 'ESTABLISHED', 'CLOSE_WAIT', 'CLOSE_WAIT', 'ESTABLISHED', 'ESTABLISHED']);
    assert.equal(entries[2].timeout, 86388);
    assert.equal(entries[6].original.dst, '10.28.65.157');
    assert.equal(entries[6].reply?.dst, '10.28.65.112', 'the SNAT shows in the reply destination');
    assert.deepEqual(entries[0].flags, ['ASSURED']);
    assert.deepEqual(problems, []);
  },
  'k8s48370-gke-2017-udp-unreplied-dnat-to-endpoint.txt': ([entry], problems) => {
    assert.equal(entry.original.dst, '10.15.240.10');
    assert.equal(entry.reply?.src, '10.12.0.11', 'DNAT to the endpoint');
    assert.deepEqual(problems, []);
  },
  'k8s91216-gce-e2e-conntrack-time-wait-dns-clusterip.txt': (entries, problems) => {
    assert.equal(entries.length, 5);
    assert.ok(entries.every((entry) => entry.state === 'TIME_WAIT'));
    assert.deepEqual(entries.filter((entry) => entry.original.dst === '10.0.0.10').map((entry) => entry.reply?.src), ['10.64.1.6', '10.64.1.6', '10.64.2.4', '10.64.1.6']);
    assert.deepEqual(problems, []);
  },
  'kube-router1865-conntrack-L-o-xml-d-podip-ipip-dsr.txt': ([entry, ...rest], problems) => {
    assert.equal(rest.length, 0);
    assert.equal(entry.family, 'ipv4');
    assert.equal(entry.protocolNumber, 4);
    assert.deepEqual(entry.original, { src: '103.35.124.22', dst: '10.36.0.6', sport: null, dport: null });
    assert.equal(entry.reply?.src, '10.36.0.6');
    assert.equal(entry.timeout, 597);
    assert.equal(entry.id, 3724150459);
    assert.deepEqual(entry.flags, ['UNREPLIED']);
    assert.deepEqual(problems, []);
  },
};

const statsExpectations: Record<string, (stats: ConntrackStats, problems: number[]) => void> = {
  'rke2-3924-conntrack-S-per-cpu.txt': (stats, problems) => {
    assert.equal(stats.cpus.length, 8);
    assert.equal(stats.cpus[3].counters.invalid, 137);
    assert.equal(stats.cpus[6].counters.search_restart, 199);
    assert.equal(stats.totals.invalid, 1 + 1 + 2 + 137 + 140 + 125 + 139 + 4);
    assert.equal(stats.totals.error, 1);
    assert.deepEqual(problems, []);
  },
};

describe('conntrack corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('conntrack', [...Object.keys(expectations), ...Object.keys(statsExpectations)]);
  });
  for (const entry of corpusFiles('conntrack')) {
    test(entry.name, () => {
      if (guessFormat(entry.body, ['conntrack', 'conntrack-stats']) === 'conntrack-stats') {
        const result = parseConntrackStats(entry.body);
        assertWellFormed(result, entry.body);
        assertReadOrExplained(result.value.cpus.length > 0 || result.value.entries !== null, result);
        statsExpectations[entry.name]?.(result.value, problemLines(result));
        return;
      }
      const result = parseConntrack(entry.body);
      assertWellFormed(result, entry.body);
      assertReadOrExplained(result.value.length > 0 || conntrackSummaryCount(entry.body) === 0, result);
      for (const item of result.value) {
        assert.ok(item.original.src.length > 0 && item.original.dst.length > 0);
      }
      expectations[entry.name]?.(result.value, problemLines(result));
    });
  }
});

// Captured on the project machine (conntrack v1.4.7) in an empty namespace after `conntrack -I`:
// `conntrack -L -o extended`, `-o id`, and an `-E -o timestamp` DESTROY line.
const CAPTURED = `ipv6     10 tcp      6 48 TIME_WAIT src=fd00::1 dst=fd00::2 sport=1 dport=2 [UNREPLIED] src=fd00::2 dst=fd00::1 sport=2 dport=1 mark=5 use=1
ipv4     2 tcp      6 98 ESTABLISHED src=198.18.5.1 dst=198.19.0.10 sport=40000 dport=53 [UNREPLIED] src=198.18.6.2 dst=198.18.5.1 sport=53 dport=40000 [ASSURED] mark=0 use=1
tcp      6 98 ESTABLISHED src=198.18.5.1 dst=198.19.0.10 sport=40000 dport=53 [UNREPLIED] src=198.18.6.2 dst=198.18.5.1 sport=53 dport=40000 [ASSURED] mark=0 use=1 id=533806067
udp      17 29 src=198.18.5.1 dst=198.19.0.10 sport=40001 dport=53 [UNREPLIED] src=198.18.6.2 dst=198.18.5.1 sport=53 dport=40001 mark=0 zone=3 use=1
conntrack v1.4.7 (conntrack-tools): 4 flow entries have been shown.
`;

const CAPTURED_XML = `<?xml version="1.0" encoding="utf-8"?>
<conntrack>
<flow><meta direction="original"><layer3 protonum="10" protoname="ipv6"><src>fd00::1</src><dst>fd00::2</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>1</sport><dport>2</dport></layer4></meta><meta direction="reply"><layer3 protonum="10" protoname="ipv6"><src>fd00::2</src><dst>fd00::1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>2</sport><dport>1</dport></layer4></meta><meta direction="independent"><state>TIME_WAIT</state><timeout>48</timeout><mark>5</mark><use>1</use><id>20401300</id><unreplied/></meta></flow>
<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>198.18.5.1</src><dst>198.19.0.10</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>40000</sport><dport>53</dport></layer4></meta><meta direction="reply"><layer3 protonum="2" protoname="ipv4"><src>198.18.6.2</src><dst>198.18.5.1</dst></layer3><layer4 protonum="6" protoname="tcp"><sport>53</sport><dport>40000</dport></layer4></meta><meta direction="independent"><state>ESTABLISHED</state><timeout>98</timeout><mark>0</mark><use>1</use><id>533806067</id><assured/><unreplied/></meta></flow>
</conntrack>
conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.
`;

describe('parseConntrack formats', () => {
  test('-o extended, -o id, zones, IPv6', () => {
    const result = parseConntrack(CAPTURED);
    assert.deepEqual(result.problems, []);
    const [v6, extended, withId, udp] = result.value;
    assert.equal(v6.family, 'ipv6');
    assert.equal(v6.original.src, 'fd00::1');
    assert.equal(v6.mark, 5);
    assert.equal(extended.family, 'ipv4');
    assert.equal(extended.state, 'ESTABLISHED');
    assert.deepEqual(extended.flags, ['UNREPLIED', 'ASSURED']);
    assert.equal(withId.id, 533806067);
    assert.equal(udp.zone, 3);
    assert.equal(conntrackSummaryCount(CAPTURED), 4);
  });
  test('one-line XML flows', () => {
    const result = parseConntrack(CAPTURED_XML);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.value.map((entry) => [entry.protocol, entry.state, entry.original.dport, entry.reply?.src, entry.flags.join(',')]), [
      ['tcp', 'TIME_WAIT', 2, 'fd00::2', 'UNREPLIED'],
      ['tcp', 'ESTABLISHED', 53, '198.18.6.2', 'ASSURED,UNREPLIED'],
    ]);
  });
  test('-E events, with and without -o timestamp; ICMP ids stay in their tuples', () => {
    const text = '[1700000000.123456]\t[DESTROY] udp      17 src=198.18.5.1 dst=198.19.0.10 sport=40001 dport=53 [UNREPLIED] src=198.18.6.2 dst=198.18.5.1 sport=53 dport=40001 zone=3\n    [NEW] icmp     1 30 src=198.18.5.1 dst=198.18.5.2 type=8 code=0 id=77 [UNREPLIED] src=198.18.5.2 dst=198.18.5.1 type=0 code=0 id=77 mark=0 use=1\n [UPDATE] tcp      6 60 SYN_RECV src=198.18.5.1 dst=198.19.0.10 sport=40002 dport=80 src=198.18.6.3 dst=198.18.5.1 sport=8080 dport=40002 mark=0 use=1\n';
    const result = parseConntrack(text);
    assert.deepEqual(result.problems, []);
    const [destroy, icmp, update] = result.value;
    assert.equal(destroy.event, 'DESTROY');
    assert.equal(destroy.timeout, null);
    assert.equal(destroy.timestamp, '1700000000.123456');
    assert.equal(icmp.event, 'NEW');
    assert.deepEqual(icmp.original.extra, { type: '8', code: '0', id: '77' });
    assert.equal(icmp.id, undefined);
    assert.equal(update.event, 'UPDATE');
    assert.equal(update.state, 'SYN_RECV');
    assert.equal(update.reply?.sport, 8080);
  });
  test('262,144 generated entries: counts by protocol and state, a DNAT reply', () => {
    const generated = generateConntrackListing(262_144);
    const result = parseConntrack(generated.text);
    assert.deepEqual(result.problems, []);
    assert.equal(result.value.length, generated.entryCount);
    const byProtocol: Record<string, number> = {};
    const byState: Record<string, number> = {};
    for (const entry of result.value) {
      byProtocol[entry.protocol] = (byProtocol[entry.protocol] ?? 0) + 1;
      if (entry.state !== null) {
        byState[entry.state] = (byState[entry.state] ?? 0) + 1;
      }
    }
    assert.deepEqual(byProtocol, generated.byProtocol);
    assert.deepEqual(byState, generated.byState);
    const sample = result.value[generated.sample.index];
    assert.equal(sample.original.dst, generated.sample.clusterIP);
    assert.equal(sample.original.sport, generated.sample.clientPort);
    assert.equal(sample.reply?.src, generated.sample.backend);
    assert.equal(conntrackSummaryCount(generated.text), generated.entryCount);
  });
  test('garbage lines are problems; statistics lines are pointed to parseConntrackStats', () => {
    const entry = corpusFiles('conntrack').find((item) => item.name.startsWith('k8s48370'));
    assert.ok(entry);
    const { text, lineNumber } = appendLine(entry.body, 'cpu=0 found=0 invalid=1');
    const dirty = appendLine(text, 'tcp six lines');
    const result = parseConntrack(dirty.text);
    assert.deepEqual(result.value, parseConntrack(entry.body).value);
    assert.deepEqual(problemLines(result), [lineNumber, dirty.lineNumber]);
    assert.match(result.problems[0].reason, /parseConntrackStats/);
  });
  test('XML cut short is one problem', () => {
    const cut = CAPTURED_XML.slice(0, CAPTURED_XML.indexOf('</flow>', CAPTURED_XML.indexOf('</flow>') + 1) - 10);
    const result = parseConntrack(cut);
    assert.equal(result.value.length, 1);
    assert.equal(result.problems.length, 1);
  });
});

describe('parseConntrackStats', () => {
  test('conntrack 1.4.7 -S with tab padding and a bare -C count', () => {
    const result = parseConntrackStats('cpu=0   \tfound=0 invalid=0 insert=3 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \ncpu=1   \tfound=0 invalid=2 insert=0 insert_failed=0 drop=5 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n2\n');
    assert.deepEqual(result.problems, []);
    assert.equal(result.value.cpus.length, 2);
    assert.equal(result.value.totals.drop, 5);
    assert.equal(result.value.totals.insert, 3);
    assert.equal(result.value.entries, 2);
  });
});

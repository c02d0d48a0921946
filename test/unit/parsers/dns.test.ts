import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DigResult } from '../../../src/parsers/dig';
import { parseDig, parseNslookup } from '../../../src/parsers/dig';
import type { ResolvConf } from '../../../src/parsers/resolvConf';
import { parseResolvConf } from '../../../src/parsers/resolvConf';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';
import type { CorpusEntry } from './corpusFiles';

function isResolvConf(entry: CorpusEntry): boolean {
  return /resolv\.conf/.test(entry.header.command ?? '') || entry.name.startsWith('resolvconf');
}

const digExpectations: Record<string, (result: DigResult, problems: number[]) => void> = {
  'coredns2027-k8s1.11-dig-srv-clusterip-success.txt': (result, problems) => {
    assert.equal(result.status, 'NOERROR');
    assert.equal(result.server, '10.96.0.10');
    assert.equal(result.serverPort, 53);
    assert.equal(result.queryTimeMs, 0);
    assert.deepEqual(result.answers, [{ name: '_vaultport._tcp.vault.vault.svc.cluster.local.', ttl: 5, class: 'IN', type: 'SRV', data: '0 100 8200 vault.vault.svc.cluster.local.' }]);
    assert.deepEqual(result.additional.map((r) => [r.type, r.data]), [['A', '10.107.214.96']]);
    assert.deepEqual(result.flags, ['qr', 'aa', 'rd', 'ra']);
    assert.equal(result.question?.type, 'SRV');
    assert.equal(result.error, null);
    assert.deepEqual(problems, []);
  },
  'coredns2285-custom-domain-dig-success.txt': (result, problems) => {
    assert.equal(result.status, 'NOERROR');
    assert.equal(result.server, '10.38.44.2');
    assert.deepEqual(result.answers.map((r) => [r.name, r.ttl, r.type, r.data]), [['hello.default.svc.cluster.com.', 3, 'A', '10.38.44.167']]);
    assert.deepEqual(problems, []);
  },
  'k8s90403-microk8s-dig-search-showsearch-nxdomain-soa.txt': (result, problems) => {
    assert.equal(result.status, 'NXDOMAIN');
    assert.deepEqual(result.answers, []);
    assert.deepEqual(result.authority.map((r) => [r.name, r.type]), [['cluster.local.', 'SOA']]);
    assert.equal(result.server, '10.152.183.10');
    assert.equal(result.queryTimeMs, 2);
    assert.equal(result.question?.name, 'qlik-tenants.default.svc.default.svc.cluster.local.');
    assert.ok(result.warnings.includes('recursion requested but not available'));
    assert.ok(result.warnings.some((warning) => warning.startsWith('.local is reserved for Multicast DNS') && warning.includes('You are currently testing')));
    assert.deepEqual(problems, []);
  },
  'k8s93791-nslookup-pod-ip-success.txt': (result, problems) => {
    assert.equal(result.tool, 'nslookup');
    assert.equal(result.status, 'NOERROR');
    assert.equal(result.server, '10.244.1.83');
    assert.deepEqual(result.answers.map((r) => [r.name, r.type, r.data]), [['consul.infra.svc.cluster.local', 'A', '10.109.247.189']]);
    assert.deepEqual(problems, []);
  },
  'kubernetai25-kubespray-flannel-dig-success-10.233.0.3.txt': (result, problems) => {
    assert.equal(result.status, 'NOERROR');
    assert.equal(result.server, '10.233.0.3');
    assert.deepEqual(result.answers.map((r) => r.data), ['10.233.41.113']);
    assert.deepEqual(problems, []);
  },
};

const resolvExpectations: Record<string, (result: ResolvConf, problems: number[]) => void> = {
  'resolvconf-draymonders9-standard-clusterfirst.txt': (result, problems) => {
    assert.deepEqual(result.nameservers, ['10.96.0.10']);
    assert.deepEqual(result.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    assert.deepEqual(result.options, { ndots: 5 });
    assert.deepEqual(problems, []);
  },
  'resolvconf-k8s44833-1.6-flannel-search-with-host-nameserver-ips.txt': (result, problems) => {
    assert.deepEqual(result.nameservers, ['10.96.0.10']);
    assert.deepEqual(result.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', '10.0.80.11', '10.0.80.12']);
    assert.equal(result.options.ndots, 5);
    assert.deepEqual(problems, [1], "the poster's note after the nameserver is reported");
  },
};

describe('DNS corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('dns', [...Object.keys(digExpectations), ...Object.keys(resolvExpectations)]);
  });
  for (const entry of corpusFiles('dns')) {
    test(entry.name, () => {
      if (isResolvConf(entry)) {
        const result = parseResolvConf(entry.body);
        assertWellFormed(result, entry.body);
        assertReadOrExplained(result.value.nameservers.length + result.value.search.length > 0, result);
        resolvExpectations[entry.name]?.(result.value, problemLines(result));
        return;
      }
      const result = parseDig(entry.body);
      assertWellFormed(result, entry.body);
      const value = result.value;
      assertReadOrExplained(value.status !== null || value.error !== null || value.answers.length > 0, result);
      if (/^Server:\s/m.test(entry.body)) {
        assert.equal(value.tool, 'nslookup');
      }
      digExpectations[entry.name]?.(value, problemLines(result));
    });
  }
});

// Captured on the project machine (DiG 9.18.49-1~deb12u3-Debian) against a closed port in an empty namespace.
const DIG_918_REFUSED = `;; communications error to 127.0.0.2#5353: connection refused
;; communications error to 127.0.0.2#5353: connection refused

; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +time=1 +tries=2 @127.0.0.2 -p 5353 kubernetes.default
; (1 server found)
;; global options: +cmd
;; no servers could be reached
`;

describe('dig failures', () => {
  test('dig 9.18 communications error: no status, the error says why', () => {
    const result = parseDig(DIG_918_REFUSED);
    assert.equal(result.value.status, null);
    assert.ok(result.value.error?.includes('communications error to 127.0.0.2#5353: connection refused'));
    assert.ok(result.value.error?.includes('no servers could be reached'));
    assert.deepEqual(result.problems, []);
  });
  test('older dig timeout line', () => {
    const text = '\n; <<>> DiG 9.11.3 <<>> kubernetes.default\n;; global options: +cmd\n;; connection timed out; no servers could be reached\n';
    const result = parseDig(text);
    assert.equal(result.value.status, null);
    assert.equal(result.value.error, 'connection timed out; no servers could be reached');
    assert.deepEqual(result.problems, []);
  });
  test('garbage after a reply is a problem; the reply is unchanged', () => {
    const entry = corpusFiles('dns').find((item) => item.name.startsWith('coredns2285'));
    assert.ok(entry);
    const { text, lineNumber } = appendLine(entry.body, 'this is not dig output');
    const dirty = parseDig(text);
    assert.deepEqual(dirty.value, parseDig(entry.body).value);
    assert.deepEqual(problemLines(dirty), [lineNumber]);
  });
  test('+short output', () => {
    const result = parseDig('10.96.0.1\n');
    assert.equal(result.value.tool, 'dig-short');
    assert.deepEqual(result.value.answers.map((r) => [r.type, r.data]), [['A', '10.96.0.1']]);
  });
});

describe('nslookup', () => {
  test('NXDOMAIN', () => {
    const result = parseNslookup('Server:\t\t10.96.0.10\nAddress:\t10.96.0.10#53\n\n** server can\'t find nope.default.svc.cluster.local: NXDOMAIN\n');
    assert.equal(result.value.status, 'NXDOMAIN');
    assert.equal(result.value.server, '10.96.0.10');
    assert.deepEqual(result.value.answers, []);
    assert.deepEqual(result.problems, []);
  });
  test('timeout', () => {
    const result = parseNslookup(';; connection timed out; no servers could be reached\n\n');
    assert.equal(result.value.status, null);
    assert.equal(result.value.error, 'connection timed out; no servers could be reached');
  });
});

describe('resolv.conf', () => {
  test('options without values are true, later values win, comments are skipped', () => {
    const result = parseResolvConf('# generated\nnameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:2 rotate\noptions ndots:5 timeout:x\n');
    assert.deepEqual(result.value.nameservers, ['10.96.0.10', 'fd00::a']);
    assert.deepEqual(result.value.options, { ndots: 5, rotate: true, timeout: 'x' });
    assert.deepEqual(result.problems, []);
  });
  test('unknown keywords and bad addresses are problems', () => {
    const result = parseResolvConf('nameserver not-an-ip\nfrobnicate yes\n');
    assert.deepEqual(result.value.nameservers, []);
    assert.deepEqual(problemLines(result), [1, 2]);
  });
});

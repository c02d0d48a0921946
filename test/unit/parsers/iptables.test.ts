import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { guessFormat } from '../../../src/parsers/detect';
import type { KubeProxyService } from '../../../src/parsers/kubeProxyServices';
import type { IptablesList } from '../../../src/parsers/iptablesList';
import { parseIptablesList } from '../../../src/parsers/iptablesList';
import type { IptablesSave } from '../../../src/parsers/iptablesSave';
import { parseIptablesSave } from '../../../src/parsers/iptablesSave';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';
import { generateKubeProxyIptablesSave } from './generators';

function service(services: KubeProxyService[], name: string, portName: string | null, protocol?: string): KubeProxyService {
  const found = services.find((item) => item.service === name && item.portName === portName && (protocol === undefined || item.protocol === protocol));
  assert.ok(found, `service ${name}:${portName ?? ''} ${protocol ?? ''}`);
  return found;
}

const saveExpectations: Record<string, (value: IptablesSave, problems: number[]) => void> = {
  'calico3835-ipv6-ip6tables-save-c-v1.4.21-redacted-addrs.txt': (value, problems) => {
    const nat = value.tables.find((table) => table.name === 'nat');
    assert.ok(nat);
    assert.equal(nat.chains.find((chain) => chain.name === 'OUTPUT')?.counters?.packets, 6);
    const sep = nat.chains.find((chain) => chain.name === 'KUBE-SEP-6B5SP7D5ASD3CW5Y');
    assert.equal(sep?.rules[0].target, 'DNAT');
    assert.equal(sep?.rules[0].raw, '-A KUBE-SEP-6B5SP7D5ASD3CW5Y -p tcp -m tcp -j DNAT --to-destination [xxxx:xxx:xxx:x::111]:6443');
    const filter = value.tables[0];
    assert.equal(filter.implicit, true, 'the dump began inside the filter table');
    const first = filter.chains[0].rules[0];
    assert.equal(first.chain, 'cali-wl-to-host');
    assert.equal(first.comment, 'cali:Fl5LHxdlOnUNgCc4');
    assert.deepEqual(filter.chains[0].rules[4].counters, { packets: 25744654, bytes: 3594429712 });
    assert.deepEqual(problems, []);
  },
  'k8s114470-kind-1.26-KUBE-EXT-iptables-save-fragment.txt': (value, problems) => {
    assert.equal(value.tables.length, 1);
    assert.equal(value.tables[0].name, 'nat', 'DNAT and MASQUERADE make the implicit table nat');
    const nodeport = service(value.services, 'default/nodeport-service', null);
    assert.deepEqual(nodeport.nodePorts, [31964]);
    assert.equal(nodeport.svcChain, 'KUBE-SVC-QATUYZLPU4I4HE4S', 'the KUBE-EXT chain leads to its KUBE-SVC chain');
    const masquerade = value.tables[0].chains.find((chain) => chain.name === 'KUBE-POSTROUTING')?.rules[2];
    assert.equal(masquerade?.target, 'MASQUERADE');
    assert.equal(masquerade?.comment, 'kubernetes service traffic requiring SNAT');
    assert.deepEqual(problems, []);
  },
  'k8s36835-1.3.6-ubuntu1604-iptables-1.6.0-nat-head.txt': (value, problems) => {
    assert.equal(value.tables.length, 1);
    const nat = value.tables[0];
    assert.equal(nat.name, 'nat');
    assert.equal(nat.chains.length, 16);
    assert.equal(nat.chains.find((chain) => chain.name === 'PREROUTING')?.policy, 'ACCEPT');
    assert.deepEqual(nat.chains.find((chain) => chain.name === 'PREROUTING')?.counters, { packets: 23, bytes: 1304 });
    assert.equal(nat.chains.find((chain) => chain.name === 'KUBE-SVC-52I4NKETLMIO5ZQJ')?.policy, null);
    assert.deepEqual(nat.chains.find((chain) => chain.name === 'POSTROUTING')?.rules.map((rule) => rule.target), ['KUBE-POSTROUTING', 'MASQUERADE']);
    assert.deepEqual(problems, [1], "iptables-save's complaint about -L is reported");
  },
  'k8s47533-1.6-flannel-session-affinity-recent-module.txt': (value, problems) => {
    const kubernetes = service(value.services, 'default/kubernetes', 'https');
    assert.equal(kubernetes.clusterIP, '10.96.0.1');
    assert.equal(kubernetes.port, 443);
    assert.equal(kubernetes.protocol, 'tcp');
    assert.equal(kubernetes.svcChain, 'KUBE-SVC-NPX46M4PTMTKRN6Y');
    assert.equal(kubernetes.sessionAffinity, true);
    assert.deepEqual(kubernetes.endpoints.map((endpoint) => endpoint.sepChain), ['KUBE-SEP-6FZLAPUAJM6OKK6A'], 'the recent-check rule is not a second endpoint');
    const dns = service(value.services, 'kube-system/kube-dns', 'dns');
    assert.equal(dns.clusterIP, '10.96.0.10');
    assert.equal(dns.protocol, 'udp');
    assert.equal(dns.svcChain, 'KUBE-SVC-TCOU7JCQXEZGVUNU');
    assert.deepEqual(service(value.services, 'kube-system/kube-dns', 'dns-tcp').endpoints.map((endpoint) => endpoint.sepChain), ['KUBE-SEP-IT2ZTR26TO4XFPTO']);
    assert.deepEqual(problems, []);
  },
  'python-iptables306-centos8-calico-iptables-t-nat-S.txt': (value, problems) => {
    const table = value.tables[0];
    assert.equal(table.implicit, true);
    assert.equal(table.name, 'nat');
    assert.equal(table.chains.find((chain) => chain.name === 'PREROUTING')?.policy, 'ACCEPT');
    assert.ok(table.chains.some((chain) => chain.name === 'CNI-DN-38f4d538cd34246b81019'));
    assert.deepEqual(table.chains.find((chain) => chain.name === 'PREROUTING')?.rules.map((rule) => rule.target), ['cali-PREROUTING', 'CNI-HOSTPORT-DNAT']);
    assert.equal(table.chains.find((chain) => chain.name === 'POSTROUTING')?.rules[1].comment, 'CNI portfwd requiring masquerade');
    assert.deepEqual(problems, []);
  },
};

const listExpectations: Record<string, (value: IptablesList, problems: number[]) => void> = {
  'flannel-docker-iptables-t-nat-L-n-full.txt': (value, problems) => {
    assert.equal(value.chains.length, 20);
    assert.equal(value.chains.find((chain) => chain.name === 'KUBE-MARK-MASQ')?.references, 11);
    assert.equal(value.chains.find((chain) => chain.name === 'PREROUTING')?.policy, 'ACCEPT');
    const dns = service(value.services, 'kube-system/kube-dns', 'dns', 'udp');
    assert.equal(dns.clusterIP, '10.96.0.10');
    assert.equal(dns.port, 53);
    assert.equal(dns.svcChain, 'KUBE-SVC-TCOU7JCQXEZGVUNU');
    assert.deepEqual(dns.endpoints.map((endpoint) => [endpoint.sepChain, endpoint.probability, endpoint.dnatTo]), [
      ['KUBE-SEP-AZ26OUDW2ONMCF3B', 0.5, '10.244.0.24:53'],
      ['KUBE-SEP-NQYSJ3QY2ADXHRG3', null, '10.244.0.25:53'],
    ]);
    assert.deepEqual(dns.endpoints.map((endpoint) => endpoint.share), [0.5, 0.5]);
    const nginx = service(value.services, 'default/nginx-svc', null);
    assert.equal(nginx.clusterIP, '10.108.205.52');
    assert.deepEqual(nginx.nodePorts, [30080]);
    assert.deepEqual(nginx.endpoints.map((endpoint) => endpoint.dnatTo), ['10.244.1.3:80']);
    assert.deepEqual(service(value.services, 'default/kubernetes', 'https').endpoints.map((endpoint) => endpoint.dnatTo), ['172.20.0.70:6443']);
    const masq = value.chains.find((chain) => chain.name === 'KUBE-SERVICES')?.rules[0];
    assert.equal(masq?.source, '!10.244.0.0/16');
    assert.equal(masq?.comment, 'default/kubernetes:https cluster IP');
    assert.deepEqual(problems, []);
  },
  'inquisitivefrog-1.28-iptables-L-filter-no-endpoints-reject.txt': (value, problems) => {
    assert.deepEqual(value.services.map((item) => [item.service, item.portName, item.protocol, item.clusterIP, item.port, item.noEndpoints]), [
      ['kube-system/kube-dns', 'dns-tcp', 'tcp', '10.96.0.10', 53, true],
      ['kube-system/kube-dns', 'metrics', 'tcp', '10.96.0.10', 9153, true],
      ['kube-system/kube-dns', 'dns', 'udp', '10.96.0.10', 53, true],
    ]);
    const firewall = value.chains.find((chain) => chain.name === 'KUBE-FIREWALL')?.rules[0];
    assert.equal(firewall?.source, '!localhost/8');
    assert.equal(firewall?.extra, '/* block incoming localnet connections */ ! ctstate RELATED,ESTABLISHED,DNAT');
    assert.equal(value.chains.find((chain) => chain.name === 'KUBE-SERVICES')?.rules.length, 3);
    assert.deepEqual(problems, []);
  },
};

function isList(text: string): boolean {
  return guessFormat(text, ['iptables-save', 'iptables-list']) === 'iptables-list';
}

describe('iptables corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('iptables', [...Object.keys(saveExpectations), ...Object.keys(listExpectations)]);
  });
  for (const entry of corpusFiles('iptables')) {
    test(entry.name, () => {
      if (isList(entry.body)) {
        const result = parseIptablesList(entry.body);
        assertWellFormed(result, entry.body);
        assertReadOrExplained(result.value.chains.length > 0, result);
        listExpectations[entry.name]?.(result.value, problemLines(result));
        return;
      }
      const result = parseIptablesSave(entry.body);
      assertWellFormed(result, entry.body);
      assertReadOrExplained(result.value.tables.some((table) => table.chains.length > 0), result);
      for (const table of result.value.tables) {
        for (const chain of table.chains) {
          for (const rule of chain.rules) {
            assert.equal(rule.chain, chain.name);
            assert.ok(entry.body.includes(rule.raw), 'raw is the text of the rule');
          }
        }
      }
      saveExpectations[entry.name]?.(result.value, problemLines(result));
    });
  }
});

describe('parseIptablesSave', () => {
  test('a generated 100,000-line kube-proxy dump: every service, endpoint and DNAT target', () => {
    const dump = generateKubeProxyIptablesSave(100_000);
    assert.ok(dump.lineCount >= 100_000);
    const result = parseIptablesSave(dump.text);
    assert.deepEqual(result.problems, []);
    const nat = result.value.tables.find((table) => table.name === 'nat');
    assert.ok(nat);
    assert.equal(nat.chains.length, dump.natChainCount);
    assert.equal(nat.chains.reduce((sum, chain) => sum + chain.rules.length, 0), dump.natRuleCount);
    assert.equal(result.value.services.length, dump.services.length);
    const byChain = new Map(result.value.services.map((item) => [item.svcChain, item]));
    for (const expected of dump.services) {
      const actual = byChain.get(expected.svcChain);
      assert.ok(actual, expected.svcChain);
      assert.equal(actual.service, expected.service);
      assert.equal(actual.portName, expected.portName);
      assert.equal(actual.clusterIP, expected.clusterIP);
      assert.equal(actual.port, expected.port);
      assert.equal(actual.protocol, expected.protocol);
      assert.deepEqual(actual.endpoints.map((endpoint) => [endpoint.sepChain, endpoint.dnatTo]), expected.endpoints.map((endpoint) => [endpoint.sepChain, endpoint.dnatTo]));
      const shares = actual.endpoints.map((endpoint) => endpoint.share ?? 0);
      assert.ok(Math.abs(shares.reduce((sum, share) => sum + share, 0) - 1) < 1e-6, 'shares add up to 1');
    }
  });
  test('garbage lines are problems; the rest is unchanged', () => {
    const entry = corpusFiles('iptables').find((item) => item.name.startsWith('k8s47533'));
    assert.ok(entry);
    const { text, lineNumber } = appendLine(entry.body, 'this is not iptables');
    const result = parseIptablesSave(text);
    assert.deepEqual(result.value, parseIptablesSave(entry.body).value);
    assert.deepEqual(problemLines(result), [lineNumber]);
  });
  test('quoted comments with escaped quotes and spaces', () => {
    const result = parseIptablesSave('*filter\n-A INPUT -m comment --comment "a \\"quoted\\" word" -j ACCEPT\nCOMMIT\n');
    assert.equal(result.value.tables[0].chains[0].rules[0].comment, 'a "quoted" word');
    assert.equal(result.value.tables[0].chains[0].rules[0].target, 'ACCEPT');
  });
  test('an unterminated quote or a pathological line does not hang or throw', () => {
    const long = `-A X -m comment --comment "${'\\'.repeat(50_000)}${'"'.repeat(3)} ${'-j '.repeat(20_000)}`;
    const result = parseIptablesSave(long);
    assert.equal(result.value.tables[0].chains[0].name, 'X');
  });
});

// Captured on the project machine: iptables v1.8.9 (nf_tables) `iptables -t nat -L -n -v --line-numbers`
// prints protocol numbers and a blank target for a rule without -j.
const IPTABLES_189_LIST = `Chain KUBE-SEP-X1 (2 references)
num   pkts bytes target     prot opt in     out     source               destination         
1        0     0 DNAT       17   --  *      *       0.0.0.0/0            0.0.0.0/0            /* kube-system/kube-dns:dns */ udp to:198.18.1.2:53
2        0     0            6    --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:80

Chain KUBE-SERVICES (1 references)
num   pkts bytes target     prot opt in     out     source               destination         
1        0     0 KUBE-SVC-ABC  17   --  *      *       0.0.0.0/0            198.19.0.10          /* kube-system/kube-dns:dns cluster IP */ udp dpt:53

Chain KUBE-SVC-ABC (1 references)
num   pkts bytes target     prot opt in     out     source               destination         
1        0     0 KUBE-SEP-X1  0    --  *      *       0.0.0.0/0            0.0.0.0/0            /* kube-system/kube-dns:dns -> 198.18.1.2:53 */ statistic mode random probability 0.50000000000
2        0     0 KUBE-SEP-X2  0    --  *      *       0.0.0.0/0            0.0.0.0/0            /* kube-system/kube-dns:dns -> 198.18.1.3:53 */
3        0     0 KUBE-SEP-X1  0    --  *      *       0.0.0.0/0            0.0.0.0/0            recent: CHECK seconds: 10800 reap name: KUBE-SEP-X1 side: source mask: 255.255.255.255
`;

describe('parseIptablesList', () => {
  test('iptables 1.8.9 -v --line-numbers: numbers, blank targets, protocol numbers', () => {
    const result = parseIptablesList(IPTABLES_189_LIST);
    assert.deepEqual(result.problems, []);
    const sep = result.value.chains[0];
    assert.equal(sep.rules[1].target, null);
    assert.equal(sep.rules[1].prot, '6');
    assert.equal(sep.rules[1].num, 2);
    assert.equal(sep.rules[0].in, '*');
    const dns = service(result.value.services, 'kube-system/kube-dns', 'dns');
    assert.equal(dns.protocol, 'udp');
    assert.equal(dns.clusterIP, '198.19.0.10');
    assert.equal(dns.sessionAffinity, true);
    assert.deepEqual(dns.endpoints.map((endpoint) => endpoint.sepChain), ['KUBE-SEP-X1', 'KUBE-SEP-X2']);
    assert.equal(dns.endpoints[0].dnatTo, '198.18.1.2:53');
  });
  test('K/M counters', () => {
    const text = 'Chain PREROUTING (policy ACCEPT 91 packets, 17780 bytes)\n pkts bytes target     prot opt in     out     source               destination\n 3102  597K KUBE-SERVICES  all  --  *      *       0.0.0.0/0            0.0.0.0/0            /* kubernetes service portals */\n';
    const result = parseIptablesList(text);
    assert.deepEqual(result.problems, []);
    assert.equal(result.value.chains[0].packets, 91);
    assert.equal(result.value.chains[0].rules[0].bytes, 597_000);
    assert.equal(result.value.chains[0].rules[0].comment, 'kubernetes service portals');
  });
  test('garbage rows are problems', () => {
    const result = parseIptablesList('Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\nbogus\nline before\n');
    assert.deepEqual(problemLines(result), [3, 4]);
  });
});

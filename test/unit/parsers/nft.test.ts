import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NftRuleset, NftTable } from '../../../src/parsers/nft';
import { parseNft } from '../../../src/parsers/nft';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';
import { generateKubeProxyNft } from './generators';

function chain(table: NftTable | undefined, name: string) {
  const found = table?.chains.find((item) => item.name === name);
  assert.ok(found, `chain ${name}`);
  return found;
}

const expectations: Record<string, (value: NftRuleset, problems: number[]) => void> = {
  'calico8025-k3s-flannel-calico-nft-list-ruleset-partial.txt': (value, problems) => {
    assert.equal(value.tables.length, 2);
    const [partial, nat] = value.tables;
    assert.equal(partial.implicit, true, 'the excerpt starts inside a table');
    const output = chain(partial, 'OUTPUT');
    assert.equal(output.hook, 'output');
    assert.equal(output.priority, 'filter');
    assert.equal(output.policy, 'accept');
    assert.deepEqual(output.rules.map((rule) => rule.target ?? rule.verdict), ['KUBE-PROXY-FIREWALL', 'KUBE-SERVICES', 'KUBE-FIREWALL', 'accept']);
    assert.deepEqual(output.rules[0].counter, { packets: 17904, bytes: 1095462 });
    assert.equal(chain(partial, 'KUBE-FORWARD').rules[1].raw, 'meta mark & 0x00004000 == 0x00004000 counter packets 0 bytes 0 accept');
    assert.equal(chain(partial, 'KUBE-SERVICES').rules.length, 0);
    assert.equal(nat.family, 'ip');
    assert.equal(nat.name, 'nat');
    const prerouting = chain(nat, 'PREROUTING');
    assert.equal(prerouting.priority, 'dstnat');
    assert.deepEqual(prerouting.rules.map((rule) => rule.target ?? rule.verdict), ['cali-PREROUTING', 'KUBE-SERVICES', 'redirect']);
    assert.deepEqual(problems, []);
  },
  'firewalld767-fedora33-kubespray-crio-calico-nft-filter-FORWARD.txt': (value, problems) => {
    const forward = chain(value.tables[0], 'FORWARD');
    assert.equal(forward.policy, 'accept');
    assert.deepEqual(forward.rules.map((rule) => rule.target ?? rule.verdict), ['cali-FORWARD', 'accept']);
    assert.deepEqual(forward.rules[1].counter, { packets: 3, bytes: 180 });
    assert.deepEqual(problems, []);
  },
  'k8s97283-rhel8-calico-nft-backend-nft-list-table-ip-filter.txt': (value, problems) => {
    const table = value.tables[0];
    assert.equal(table.name, 'filter');
    assert.equal(chain(table, 'FORWARD').policy, 'drop');
    assert.deepEqual(chain(table, 'INPUT').rules.map((rule) => rule.target), ['cali-INPUT', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FIREWALL']);
    assert.equal(chain(table, 'FORWARD').rules.length, 8);
    assert.deepEqual(problems, [], 'the cut-off table (no closing brace) is not an error');
  },
  'kubeadm-gce-flannel-nft-list-table-flannel-ipv4.txt': (value, problems) => {
    const table = value.tables[0];
    assert.equal(table.name, 'flannel-ipv4');
    assert.equal(table.comment, 'rules for flannel-ipv4');
    const postrouting = chain(table, 'postrtg');
    assert.equal(postrouting.comment, 'chain to manage traffic masquerading by flannel');
    assert.equal(postrouting.type, 'nat');
    assert.equal(postrouting.priority, 'srcnat');
    assert.equal(postrouting.rules.length, 6);
    assert.equal(postrouting.rules[4].verdict, 'masquerade');
    assert.deepEqual(problems, []);
  },
  'saifsust-iptables-nft-KUBE-SERVICES-chain-node01.txt': (value, problems) => {
    const services = chain(value.tables[0], 'KUBE-SERVICES');
    assert.deepEqual(services.rules.map((rule) => rule.target), ['KUBE-SVC-ERIFXISQEP7F7OF4', 'KUBE-SVC-NPX46M4PTMTKRN6Y', 'KUBE-SVC-JD5MR3NA4I4DYORP', 'KUBE-SVC-TCOU7JCQXEZGVUNU', 'KUBE-NODEPORTS']);
    assert.deepEqual(services.rules[4].counter, { packets: 7, bytes: 696 });
    assert.deepEqual(problems, []);
  },
};

describe('nftables corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('nftables', Object.keys(expectations));
  });
  for (const entry of corpusFiles('nftables')) {
    test(entry.name, () => {
      const result = parseNft(entry.body);
      assertWellFormed(result, entry.body);
      assertReadOrExplained(result.value.tables.some((table) => table.chains.length > 0 || table.maps.length > 0 || table.sets.length > 0), result);
      expectations[entry.name]?.(result.value, problemLines(result));
    });
  }
});

// Captured on the project machine: nft v1.0.6 `nft -a list table ip kube-proxy` after loading kube-proxy's
// own rule syntax (from pkg/proxy/nftables) for a few services; trimmed to the parts these tests read.
const KUBE_PROXY_TABLE = `table ip kube-proxy { # handle 1
	comment "rules for kube-proxy"
	set cluster-ips { # handle 1
		type ipv4_addr
		comment "Active ClusterIPs"
		elements = { 172.30.0.41 }
	}

	map no-endpoint-services { # handle 4
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "vmap to drop or reject packets to services with no endpoints"
		elements = { 172.30.0.46 . tcp . 80 comment "ns6/svc6:p80" : goto reject-chain }
	}

	map service-ips { # handle 5
		type ipv4_addr . inet_proto . inet_service : verdict
		comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
		elements = { 172.30.0.43 . udp . 53 : goto service-ONEEP000-ns2/one/udp/,
			     198.18.99.33 . tcp . 80 : goto external-ULMVA6XW-ns1/svc1/tcp/p80,
			     172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80,
			     172.30.0.42 . tcp . 80 : goto service-NEWFMT00-ns2/web/tcp/http,
			     172.30.0.45 . tcp . 80 : goto service-AFFINITY-ns5/svc5/tcp/p80 }
	}

	map service-nodeports { # handle 6
		type inet_proto . inet_service : verdict
		comment "NodePort traffic"
		elements = { tcp . 30080 : goto external-ULMVA6XW-ns1/svc1/tcp/p80 }
	}

	set affinity-XYZ-ns5/svc5/tcp/p80__10.180.0.3/80 { # handle 7
		type ipv4_addr
		size 65535
		flags dynamic,timeout
		timeout 3h
	}

	chain nat-prerouting { # handle 10
		type nat hook prerouting priority dstnat; policy accept;
		jump services # handle 26
	}

	chain services { # handle 13
		ip daddr . meta l4proto . th dport vmap @service-ips # handle 29
		ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports # handle 30
	}

	chain service-ULMVA6XW-ns1/svc1/tcp/p80 { # handle 16
		ip daddr 172.30.0.41 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade # handle 33
		numgen random mod 2 vmap { 0 : goto endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80, 1 : goto endpoint-AAAAAAAA-ns1/svc1/tcp/p80__10.180.0.2/8080 } # handle 35
	}

	chain endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80 { # handle 17
		ip saddr 10.180.0.1 jump mark-for-masquerade # handle 36
		meta l4proto tcp dnat to 10.180.0.1:80 # handle 37
	}

	chain endpoint-AAAAAAAA-ns1/svc1/tcp/p80__10.180.0.2/8080 { # handle 18
		ip saddr 10.180.0.2 jump mark-for-masquerade # handle 38
		meta l4proto tcp dnat to 10.180.0.2:8080 # handle 39
	}

	chain external-ULMVA6XW-ns1/svc1/tcp/p80 { # handle 19
		jump mark-for-masquerade # handle 40
		goto service-ULMVA6XW-ns1/svc1/tcp/p80 # handle 41
	}

	chain service-NEWFMT00-ns2/web/tcp/http { # handle 20
		ip daddr 172.30.0.42 tcp dport 80 ip saddr != 10.0.0.0/8 jump mark-for-masquerade # handle 42
		meta l4proto tcp dnat ip to numgen random mod 3 map { 0 : 10.180.1.5 . 8080, 1 : 10.180.2.7 . 8080, 2 : 10.180.3.9 . 8080 } # handle 44
	}

	chain service-ONEEP000-ns2/one/udp/ { # handle 21
		meta l4proto udp dnat to 10.180.4.4:5353 # handle 45
	}

	chain service-AFFINITY-ns5/svc5/tcp/p80 { # handle 22
		ip saddr @affinity-XYZ-ns5/svc5/tcp/p80__10.180.0.3/80 goto endpoint-GGGG-ns5/svc5/tcp/p80__10.180.0.3/80 # handle 46
		numgen random mod 1 vmap { 0 : goto endpoint-GGGG-ns5/svc5/tcp/p80__10.180.0.3/80 } # handle 48
	}

	chain endpoint-GGGG-ns5/svc5/tcp/p80__10.180.0.3/80 { # handle 23
		ip saddr 10.180.0.3 jump mark-for-masquerade # handle 49
		update @affinity-XYZ-ns5/svc5/tcp/p80__10.180.0.3/80 { ip saddr } # handle 50
		meta l4proto tcp dnat to 10.180.0.3:80 # handle 51
	}
}
`;

describe('parseNft: kube-proxy nftables mode', () => {
  const result = parseNft(KUBE_PROXY_TABLE);
  const byName = (name: string) => {
    const found = result.value.services.find((item) => item.service === name);
    assert.ok(found, name);
    return found;
  };
  test('no problems; handles read', () => {
    assert.deepEqual(result.problems, []);
    const table = result.value.tables[0];
    assert.equal(table.handle, 1);
    assert.equal(chain(table, 'services').handle, 13);
    assert.equal(chain(table, 'services').rules[0].handle, 29);
    assert.equal(table.maps.find((map) => map.name === 'service-ips')?.elements.length, 5, 'elements wrapped over lines');
  });
  test('per-endpoint chains with a numgen vmap', () => {
    const svc1 = byName('ns1/svc1');
    assert.equal(svc1.portName, 'p80');
    assert.equal(svc1.clusterIP, '172.30.0.41');
    assert.equal(svc1.port, 80);
    assert.equal(svc1.protocol, 'tcp');
    assert.equal(svc1.svcChain, 'service-ULMVA6XW-ns1/svc1/tcp/p80');
    assert.deepEqual(svc1.externalIPs, ['198.18.99.33']);
    assert.deepEqual(svc1.nodePorts, [30080]);
    assert.deepEqual(svc1.endpoints.map((endpoint) => [endpoint.sepChain, endpoint.probability, endpoint.dnatTo]), [
      ['endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80', 0.5, '10.180.0.1:80'],
      ['endpoint-AAAAAAAA-ns1/svc1/tcp/p80__10.180.0.2/8080', 0.5, '10.180.0.2:8080'],
    ]);
  });
  test('squashed dnat map (newer kube-proxy)', () => {
    const web = byName('ns2/web');
    assert.deepEqual(web.endpoints.map((endpoint) => [endpoint.sepChain, endpoint.dnatTo]), [
      [null, '10.180.1.5:8080'],
      [null, '10.180.2.7:8080'],
      [null, '10.180.3.9:8080'],
    ]);
  });
  test('one endpoint DNATed in the service chain; unnamed port', () => {
    const one = byName('ns2/one');
    assert.equal(one.portName, null);
    assert.equal(one.protocol, 'udp');
    assert.equal(one.clusterIP, '172.30.0.43');
    assert.deepEqual(one.endpoints.map((endpoint) => endpoint.dnatTo), ['10.180.4.4:5353']);
  });
  test('session affinity', () => {
    const svc5 = byName('ns5/svc5');
    assert.equal(svc5.sessionAffinity, true);
    assert.deepEqual(svc5.endpoints.map((endpoint) => endpoint.dnatTo), ['10.180.0.3:80']);
  });
  test('a service without endpoints from no-endpoint-services', () => {
    const svc6 = byName('ns6/svc6');
    assert.equal(svc6.noEndpoints, true);
    assert.equal(svc6.portName, 'p80');
    assert.deepEqual(svc6.endpoints, []);
  });
});

describe('parseNft: generated and broken input', () => {
  test('a generated kube-proxy table of 2,000 services', () => {
    const generated = generateKubeProxyNft(2000);
    const result = parseNft(generated.text);
    assert.deepEqual(result.problems, []);
    assert.equal(result.value.services.length, generated.services.length);
    for (const expected of generated.services) {
      const actual = result.value.services.find((item) => item.svcChain === expected.svcChain);
      assert.ok(actual, expected.svcChain);
      assert.equal(actual.service, expected.service);
      assert.equal(actual.clusterIP, expected.clusterIP);
      assert.equal(actual.port, expected.port);
      assert.deepEqual(actual.endpoints.map((endpoint) => endpoint.dnatTo), expected.dnatTo);
    }
  });
  test('garbage and stray braces are problems', () => {
    const entry = corpusFiles('nftables').find((item) => item.name.startsWith('kubeadm-gce'));
    assert.ok(entry);
    const { text, lineNumber } = appendLine(entry.body, 'this is not nft');
    const result = parseNft(`${text}}\n`);
    assert.deepEqual(result.value.tables, parseNft(entry.body).value.tables);
    assert.deepEqual(problemLines(result), [lineNumber, lineNumber + 1]);
  });
  test('an unclosed elements list is reported at its first line', () => {
    const result = parseNft('table ip t {\n\tset s {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.1,\n');
    assert.deepEqual(problemLines(result), [4]);
  });
});

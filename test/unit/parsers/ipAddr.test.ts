import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IpInterface } from '../../../src/parsers/ipAddr';
import { parseIpAddr } from '../../../src/parsers/ipAddr';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';

function byName(interfaces: IpInterface[], name: string): IpInterface {
  const found = interfaces.find((item) => item.name === name);
  assert.ok(found, `interface ${name} present`);
  return found;
}

/** What each corpus file visibly shows (read from the files by hand). */
const expectations: Record<string, (interfaces: IpInterface[], problems: number[]) => void> = {
  'calico-k8s-exec-plugin133-kubectl-exec-ip-a-ls-segfault-partial.txt': (interfaces, problems) => {
    assert.equal(interfaces.length, 1);
    assert.deepEqual(interfaces[0].addresses.map((a) => `${a.address}/${a.prefixLength}`), ['127.0.0.1/8']);
    assert.deepEqual(problems, [5], 'the kubectl error line is reported');
  },
  'calicoctl1634-k8s1.6-nsenter-pod-netns-no-eth0-tunl0-none.txt': (interfaces, problems) => {
    assert.deepEqual(interfaces.map((item) => item.name), ['lo', 'tunl0']);
    const tunl0 = byName(interfaces, 'tunl0');
    assert.equal(tunl0.link, 'NONE');
    assert.equal(tunl0.peerIndex, null);
    assert.equal(tunl0.state, 'DOWN');
    assert.equal(tunl0.mtu, 1480);
    assert.equal(tunl0.mac, null);
    assert.equal(tunl0.linkType, 'ipip');
    assert.deepEqual(byName(interfaces, 'lo').addresses.map((a) => `${a.family} ${a.address}/${a.prefixLength}`), ['inet 127.0.0.1/8', 'inet6 ::1/128']);
    assert.deepEqual(problems, []);
  },
  'cilium-k3s-node-ip-link-lxc-link-netns-cni-named.txt': (interfaces, problems) => {
    assert.equal(interfaces.length, 8);
    const lxc = byName(interfaces, 'lxc113dd6a50a7a');
    assert.equal(lxc.index, 33);
    assert.equal(lxc.peerIndex, 32);
    assert.equal(lxc.linkNetns, 'cni-07cffbd8-83dd-dcc1-0b57-5c59c1c037e9');
    assert.equal(lxc.linkNetnsId, null);
    assert.equal(lxc.mac, '32:3a:5b:15:44:ff');
    const health = byName(interfaces, 'lxc_health');
    assert.equal(health.peerIndex, 24);
    assert.equal(health.linkNetnsId, 0);
    assert.equal(byName(interfaces, 'cilium_net').link, 'cilium_host');
    assert.equal(byName(interfaces, 'cilium_net').peerIndex, null);
    assert.deepEqual(problems, []);
  },
  'cilium-proxmox-node-ip-d-s-link-lxc-veth-details-stats.txt': (interfaces, problems) => {
    assert.deepEqual(interfaces.map((item) => item.index), [1, 2, 3, 4, 5, 68, 90, 94, 96]);
    const lxc = byName(interfaces, 'lxcf57d951d1bb3');
    assert.equal(lxc.peerIndex, 67);
    assert.equal(lxc.linkNetnsId, 1);
    assert.equal(lxc.kind, 'veth');
    assert.equal(lxc.mac, 'ca:e6:42:de:e8:18');
    assert.equal(lxc.stats?.rx.bytes, 9130);
    assert.equal(lxc.stats?.tx.packets, 43);
    assert.equal(byName(interfaces, 'lxc5ca0daa43914').linkNetnsId, 3);
    assert.equal(byName(interfaces, 'cilium_vxlan').kind, 'vxlan');
    assert.deepEqual(byName(interfaces, 'ens18').altNames, ['enp0s18']);
    assert.equal(byName(interfaces, 'ens18').kind, undefined, 'a plain NIC has no kind line');
    assert.equal(byName(interfaces, 'lo').stats?.rx.bytes, 4173031604);
    assert.deepEqual(problems, []);
  },
  'cniguru2-flannel-ip-netns-exec-addr.txt': (interfaces, problems) => {
    const eth0 = byName(interfaces, 'eth0');
    assert.equal(eth0.index, 3);
    assert.equal(eth0.peerIndex, 126);
    assert.equal(eth0.linkNetnsId, 0);
    assert.equal(eth0.mac, '0a:58:0a:f4:00:07');
    assert.deepEqual(eth0.addresses.map((a) => `${a.address}/${a.prefixLength}`), ['10.244.0.7/24']);
    assert.deepEqual(problems, []);
  },
  'iknite-wsl-node-ip-br-4-a-eth0-at-if8-two-addrs.txt': (interfaces, problems) => {
    assert.deepEqual(interfaces.map((item) => item.name), ['lo', 'cni0', 'eth0', 'flannel.1']);
    const eth0 = byName(interfaces, 'eth0');
    assert.equal(eth0.peerIndex, 8);
    assert.equal(eth0.index, null, 'ip -br prints no index');
    assert.equal(eth0.state, 'UP');
    assert.deepEqual(eth0.addresses.map((a) => `${a.address}/${a.prefixLength}`), ['10.253.141.236/24', '192.168.99.2/24']);
    assert.deepEqual(problems, []);
  },
  'kops-kubenet-busybox-pod-ip-addr-show-no-netnsid.txt': (interfaces, problems) => {
    const eth0 = byName(interfaces, 'eth0');
    assert.equal(eth0.peerIndex, 7);
    assert.equal(eth0.linkNetnsId, null);
    assert.equal(eth0.state, null, 'BusyBox prints no state');
    assert.equal(eth0.mtu, 9001);
    assert.ok(eth0.flags.includes('M-DOWN'));
    assert.deepEqual(eth0.addresses.map((a) => `${a.family} ${a.address}/${a.prefixLength}`), ['inet 100.96.2.4/24', 'inet6 fe80::745e:adff:fe5b:e0b5/64']);
    assert.deepEqual(problems, []);
  },
  'kube-router337-centos-node-ip-link-kube-bridge-veth-netnsid1.txt': (interfaces, problems) => {
    assert.equal(interfaces.length, 8);
    const veth = byName(interfaces, 'veth746479cc');
    assert.equal(veth.index, 9);
    assert.equal(veth.peerIndex, 3);
    assert.equal(veth.master, 'kube-bridge');
    assert.equal(veth.linkNetnsId, 1);
    assert.equal(byName(interfaces, 'eno1').state, 'DOWN');
    assert.deepEqual(problems, [], 'the trim mark is not a problem');
  },
  'macvtap-cni98-kubevirt-virt-launcher-netns-ip-link-net1-promisc-alias.txt': (interfaces, problems) => {
    const net1 = byName(interfaces, 'net1');
    assert.equal(net1.index, 917);
    assert.equal(net1.peerIndex, 2);
    assert.ok(net1.flags.includes('PROMISC'));
    const eth0 = byName(interfaces, 'eth0');
    assert.equal(eth0.peerIndex, 921);
    assert.equal(eth0.alias, '2542dd38a1ff_c');
    assert.equal(byName(interfaces, 'tap0').master, 'k6t-eth0');
    assert.ok(interfaces.every((item) => item.netns === 'cni-9803963c-7aa0-cda9-b8ba-262be2a185d1'));
    assert.deepEqual(problems, []);
  },
  'minikube-kindnet-pod-nsenter-ip-a.txt': (interfaces, problems) => {
    const eth0 = byName(interfaces, 'eth0');
    assert.equal(eth0.index, 4);
    assert.equal(eth0.peerIndex, 5);
    assert.equal(eth0.linkNetnsId, 0);
    assert.deepEqual(eth0.addresses.map((a) => [a.address, a.prefixLength, a.broadcast]), [['10.244.1.2', 24, '10.244.1.255']]);
    assert.equal(byName(interfaces, 'sit0').link, 'NONE');
    assert.deepEqual(problems, []);
  },
};

describe('parseIpAddr on the corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('ip-addr', Object.keys(expectations));
  });
  for (const entry of corpusFiles('ip-addr')) {
    test(entry.name, () => {
      const result = parseIpAddr(entry.body);
      assertWellFormed(result, entry.body);
      assertReadOrExplained(result.value.length > 0, result);
      for (const item of result.value) {
        assert.ok(item.name.length > 0);
        if (item.link !== null && /^if\d+$/.test(item.link)) {
          assert.equal(item.peerIndex, Number(item.link.slice(2)));
        }
      }
      expectations[entry.name]?.(result.value, problemLines(result));
    });
  }
});

describe('parseIpAddr edge cases', () => {
  test('garbage lines become problems and do not change what was read', () => {
    const entry = corpusFiles('ip-addr').find((item) => item.name.startsWith('minikube-kindnet'));
    assert.ok(entry);
    const clean = parseIpAddr(entry.body);
    const { text, lineNumber } = appendLine(entry.body, '%%% not ip output %%%');
    const dirty = parseIpAddr(text);
    assert.deepEqual(dirty.value, clean.value);
    assert.deepEqual(problemLines(dirty), [lineNumber]);
  });
  test('an indented line before any interface is a problem', () => {
    const result = parseIpAddr('    inet 10.0.0.1/24 scope global eth0\n');
    assert.deepEqual(result.value, []);
    assert.deepEqual(problemLines(result), [1]);
  });
  test('ip -j output is read as JSON', () => {
    const json = JSON.stringify([
      { ifindex: 3, link_index: 11, ifname: 'eth0', flags: ['BROADCAST', 'UP'], mtu: 1450, operstate: 'UP', link_type: 'ether', address: '0a:58:0a:f4:01:05', link_netnsid: 0, addr_info: [{ family: 'inet', local: '10.244.1.5', prefixlen: 24, scope: 'global' }] },
    ]);
    const [eth0] = parseIpAddr(json).value;
    assert.equal(eth0.peerIndex, 11);
    assert.equal(eth0.linkNetnsId, 0);
    assert.deepEqual(eth0.addresses.map((a) => `${a.address}/${a.prefixLength}`), ['10.244.1.5/24']);
  });
  test('truncated ip -j output is one problem, not a throw', () => {
    const result = parseIpAddr('[{"ifindex":3,"ifname":"eth0"');
    assert.deepEqual(result.value, []);
    assert.equal(result.problems.length, 1);
  });
  test('non-string input reads as empty', () => {
    assert.deepEqual(parseIpAddr(undefined as unknown as string), { value: [], problems: [] });
  });
});

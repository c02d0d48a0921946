/**
 * The data-plane script run by a real shell (dash and BusyBox) with stand-ins that print real
 * outputs (corpus iptables-save dumps, the lab's kube-proxy rules, a Cilium node's `ip link`),
 * and what `interpretDataPlane` makes of it. Expected counts are taken from the same inputs
 * independently (regex over the dump), not written down.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, describe, test } from 'node:test';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { DATA_PLANE_SCRIPT, dataPlaneArgv, interpretDataPlane } from '../../../src/diagnostics/dataPlane';
import { collectServicePorts, kubeProxyRestoreText } from '../../../lab/net/kubeProxyRules';
import { kubeletOnlyRestoreText } from '../../../lab/net/kubeProxyNftables';
import { corpusFiles } from '../parsers/corpusFiles';
import { createHarness, hasBusybox, printsFile } from './shellHarness';
import type { Harness } from './shellHarness';

const corpusDump = corpusFiles('iptables').find((entry) => entry.name.startsWith('k8s36835'));
assert.ok(corpusDump, 'corpus iptables-save dump');

/** kube-proxy's iptables rules as the lab writes them for a small cluster. */
function labRestoreText(): string {
  const service: V1Service = {
    metadata: { namespace: 'lab-apps', name: 'web' },
    spec: { type: 'ClusterIP', clusterIP: '198.19.0.80', clusterIPs: ['198.19.0.80'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] },
  };
  const slice: V1EndpointSlice = {
    metadata: { namespace: 'lab-apps', name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['198.18.1.5'], conditions: { ready: true }, nodeName: 'a' },
      { addresses: ['198.18.2.5'], conditions: { ready: true }, nodeName: 'b' },
    ],
  };
  return kubeProxyRestoreText({ name: 'a', podCIDR: '198.18.1.0/24', internalIP: '198.18.0.11' }, collectServicePorts([service], [slice])).text;
}

function chainCount(text: string, pattern: RegExp): number {
  return text.split('\n').filter((line) => pattern.test(line)).length;
}

const ipvsLoaded = fs.existsSync('/proc/net/ip_vs');
const harnesses: Harness[] = [];
after(() => harnesses.forEach((harness) => harness.dispose()));

function harness(busybox = false): Harness {
  const created = createHarness({ busybox });
  harnesses.push(created);
  created.standIn('ip', 'exit 0');
  created.standIn('nft', "printf 'table ip filter\\ntable ip nat\\n'");
  created.standIn('iptables-nft-save', 'exit 0');
  created.standIn('iptables-legacy-save', 'exit 0');
  created.standIn('curl', 'exit 7');
  return created;
}

for (const busybox of hasBusybox() ? [false, true] : [false]) {
  describe(`data-plane script (${busybox ? 'BusyBox' : 'dash'})`, () => {
    test('kube-proxy in iptables mode, chains in the nf_tables backend: counts match the dump', () => {
      const h = harness(busybox);
      const text = labRestoreText();
      h.standIn('iptables-nft-save', printsFile(h.file('nft.txt', text)));
      h.standIn('curl', "printf 'iptables'");
      const run = h.run(dataPlaneArgv());
      assert.equal(run.status, 0, run.stderr);
      const info = interpretDataPlane('a', run.stdout);
      assert.equal(info.proxyMode, 'iptables');
      assert.equal(info.proxyModeSource, 'proxyMode-endpoint');
      assert.equal(info.kubeChainsIn, 'nft');
      assert.equal(info.iptablesBackends.nft.kubeChains, chainCount(text, /^:KUBE-/));
      assert.equal(info.iptablesBackends.nft.serviceChains, chainCount(text, /^:KUBE-SV[CL]-/));
      assert.equal(info.iptablesBackends.nft.endpointChains, chainCount(text, /^:KUBE-SEP-/));
      assert.equal(info.iptablesBackends.nft.kubeServices, /^:KUBE-SERVICES /m.test(text));
      assert.equal(info.iptablesBackends.legacy.kubeChains, 0);
      assert.equal(info.ipvs.available, ipvsLoaded);
      assert.equal(info.kubeProxyAbsent, false);
      assert.deepEqual(info.warnings, []);
    });

    test('the same chains in both backends: "both", with a warning; the mode comes from the rules when /proxyMode is silent', () => {
      const h = harness(busybox);
      const file = h.file('dump.txt', corpusDump.body);
      h.standIn('iptables-nft-save', printsFile(file));
      h.standIn('iptables-legacy-save', printsFile(file));
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout);
      assert.equal(info.kubeChainsIn, 'both');
      assert.equal(info.proxyMode, 'iptables');
      assert.equal(info.proxyModeSource, 'rules');
      assert.equal(info.proxyModeEndpoint.reachable, false);
      assert.equal(info.proxyModeEndpoint.exitCode, 7);
      assert.equal(info.iptablesBackends.legacy.kubeChains, chainCount(corpusDump.body, /^:KUBE-/));
      assert.ok(info.warnings.some((warning) => warning.startsWith('Both iptables backends')));
    });

    test('legacy only', () => {
      const h = harness(busybox);
      h.standIn('iptables-legacy-save', printsFile(h.file('dump.txt', corpusDump.body)));
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout);
      assert.equal(info.kubeChainsIn, 'legacy');
      assert.equal(info.iptablesBackends.nft.kubeChains, 0);
    });

    test('nftables mode from the tables when /proxyMode is silent', () => {
      const h = harness(busybox);
      h.standIn('nft', "printf 'table ip filter\\ntable ip nat\\ntable ip kube-proxy\\n'");
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout);
      assert.equal(info.proxyMode, 'nftables');
      assert.equal(info.proxyModeSource, 'rules');
      assert.equal(info.nftKubeProxyTable, true);
      assert.deepEqual(info.nftTables, ['ip filter', 'ip nat', 'ip kube-proxy']);
    });

    test('kubelet\'s own KUBE-* chains (as on the lab\'s nftables node, or an older kubelet\'s) are not kube-proxy\'s', () => {
      const h = harness(busybox);
      const olderKubelet = kubeletOnlyRestoreText().replace('*nat\n', '*nat\n:KUBE-MARK-MASQ - [0:0]\n:KUBE-MARK-DROP - [0:0]\n:KUBE-POSTROUTING - [0:0]\n');
      h.standIn('iptables-nft-save', printsFile(h.file('kubelet.txt', olderKubelet)));
      h.standIn('nft', "printf 'table ip filter\\ntable ip nat\\ntable ip kube-proxy\\n'");
      h.standIn('curl', "printf 'nftables'");
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout);
      assert.equal(info.iptablesBackends.nft.kubeChains, chainCount(olderKubelet, /^:KUBE-/));
      assert.equal(info.iptablesBackends.nft.kubeProxyChains, 0);
      assert.equal(info.kubeChainsIn, 'none');
      assert.equal(info.proxyMode, 'nftables');
      assert.deepEqual(info.warnings, []);
    });

    test('Cilium instead of kube-proxy: no rules, no answer, cilium_* interfaces', () => {
      const h = harness(busybox);
      const links = corpusFiles('ip-addr').find((entry) => entry.name.startsWith('cilium-k3s'));
      assert.ok(links);
      h.standIn('ip', printsFile(h.file('links.txt', links.body)));
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout, { kubeProxyPod: null });
      assert.equal(info.proxyMode, 'none');
      assert.equal(info.kubeProxyAbsent, true);
      assert.equal(info.replacedBy, 'cilium');
      assert.ok(info.interfaces.some((name) => name.startsWith('cilium_')));
      assert.ok(info.hints.some((hint) => hint.startsWith('kube-proxy replaced by Cilium')));
    });

    test('a kube-proxy pod without rules or answer is not "absent": it is failing', () => {
      const h = harness(busybox);
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout, { kubeProxyPod: 'kube-system/kube-proxy-x' });
      assert.equal(info.kubeProxyAbsent, false);
      assert.ok(info.warnings.some((warning) => warning.includes('kube-system/kube-proxy-x')));
    });

    test('without curl or wget, and without the save tools: said, and the mode is unknown', () => {
      const h = harness(busybox);
      h.remove('curl');
      h.remove('iptables-nft-save');
      h.remove('iptables-legacy-save');
      h.remove('nft');
      const info = interpretDataPlane('n', h.run(dataPlaneArgv()).stdout);
      assert.equal(info.proxyModeEndpoint.exitCode, 127);
      assert.equal(info.iptablesBackends.nft.exitCode, 127);
      assert.equal(info.proxyMode, 'unknown');
      assert.ok(info.warnings.some((warning) => warning.includes('neither curl nor wget')));
      assert.ok(info.warnings.some((warning) => warning.includes('iptables-nft-save is not in the debug image')));
    });
  });
}

describe('interpretDataPlane', () => {
  test('never throws on garbage and reads nothing from it', () => {
    for (const text of ['', 'garbage\n@@kni:exit=3@@', '@@kni:proxyMode@@\n\u0000\u0001', '@@kni:iptables-nft@@\nx y z\n@@kni:exit=0@@']) {
      const info = interpretDataPlane('n', text);
      assert.equal(info.iptablesBackends.nft.kubeChains, 0);
    }
  });

  test('an unknown /proxyMode answer is a warning, not a mode', () => {
    const info = interpretDataPlane('n', '@@kni:proxyMode@@\n<html>\n@@kni:exit=0@@\n@@kni:nft@@\ntable ip kube-proxy\n@@kni:exit=0@@');
    assert.equal(info.proxyMode, 'nftables');
    assert.ok(info.warnings.some((warning) => warning.includes('not a mode')));
  });

  test('the script is constant: it takes no data', () => {
    assert.deepEqual(dataPlaneArgv(), ['sh', '-c', DATA_PLANE_SCRIPT, 'kni-data-plane']);
  });
});

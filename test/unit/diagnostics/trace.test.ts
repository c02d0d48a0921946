/**
 * The service path from parsed rules compared with EndpointSlices. The rules are kube-proxy's
 * as the lab writes them (its iptables-restore text, an independent writer of kube-proxy's
 * layout), a real corpus dump (session affinity), and nft listings in kube-proxy's nftables
 * layout; the slices are then made to disagree and the trace must say exactly where.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1EndpointSlice, V1Pod, V1Service, V1ServiceSpec } from '@kubernetes/client-node';
import { parseIptablesSave } from '../../../src/parsers/iptablesSave';
import { parseNft } from '../../../src/parsers/nft';
import { chooseTraceNode, traceFromRules, traceManualCommands } from '../../../src/diagnostics/trace';
import type { TraceRules } from '../../../src/diagnostics/trace';
import { indexPodsByAddress } from '../../../src/diagnostics/cluster';
import { collectServicePorts, kubeProxyRestoreText } from '../../../lab/net/kubeProxyRules';
import { corpusFiles } from '../parsers/corpusFiles';
import { generateKubeProxyNft } from '../parsers/generators';

const NODE_A = { name: 'node-a', podCIDR: '198.18.1.0/24', internalIP: '198.18.0.11' };

interface EndpointSpec {
  readonly ip: string;
  readonly node: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

function service(name: string, spec: Partial<V1ServiceSpec>, namespace = 'lab-apps'): V1Service {
  return {
    metadata: { namespace, name },
    spec: { type: 'ClusterIP', clusterIP: '198.19.0.80', clusterIPs: [spec.clusterIP ?? '198.19.0.80'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
  };
}

function slice(svc: V1Service, endpoints: readonly EndpointSpec[], port = 8080, portName: string | undefined = 'http', protocol = 'TCP'): V1EndpointSlice {
  return {
    metadata: { namespace: svc.metadata?.namespace, name: `${svc.metadata?.name}-abcde`, labels: { 'kubernetes.io/service-name': svc.metadata?.name ?? '' } },
    addressType: 'IPv4',
    ports: [{ name: portName, port, protocol }],
    endpoints: endpoints.map((endpoint, index) => ({
      addresses: [endpoint.ip],
      nodeName: endpoint.node,
      conditions: { ready: endpoint.ready ?? true, serving: endpoint.serving ?? endpoint.ready ?? true, terminating: endpoint.terminating ?? false },
      targetRef: { kind: 'Pod', namespace: svc.metadata?.namespace, name: `${svc.metadata?.name}-${index}` },
    })),
  };
}

function pods(svc: V1Service, endpoints: readonly EndpointSpec[]): Map<string, V1Pod> {
  return indexPodsByAddress(
    endpoints.map((endpoint, index) => ({
      metadata: { namespace: svc.metadata?.namespace, name: `${svc.metadata?.name}-${index}` },
      spec: { nodeName: endpoint.node, containers: [] },
      status: { phase: 'Running', podIP: endpoint.ip, podIPs: [{ ip: endpoint.ip }], conditions: [{ type: 'Ready', status: endpoint.ready === false ? 'False' : 'True' }] },
    })),
  );
}

/** kube-proxy's rules for `svc` with `endpoints`, as the lab writes them for node A, parsed. */
function labRules(svc: V1Service, endpoints: readonly EndpointSpec[], port = 8080): TraceRules {
  const ports = collectServicePorts([svc], [slice(svc, endpoints, port)]);
  const parsed = parseIptablesSave(kubeProxyRestoreText(NODE_A, ports).text);
  assert.deepEqual(parsed.problems, []);
  return { kind: 'iptables', backend: 'iptables-nft', parsed: parsed.value };
}

const THREE: EndpointSpec[] = [
  { ip: '198.18.1.5', node: 'node-a' },
  { ip: '198.18.2.5', node: 'node-b' },
  { ip: '198.18.3.5', node: 'node-c' },
];

describe('traceFromRules (iptables, the lab\'s kube-proxy rules)', () => {
  test('rules and slices agree: every DNAT target is a slice endpoint, mapped to its pod; no findings', () => {
    const svc = service('web', {});
    const rules = labRules(svc, THREE);
    const { ports, flags } = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    assert.equal(ports.length, 1);
    const port = ports[0];
    assert.equal(port.inRules, true);
    assert.deepEqual(port.endpoints.map((endpoint) => endpoint.dnatTo).sort(), THREE.map((endpoint) => `${endpoint.ip}:8080`).sort());
    for (const endpoint of port.endpoints) {
      assert.equal(endpoint.status, 'ok');
      assert.equal(endpoint.pod?.podIP, endpoint.address);
      assert.ok(endpoint.rules.some((rule) => rule.text.includes(`--to-destination ${endpoint.dnatTo}`)), endpoint.sepChain ?? '');
    }
    assert.ok(Math.abs(port.endpoints.reduce((sum, endpoint) => sum + (endpoint.share ?? 0), 0) - 1) < 1e-6);
    assert.ok(port.entryRules.some((rule) => rule.chain === 'KUBE-SERVICES' && /-d 198\.19\.0\.80(\/32)? /.test(rule.text) && rule.text.includes(`-j ${port.svcChain}`)));
    assert.ok(port.svcChainRules.length >= THREE.length);
    assert.deepEqual(port.missing, []);
    assert.deepEqual(flags, []);
  });

  test('an endpoint removed from the slice but still in the rules is flagged stale, and only that one', () => {
    const svc = service('web', {});
    const rules = labRules(svc, THREE);
    const remaining = THREE.slice(0, 2);
    const { ports, flags } = traceFromRules({ service: svc, slices: [slice(svc, remaining)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    const stale = ports[0].endpoints.filter((endpoint) => endpoint.status === 'stale');
    assert.deepEqual(stale.map((endpoint) => endpoint.address), [THREE[2].ip]);
    assert.deepEqual(flags.filter((flag) => flag.severity === 'error').map((flag) => [flag.code, flag.address]), [['stale-endpoint', THREE[2].ip]]);
    assert.match(flags[0].message, /lab-apps\/web-2/);
  });

  test('a ready endpoint the rules lack is flagged missing', () => {
    const svc = service('web', {});
    const rules = labRules(svc, THREE.slice(0, 2));
    const { ports, flags } = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    assert.deepEqual(ports[0].missing.map((endpoint) => endpoint.address), [THREE[2].ip]);
    assert.equal(ports[0].missing[0].podInfo?.name, 'web-2');
    assert.deepEqual(flags.map((flag) => flag.code), ['missing-endpoint']);
  });

  test('an endpoint the slices call not ready (and not serving) but the rules keep', () => {
    const svc = service('web', {});
    const rules = labRules(svc, THREE);
    const notReady = THREE.map((endpoint, index) => (index === 1 ? { ...endpoint, ready: false, serving: false } : endpoint));
    const { flags } = traceFromRules({ service: svc, slices: [slice(svc, notReady)], podsByAddress: pods(svc, notReady), node: 'node-a', rules });
    assert.deepEqual(flags.map((flag) => [flag.code, flag.address]), [['not-ready-endpoint', THREE[1].ip]]);
  });

  test('no endpoints: the reject rule is found and reported; with ready endpoints in the slices it is stale', () => {
    const svc = service('empty', {});
    const rules = labRules(svc, []);
    const none = traceFromRules({ service: svc, slices: [slice(svc, [])], podsByAddress: new Map(), node: 'node-a', rules });
    assert.equal(none.ports[0].rules.noEndpoints, true);
    assert.ok(none.ports[0].rejectRules.some((rule) => rule.text.includes('-j REJECT')));
    assert.deepEqual(none.flags.map((flag) => flag.code), ['no-endpoints']);
    const stale = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    assert.ok(stale.flags.some((flag) => flag.code === 'no-endpoints-rule-but-ready' && flag.severity === 'error'));
    assert.equal(stale.flags.filter((flag) => flag.code === 'missing-endpoint').length, THREE.length);
  });

  test('session affinity ClientIP: the recent-module rules are seen and flagged; a spec without it mismatches', () => {
    const svc = service('sticky', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } });
    const rules = labRules(svc, THREE);
    const sticky = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    assert.equal(sticky.ports[0].sessionAffinity.inRules, true);
    assert.equal(sticky.ports[0].sessionAffinity.timeoutSeconds, 600);
    assert.deepEqual(sticky.flags.map((flag) => flag.code), ['session-affinity']);
    const plain = service('sticky', {});
    const mismatch = traceFromRules({ service: plain, slices: [slice(plain, THREE)], podsByAddress: pods(plain, THREE), node: 'node-a', rules });
    assert.deepEqual(mismatch.flags.map((flag) => flag.code), ['session-affinity-mismatch']);
  });

  test('a NodePort: the KUBE-NODEPORTS rule and the KUBE-EXT chain are on the path', () => {
    const svc = service('web-nodeport', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }] });
    const rules = labRules(svc, THREE);
    const { ports, flags } = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    assert.deepEqual(ports[0].rules.nodePorts, [30080]);
    assert.ok(ports[0].nodePortRules.some((rule) => rule.chain === 'KUBE-NODEPORTS' && rule.text.includes('--dport 30080')));
    assert.ok(ports[0].nodePortRules.some((rule) => rule.chain.startsWith('KUBE-EXT-')));
    assert.deepEqual(flags, []);
  });

  test('internalTrafficPolicy Local: only this node\'s endpoints are expected', () => {
    const svc = service('local', { internalTrafficPolicy: 'Local' });
    const rules = labRules(svc, THREE);
    const { ports, flags } = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: pods(svc, THREE), node: 'node-a', rules });
    assert.deepEqual(ports[0].endpoints.map((endpoint) => endpoint.address), ['198.18.1.5']);
    assert.deepEqual(flags.map((flag) => flag.code), ['local-traffic-policy']);
  });
});

describe('traceFromRules (a real dump)', () => {
  test('the 1.6-era default/kubernetes with ClientIP affinity: the recent-module rule, one endpoint without DNAT in the fragment', () => {
    const entry = corpusFiles('iptables').find((item) => item.name.startsWith('k8s47533'));
    assert.ok(entry);
    const parsed = parseIptablesSave(entry.body).value;
    const svc = service('kubernetes', { clusterIP: '10.96.0.1', clusterIPs: ['10.96.0.1'], sessionAffinity: 'ClientIP', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] }, 'default');
    const { ports } = traceFromRules({ service: svc, slices: [], podsByAddress: new Map(), node: 'n', rules: { kind: 'iptables', backend: 'iptables-legacy', parsed } });
    assert.equal(ports[0].rules.clusterIP, '10.96.0.1');
    assert.equal(ports[0].sessionAffinity.inRules, true);
    assert.equal(ports[0].svcChain, 'KUBE-SVC-NPX46M4PTMTKRN6Y');
    assert.ok(ports[0].svcChainRules.some((rule) => rule.text.includes('--rcheck')));
    assert.deepEqual(ports[0].endpoints.map((endpoint) => [endpoint.sepChain, endpoint.status]), [['KUBE-SEP-6FZLAPUAJM6OKK6A', 'unknown']]);
  });
});

describe('traceFromRules (nftables layout)', () => {
  const generated = generateKubeProxyNft(4, 3);
  const parsed = parseNft(generated.text).value;
  for (const index of [0, 1]) {
    test(`service ${index} (${index % 2 === 0 ? 'endpoint chains' : 'dnat map'}): the endpoints are the slice endpoints; removing one makes it stale`, () => {
      const want = generated.services[index];
      const [namespace, name] = want.service.split('/');
      const protocol = want.protocol.toUpperCase();
      const targetPort = Number(want.dnatTo[0].split(':')[1]);
      const svc = service(name, { clusterIP: want.clusterIP, clusterIPs: [want.clusterIP], ports: [{ name: want.portName, port: want.port, protocol, targetPort }] }, namespace);
      // One slice per target port (the generator gives each endpoint its own port).
      const endpoints = want.dnatTo.map((target) => ({ ip: target.split(':')[0], node: 'n', port: Number(target.split(':')[1]) }));
      const slices = endpoints.map((endpoint) => ({ ...slice(svc, [endpoint], endpoint.port, want.portName, protocol), metadata: { namespace, name: `${name}-${endpoint.port}`, labels: { 'kubernetes.io/service-name': name } } }));
      const rules: TraceRules = { kind: 'nftables', parsed };
      const agree = traceFromRules({ service: svc, slices, podsByAddress: pods(svc, endpoints), node: 'n', rules });
      assert.equal(agree.ports[0].svcChain, want.svcChain);
      assert.deepEqual(agree.ports[0].endpoints.map((endpoint) => endpoint.dnatTo).sort(), [...want.dnatTo].sort());
      assert.ok(agree.ports[0].entryRules.some((rule) => rule.chain === 'map service-ips' && rule.text.startsWith(`${want.clusterIP} . ${want.protocol} . ${want.port}`)));
      assert.deepEqual(agree.flags, []);
      const fewer = traceFromRules({ service: svc, slices: slices.slice(1), podsByAddress: pods(svc, endpoints), node: 'n', rules });
      assert.deepEqual(fewer.flags.map((flag) => [flag.code, flag.address]), [['stale-endpoint', endpoints[0].ip]]);
    });
  }
});

describe('chooseTraceNode and manual commands', () => {
  test('a Ready node running a ready endpoint, else the first Ready node', () => {
    const svc = service('web', {});
    assert.deepEqual(chooseTraceNode([slice(svc, THREE)], svc, ['node-c', 'node-b', 'x']), { node: 'node-b', choice: 'endpoint' });
    assert.deepEqual(chooseTraceNode([slice(svc, [])], svc, ['x', 'y']), { node: 'x', choice: 'first-ready' });
    assert.deepEqual(chooseTraceNode([], svc, []), { node: null, choice: 'first-ready' });
  });

  test('manual commands name the real chains, quoted', () => {
    const svc = service('web', {});
    const rules = labRules(svc, THREE);
    const { ports } = traceFromRules({ service: svc, slices: [slice(svc, THREE)], podsByAddress: new Map(), node: 'node-a', rules });
    const commands = traceManualCommands({ namespace: 'lab-apps', name: 'web' }, 'node-a', 'img', 'iptables-nft', ports).map((command) => command.command);
    assert.ok(commands.includes(`iptables-nft -t nat -L ${ports[0].svcChain} -n`));
    assert.ok(commands.includes('iptables-nft-save | grep -F -- lab-apps/web:'));
  });
});

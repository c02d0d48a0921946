/**
 * IPVS backends mapped to services, pods and EndpointSlices, on the real `ipvsadm` outputs of
 * the corpus. The services, slices and pods are built in the test for the addresses each
 * capture shows (ClusterIP virtual servers become ClusterIPs, node-address ones NodePorts, real
 * servers pods); then the slices are made to disagree.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { parseIpvsadm } from '../../../src/parsers/ipvsadm';
import type { IpvsService } from '../../../src/parsers/ipvsadm';
import { IPVS_SCRIPT, ipvsArgv, mapIpvsServices, matchVirtualServer } from '../../../src/diagnostics/ipvs';
import { indexPodsByAddress } from '../../../src/diagnostics/cluster';
import { corpusFiles } from '../parsers/corpusFiles';
import { splitSections } from '../../../src/diagnostics/context';
import { createHarness, invocations, recordsArgv } from './shellHarness';

function capture(prefix: string): IpvsService[] {
  const entry = corpusFiles('ipvs').find((item) => item.name.startsWith(prefix));
  assert.ok(entry, prefix);
  return parseIpvsadm(entry.body).value;
}

interface Built {
  services: V1Service[];
  slices: V1EndpointSlice[];
  pods: V1Pod[];
}

/**
 * One service per virtual server: `nodeAddresses` make NodePort services, other VIPs
 * ClusterIPs; each real server with weight > 0 becomes a ready endpoint and a pod.
 */
function buildCluster(virtualServers: readonly IpvsService[], nodeAddresses: readonly string[]): Built {
  const built: Built = { services: [], slices: [], pods: [] };
  virtualServers.forEach((virtualServer, index) => {
    if (virtualServer.vip === null || virtualServer.port === null) {
      return;
    }
    const name = `svc-${index}`;
    const isNodePort = nodeAddresses.includes(virtualServer.vip);
    const protocol = virtualServer.protocol;
    built.services.push({
      metadata: { namespace: 'corpus', name },
      spec: isNodePort
        ? { type: 'NodePort', clusterIP: `198.19.9.${index + 1}`, clusterIPs: [`198.19.9.${index + 1}`], ports: [{ name: 'p', port: 80, protocol, nodePort: virtualServer.port }] }
        : { type: 'ClusterIP', clusterIP: virtualServer.vip, clusterIPs: [virtualServer.vip], ports: [{ name: 'p', port: virtualServer.port, protocol }], ...(virtualServer.flags.includes('persistent') ? { sessionAffinity: 'ClientIP' } : {}) },
    });
    const servers = virtualServer.realServers.filter((server) => server.weight !== 0);
    const ports = [...new Set(servers.map((server) => server.port ?? 0))];
    for (const port of ports.length > 0 ? ports : [8080]) {
      built.slices.push({
        metadata: { namespace: 'corpus', name: `${name}-${port}`, labels: { 'kubernetes.io/service-name': name } },
        addressType: 'IPv4',
        ports: [{ name: 'p', port, protocol }],
        endpoints: servers.filter((server) => (server.port ?? 0) === port).map((server) => ({ addresses: [server.address], conditions: { ready: true }, targetRef: { kind: 'Pod', namespace: 'corpus', name: `pod-${server.address}` } })),
      });
    }
    for (const server of servers) {
      if (!built.pods.some((pod) => pod.status?.podIP === server.address)) {
        built.pods.push({ metadata: { namespace: 'corpus', name: `pod-${server.address}` }, spec: { containers: [] }, status: { phase: 'Running', podIP: server.address, conditions: [{ type: 'Ready', status: 'True' }] } });
      }
    }
  });
  return built;
}

describe('mapIpvsServices on real ipvsadm -Ln outputs', () => {
  test('k8s123948 (kubeadm, ipvs mode): every real server maps to its pod and its slice; a NodePort without backends is flagged', () => {
    const parsed = capture('k8s123948');
    const cluster = buildCluster(parsed, ['10.10.50.6']);
    const { virtualServers, flags } = mapIpvsServices(parsed, { ...cluster, podsByAddress: indexPodsByAddress(cluster.pods), nodeAddresses: ['10.10.50.6'] });
    assert.equal(virtualServers.length, parsed.length);
    for (const view of virtualServers) {
      const source = parsed.find((item) => item.vip === view.vip && item.port === view.port);
      assert.ok(source);
      assert.equal(view.kind, view.vip === '10.10.50.6' ? 'node-port' : 'cluster-ip');
      assert.deepEqual(view.realServers.map((server) => `${server.address}:${server.port}`), source.realServers.map((server) => `${server.address}:${server.port}`));
      for (const server of view.realServers) {
        assert.equal(server.status, 'ok');
        assert.equal(server.pod?.name, `pod-${server.address}`);
        assert.equal(server.forward, 'Masq');
      }
    }
    const empty = parsed.filter((item) => item.realServers.length === 0).map((item) => `${item.protocol} ${item.vip}:${item.port}`);
    assert.ok(empty.length > 0);
    assert.deepEqual(flags.filter((flag) => flag.code === 'no-real-servers').map((flag) => flag.virtualServer), empty);
    assert.deepEqual(flags.filter((flag) => flag.severity === 'error'), []);
  });

  test('k8s123948: a real server removed from the slices is stale; an extra ready endpoint is missing', () => {
    const parsed = capture('k8s123948');
    const cluster = buildCluster(parsed, ['10.10.50.6']);
    const dns = parsed.find((item) => item.vip === '10.96.0.10' && item.port === 53);
    assert.ok(dns && dns.realServers.length === 2);
    const index = parsed.indexOf(dns);
    const dnsSlice = cluster.slices.find((slice) => slice.metadata?.labels?.['kubernetes.io/service-name'] === `svc-${index}`);
    assert.ok(dnsSlice?.endpoints);
    const removed = dnsSlice.endpoints.shift();
    dnsSlice.endpoints.push({ addresses: ['10.244.1.99'], conditions: { ready: true } });
    const { virtualServers, flags } = mapIpvsServices(parsed, { ...cluster, podsByAddress: indexPodsByAddress(cluster.pods), nodeAddresses: ['10.10.50.6'] });
    const view = virtualServers[index];
    assert.deepEqual(view.realServers.filter((server) => server.status === 'stale').map((server) => server.address), removed?.addresses);
    assert.deepEqual(view.missing.map((endpoint) => endpoint.address), ['10.244.1.99']);
    assert.deepEqual(flags.filter((flag) => flag.severity === 'error').map((flag) => flag.code).sort(), ['missing-real-server', 'stale-real-server']);
  });

  test('k8s99162 (NodePort, weight 0): the weight-0 real server is draining, not stale', () => {
    const parsed = capture('k8s99162');
    const cluster = buildCluster(parsed, ['192.168.1.2']);
    const { virtualServers, flags } = mapIpvsServices(parsed, { ...cluster, podsByAddress: indexPodsByAddress(cluster.pods), nodeAddresses: ['192.168.1.2'] });
    const zero = parsed[0].realServers.filter((server) => server.weight === 0).map((server) => server.address);
    assert.deepEqual(virtualServers[0].realServers.filter((server) => server.status === 'draining').map((server) => server.address), zero);
    assert.ok(virtualServers[0].realServers.filter((server) => server.weight !== 0).every((server) => server.status === 'ok'));
    assert.deepEqual(flags.filter((flag) => flag.severity === 'error'), []);
    assert.equal(flags.filter((flag) => flag.code === 'draining').length, zero.length);
  });

  test('opsnull251 (persistent 10800): session affinity is reported', () => {
    const parsed = capture('opsnull251');
    const cluster = buildCluster(parsed, ['10.253.102.0', '10.253.102.1']);
    const { virtualServers, flags } = mapIpvsServices(parsed, { ...cluster, podsByAddress: indexPodsByAddress(cluster.pods), nodeAddresses: ['10.253.102.0', '10.253.102.1'] });
    const persistent = parsed.filter((item) => item.flags.includes('persistent'));
    assert.ok(persistent.length > 0);
    assert.deepEqual(virtualServers.filter((view) => view.persistence !== null).map((view) => view.persistence), persistent.map((item) => item.persistence));
    assert.equal(flags.filter((flag) => flag.code === 'session-affinity').length, persistent.length);
  });

  test('every capture maps without throwing; name-resolved ones (ipvsadm -L) stay unmapped', () => {
    for (const entry of corpusFiles('ipvs')) {
      const parsed = parseIpvsadm(entry.body).value;
      const { virtualServers } = mapIpvsServices(parsed, { services: [], slices: [], podsByAddress: new Map() });
      assert.equal(virtualServers.length, parsed.length, entry.name);
      assert.ok(virtualServers.every((view) => view.service === null && view.realServers.every((server) => server.status === 'unmapped')), entry.name);
    }
    const resolved = capture('kube-router415');
    const cluster = buildCluster(resolved, []);
    assert.ok(resolved.every((item) => matchVirtualServer(item, cluster.services) === null));
  });
});

describe('IPVS script', () => {
  test('on this kernel (no ip_vs) it stops before ipvsadm, exit 3; with ip_vs it would list', () => {
    const result = spawnSync('/bin/sh', ipvsArgv().slice(1), { encoding: 'utf8' });
    if (fs.existsSync('/proc/net/ip_vs')) {
      assert.notEqual(result.status, 3);
    } else {
      assert.equal(result.status, 3);
      assert.match(result.stderr, /ip_vs is not loaded/);
    }
  });

  test('with ip_vs loaded: one ipvsadm per virtual server (-t/-u), each in a marked section, parsed back', () => {
    const h = createHarness();
    try {
      const proc = h.file('ip_vs', 'IP Virtual Server version 1.2.1 (size=4096)\n');
      const entry = corpusFiles('ipvs').find((item) => item.name.startsWith('k8s99162'));
      assert.ok(entry);
      h.standIn('ipvsadm', `${recordsArgv('ipvsadm')}\ncat '${h.file('listing.txt', entry.body)}'`);
      const run = h.run(ipvsArgv([{ protocol: 'TCP', vip: '192.168.1.2', port: 30232 }, { protocol: 'UDP', vip: '10.96.0.10', port: 53 }], true, proc));
      assert.equal(run.status, 0, run.stderr);
      const sections = splitSections(run.stdout);
      assert.deepEqual(sections.map((section) => [section.name, section.exitCode]), [
        ['t 192.168.1.2:30232', 0],
        ['u 10.96.0.10:53', 0],
        ['all -', 0],
      ]);
      assert.deepEqual(sections.map((section) => invocations(section.text)[0]), [
        ['ipvsadm', '-Ln', '-t', '192.168.1.2:30232'],
        ['ipvsadm', '-Ln', '-u', '10.96.0.10:53'],
        ['ipvsadm', '-Ln'],
      ]);
      const parsed = parseIpvsadm(sections[0].text.split('\n').filter((line) => !line.startsWith('arg')).join('\n'));
      assert.deepEqual(parsed.value, parseIpvsadm(entry.body).value);
    } finally {
      h.dispose();
    }
  });

  test('argv: validated virtual servers as words, never in the script', () => {
    const argv = ipvsArgv([
      { protocol: 'TCP', vip: '10.96.0.10', port: 53 },
      { protocol: 'udp', vip: 'fd00::a', port: 53 },
    ], true);
    assert.deepEqual(argv.slice(3), ['kni-ipvs', '/proc/net/ip_vs', 't', '10.96.0.10:53', 'u', '[fd00::a]:53', 'all', '-']);
    assert.throws(() => ipvsArgv([], false, '/proc/../etc/x'), RangeError);
    assert.ok(!IPVS_SCRIPT.includes('10.96.0.10'));
    assert.throws(() => ipvsArgv([{ protocol: 'TCP', vip: '10.0.0.1; reboot', port: 1 }]), RangeError);
    assert.throws(() => ipvsArgv([{ protocol: 'ICMP', vip: '10.0.0.1', port: 1 }]), RangeError);
    assert.throws(() => ipvsArgv([{ protocol: 'TCP', vip: '10.0.0.1', port: 70000 }]), RangeError);
  });
});

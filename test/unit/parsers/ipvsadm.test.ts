import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { IpvsService } from '../../../src/parsers/ipvsadm';
import { parseIpvsadm, parseIpvsadmTimeouts } from '../../../src/parsers/ipvsadm';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';

function virtual(services: IpvsService[], vip: string, port: number): IpvsService {
  const found = services.find((item) => item.vip === vip && item.port === port);
  assert.ok(found, `${vip}:${port}`);
  return found;
}

const expectations: Record<string, (services: IpvsService[], problems: number[], text: string) => void> = {
  'k8s-community692-ipvsadm-L-n-persistent-conn.txt': (services, problems) => {
    const [redis] = services;
    assert.equal(redis.vip, '10.11.12.13');
    assert.equal(redis.port, 6379);
    assert.equal(redis.scheduler, 'wlc');
    assert.deepEqual(redis.flags, ['persistent']);
    assert.equal(redis.persistence, 60);
    assert.deepEqual(redis.realServers, [{ address: '10.192.0.1', port: 32768, forward: null, weight: 1, persistConn: 1, activeConn: 1, inactConn: 0 }]);
    assert.deepEqual(problems, []);
  },
  'k8s123948-2024-ipvsadm-ln-nodeport-without-backends.txt': (services, problems) => {
    assert.equal(services.length, 10);
    assert.deepEqual(virtual(services, '10.10.50.6', 30020).realServers, [], 'a NodePort without backends');
    const dns = virtual(services, '10.96.0.10', 53);
    assert.equal(dns.protocol, 'TCP');
    assert.equal(dns.scheduler, 'rr');
    assert.deepEqual(dns.realServers.map((server) => `${server.address}:${server.port}`), ['10.244.169.6:53', '10.244.240.215:53']);
    const apiserver = virtual(services, '10.96.0.1', 443);
    assert.deepEqual(apiserver.realServers, [{ address: '10.10.50.6', port: 6443, forward: 'Masq', weight: 1, activeConn: 2, inactConn: 0 }]);
    assert.deepEqual(problems, []);
  },
  'k8s84041-ipvsadm-ln-timeout-one-line.txt': (services, problems, text) => {
    assert.deepEqual(services, []);
    assert.deepEqual(problems, []);
    assert.deepEqual(parseIpvsadmTimeouts(text).value, { tcp: 900, tcpfin: 120, udp: 300 });
  },
  'k8s99162-ipvsadm-Ln-t-nodeport-weight0-inactconn.txt': ([nodePort, ...rest], problems) => {
    assert.equal(rest.length, 0);
    assert.equal(nodePort.vip, '192.168.1.2');
    assert.equal(nodePort.port, 30232);
    assert.equal(nodePort.realServers.length, 10);
    const drained = nodePort.realServers.find((server) => server.address === '11.0.4.9');
    assert.deepEqual(drained, { address: '11.0.4.9', port: 80, forward: 'Masq', weight: 0, activeConn: 0, inactConn: 329 });
    assert.equal(nodePort.realServers[0].inactConn, 671);
    assert.deepEqual(problems, []);
  },
  'kube-router415-aws-ipvsadm-L-without-n-resolved-names.txt': (services, problems) => {
    assert.equal(services.length, 8);
    assert.ok(services.every((item) => item.vip === 'ip-10-0-62-121.ec2.internal' && item.port === null));
    assert.deepEqual(services[1].realServers[0], { address: 'ip-10-0-62-92.ec2.internal', port: 9, forward: 'Masq', weight: 1, activeConn: 0, inactConn: 0 });
    assert.deepEqual(services[3].realServers[0], { address: '100.98.125.10', port: null, portName: 'http', forward: 'Masq', weight: 1, activeConn: 2, inactConn: 14 });
    assert.equal(services[5].realServers[1].portName, 'bacula-fd');
    assert.deepEqual(problems, []);
  },
  'opsnull251-binary-install-ipvsadm-L-n-nodeport-persistent.txt': (services, problems) => {
    const apiserver = virtual(services, '10.254.0.1', 443);
    assert.deepEqual(apiserver.flags, ['persistent']);
    assert.equal(apiserver.persistence, 10800);
    assert.deepEqual(apiserver.realServers.map((server) => server.address), ['172.16.16.81', '172.16.16.82']);
    assert.equal(virtual(services, '10.253.102.0', 32429).realServers.length, 4);
    assert.deepEqual(problems, []);
  },
};

describe('ipvsadm corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('ipvs', Object.keys(expectations));
  });
  for (const entry of corpusFiles('ipvs')) {
    test(entry.name, () => {
      const result = parseIpvsadm(entry.body);
      assertWellFormed(result, entry.body);
      assertReadOrExplained(result.value.length > 0 || parseIpvsadmTimeouts(entry.body).value !== null || /^IP Virtual Server version/m.test(entry.body), result);
      for (const service of result.value) {
        for (const server of service.realServers) {
          assert.ok(server.address.length > 0);
        }
      }
      expectations[entry.name]?.(result.value, problemLines(result), entry.body);
    });
  }
});

// Captured on the project machine, whose kernel has no IPVS: `ipvsadm -Ln` (stderr).
const NO_IPVS = "Can't initialize ipvs: Protocol not available\nAre you sure that IP Virtual Server is built in the kernel or as module?\n";

describe('parseIpvsadm forms', () => {
  test('a kernel without IPVS: no services, problems that say so', () => {
    const result = parseIpvsadm(NO_IPVS);
    assert.deepEqual(result.value, []);
    assert.deepEqual(problemLines(result), [1, 2]);
    assert.match(result.problems[0].reason, /not in IPVS mode/);
  });
  test('IPv6, UDP, FWM, scheduler flags, --stats', () => {
    const text = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  [fd00:10:96::1]:443 rr
  -> [fd00:10:244::5]:6443        Masq    1      3          0
UDP  10.96.0.10:53 sh flag-1,flag-2
  -> 10.244.0.3:53                Route   1      0          4
FWM  100 wlc
  -> 10.244.0.4:80                Tunnel  2      0          0
`;
    const result = parseIpvsadm(text);
    assert.deepEqual(result.problems, []);
    const [v6, udp, fwm] = result.value;
    assert.equal(v6.vip, 'fd00:10:96::1');
    assert.equal(v6.port, 443);
    assert.deepEqual(v6.realServers[0], { address: 'fd00:10:244::5', port: 6443, forward: 'Masq', weight: 1, activeConn: 3, inactConn: 0 });
    assert.deepEqual(udp.flags, ['flag-1', 'flag-2']);
    assert.equal(udp.realServers[0].forward, 'Route');
    assert.equal(fwm.fwmark, 100);
    assert.equal(fwm.vip, null);
    const stats = parseIpvsadm(`Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.96.0.1:443                      1        6        0      360        0
  -> 10.10.50.6:6443                    1        6        0      360       12K
`);
    assert.deepEqual(stats.problems, []);
    assert.equal(stats.value[0].stats?.InBytes, 360);
    assert.equal(stats.value[0].realServers[0].stats?.OutBytes, 12_000);
  });
  test('garbage lines and orphan real servers are problems', () => {
    const entry = corpusFiles('ipvs').find((item) => item.name.startsWith('k8s99162'));
    assert.ok(entry);
    const { text, lineNumber } = appendLine(entry.body, 'ipvsadm: Permission denied (you must be root)');
    const result = parseIpvsadm(text);
    assert.deepEqual(result.value, parseIpvsadm(entry.body).value);
    assert.deepEqual(problemLines(result), [lineNumber]);
    assert.deepEqual(problemLines(parseIpvsadm('  -> 10.0.0.1:80 Masq 1 0 0\n')), [1]);
  });
});

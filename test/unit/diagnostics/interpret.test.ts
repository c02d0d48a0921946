/**
 * Reading real tool output the way the diagnostics do: the pod's primary interface from real
 * `ip addr` captures, the route from this machine's own `ip route get`, dig outcomes from
 * real dig captures.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { parseIpAddr } from '../../../src/parsers/ipAddr';
import { parseDig } from '../../../src/parsers/dig';
import { parseRouteGet, primaryInterface } from '../../../src/diagnostics/veth';
import { digOutcome } from '../../../src/diagnostics/dig';
import { corpusFiles } from '../parsers/corpusFiles';

describe('primaryInterface', () => {
  test('in every pod-side capture: the interface holding an address, never loopback', () => {
    for (const entry of corpusFiles('ip-addr')) {
      const interfaces = parseIpAddr(entry.body).value;
      const addresses = interfaces.flatMap((item) => (item.name === 'lo' ? [] : item.addresses.filter((address) => address.family === 'inet').map((address) => address.address)));
      const primary = primaryInterface(interfaces, addresses.slice(0, 1));
      if (interfaces.every((item) => item.name === 'lo' || item.linkType === 'loopback')) {
        assert.equal(primary, null, entry.name);
        continue;
      }
      assert.ok(primary !== null, entry.name);
      assert.notEqual(primary.linkType, 'loopback', entry.name);
      if (addresses.length > 0) {
        assert.ok(primary.addresses.some((address) => address.address === addresses[0]), entry.name);
      }
    }
  });

  test('the minikube pod capture pairs eth0 with the node index it names', () => {
    const entry = corpusFiles('ip-addr').find((item) => item.name === 'minikube-kindnet-pod-nsenter-ip-a.txt');
    assert.ok(entry);
    const interfaces = parseIpAddr(entry.body).value;
    const eth0 = interfaces.find((item) => item.name === 'eth0');
    assert.ok(eth0);
    const primary = primaryInterface(interfaces, eth0.addresses.map((address) => address.address));
    assert.equal(primary, eth0);
    assert.equal(typeof primary.peerIndex, 'number');
  });
});

describe('parseRouteGet', () => {
  test("reads this machine's own route to loopback", () => {
    const result = spawnSync('ip', ['route', 'get', '127.0.0.1'], { encoding: 'utf8' });
    if (result.status !== 0) {
      return;
    }
    const route = parseRouteGet('127.0.0.1', result.stdout);
    assert.equal(route.dev, 'lo');
    assert.equal(route.src, '127.0.0.1');
    assert.equal(route.via, null);
  });
});

describe('digOutcome', () => {
  test('classifies every dig capture by its status and answers', () => {
    for (const entry of corpusFiles('dns')) {
      if (entry.name.startsWith('resolvconf')) {
        continue;
      }
      const parsed = parseDig(entry.body).value;
      const outcome = digOutcome(parsed, 0);
      if (parsed.status === 'NXDOMAIN') {
        assert.equal(outcome, 'nxdomain', entry.name);
      } else if (parsed.status === 'NOERROR') {
        assert.equal(outcome, parsed.answers.length > 0 ? 'answer' : 'no-data', entry.name);
      }
    }
  });

  test('a reply that never came is a timeout', () => {
    const parsed = parseDig(';; connection timed out; no servers could be reached\n').value;
    assert.equal(digOutcome(parsed, 9), 'timeout');
  });
});

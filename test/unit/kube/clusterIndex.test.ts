import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

import { ChangeAccumulator, ClusterIndex, compareNames } from '../../../src/kube/clusterIndex.js';
import { namespaceObject, nodeObject, podObject, serviceObject } from './support/miniApiServer.js';

const pod = (namespace: string, name: string, fields: Parameters<typeof podObject>[2] = {}): V1Pod =>
  podObject(namespace, name, fields) as unknown as V1Pod;
const service = (namespace: string, name: string, ip: string): V1Service => serviceObject(namespace, name, ip) as unknown as V1Service;
const node = (name: string, ip: string, ready = true): V1Node => nodeObject(name, ip, ready) as unknown as V1Node;
const namespace = (name: string, labels: Record<string, string> = {}): V1Namespace => namespaceObject(name, labels) as unknown as V1Namespace;

function withVersion<T extends { metadata?: { resourceVersion?: string } }>(object: T, version: string): T {
  return { ...object, metadata: { ...object.metadata, resourceVersion: version } };
}

describe('ClusterIndex', () => {
  it('indexes pods and services by namespace, sorted naturally', () => {
    const index = new ClusterIndex();
    for (const name of ['web-10', 'web-2', 'web-1']) {
      index.upsert('pods', pod('shop', name));
    }
    index.upsert('services', service('shop', 'web', '198.18.128.10'));
    index.upsert('pods', pod('other', 'a'));
    assert.deepEqual(
      index.pods('shop').map((entry) => entry.metadata?.name),
      ['web-1', 'web-2', 'web-10'],
    );
    assert.equal(index.podCount('shop'), 3);
    assert.equal(index.serviceCount('shop'), 1);
    assert.equal(index.serviceCount('other'), 0);
    assert.deepEqual(index.namespaceNames(), ['other', 'shop']);
    assert.deepEqual(index.counts(), { namespaces: 2, nodes: 0, pods: 4, services: 1 });
  });

  it('records what changed: one namespace for a pod update, the list for a new namespace', () => {
    const changes = new ChangeAccumulator();
    const index = new ClusterIndex(changes);
    index.upsert('namespaces', namespace('shop'));
    index.upsert('pods', pod('shop', 'web-1', { podIP: '198.19.1.1' }));
    changes.take();

    index.upsert('pods', pod('shop', 'web-1', { podIP: '198.19.1.2' }));
    const update = changes.take();
    assert.deepEqual([...(update?.namespaces ?? [])], ['shop']);
    assert.equal(update?.namespaceList, false);

    index.upsert('pods', pod('brand-new', 'x'));
    const added = changes.take();
    assert.equal(added?.namespaceList, true);
    assert.deepEqual([...(added?.namespaces ?? [])], ['brand-new']);

    index.remove('pods', pod('brand-new', 'x'));
    const removed = changes.take();
    assert.equal(removed?.namespaceList, true);
    assert.deepEqual(index.namespaceNames(), ['shop']);

    // Removing the last pod of a namespace that exists as an object keeps the namespace.
    index.remove('pods', pod('shop', 'web-1'));
    const emptied = changes.take();
    assert.equal(emptied?.namespaceList, false);
    assert.deepEqual(index.namespaceNames(), ['shop']);
    assert.equal(changes.take(), undefined);
  });

  it('ignores updates that change nothing visible (node heartbeats, resourceVersion bumps)', () => {
    const changes = new ChangeAccumulator();
    const index = new ClusterIndex(changes);
    index.upsert('nodes', withVersion(node('node-a', '198.18.0.11'), '1'));
    index.upsert('pods', withVersion(pod('shop', 'web-1', { podIP: '198.19.1.1' }), '1'));
    changes.take();
    index.upsert('nodes', withVersion(node('node-a', '198.18.0.11'), '2'));
    index.upsert('pods', withVersion(pod('shop', 'web-1', { podIP: '198.19.1.1' }), '2'));
    assert.equal(changes.take(), undefined);
    // ...but the newest object is kept.
    assert.equal(index.pod('shop', 'web-1')?.metadata?.resourceVersion, '2');
    assert.equal(index.pods('shop')[0]?.metadata?.resourceVersion, '2');

    index.upsert('nodes', withVersion(node('node-a', '198.18.0.11', false), '3'));
    assert.equal(changes.take()?.nodes, true);
  });

  it('keeps the sorted view in step with in-place updates', () => {
    const index = new ClusterIndex();
    index.upsert('pods', pod('shop', 'b'));
    index.upsert('pods', pod('shop', 'a'));
    const view = index.pods('shop');
    assert.deepEqual(view.map((entry) => entry.metadata?.name), ['a', 'b']);
    index.upsert('pods', pod('shop', 'b', { podIP: '198.19.9.9' }));
    assert.equal(index.pods('shop')[1]?.status?.podIP, '198.19.9.9');
  });

  it('shows pinned namespaces even when nothing is known in them', () => {
    const changes = new ChangeAccumulator();
    const index = new ClusterIndex(changes);
    index.pinNamespace('mine');
    assert.deepEqual(index.namespaceNames(), ['mine']);
    assert.equal(changes.take()?.namespaceList, true);
    index.clear();
    assert.deepEqual(index.namespaceNames(), []);
    assert.equal(changes.take()?.all, true);
  });

  it('handles 10,000 pods, 3,000 services and 500 namespaces, and an update touches one namespace', () => {
    const changes = new ChangeAccumulator();
    const index = new ClusterIndex(changes);
    for (let n = 0; n < 500; n += 1) {
      index.upsert('namespaces', namespace(`ns-${n}`));
    }
    for (let p = 0; p < 10_000; p += 1) {
      index.upsert('pods', pod(`ns-${p % 500}`, `pod-${p}`, { podIP: `198.19.${Math.floor(p / 250)}.${p % 250}` }));
    }
    for (let s = 0; s < 3_000; s += 1) {
      index.upsert('services', service(`ns-${s % 500}`, `svc-${s}`, `198.18.${128 + Math.floor(s / 250)}.${s % 250}`));
    }
    assert.deepEqual(index.counts(), { namespaces: 500, nodes: 0, pods: 10_000, services: 3_000 });
    assert.equal(index.pods('ns-7').length, 20);
    assert.equal(index.services('ns-7').length, 6);
    changes.take();

    index.upsert('pods', pod('ns-7', 'pod-7', { podIP: '198.19.200.1' }));
    const change = changes.take();
    assert.deepEqual([...(change?.namespaces ?? [])], ['ns-7']);
    assert.equal(change?.namespaceList, false);
    assert.equal(change?.all, false);
    assert.equal(index.pod('ns-7', 'pod-7')?.status?.podIP, '198.19.200.1');
  });
});

describe('compareNames', () => {
  it('orders numbers inside names naturally and is total', () => {
    assert.deepEqual(['pod-10', 'pod-9', 'pod-1', 'Pod-1'].sort(compareNames), ['Pod-1', 'pod-1', 'pod-9', 'pod-10']);
  });
});

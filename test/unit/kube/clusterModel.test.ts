import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { ClusterChange } from '../../../src/kube/clusterIndex.js';
import { backoffDelay, ClusterModel } from '../../../src/kube/clusterModel.js';
import type { ClusterModelOptions, ConnectionState } from '../../../src/kube/clusterModel.js';
import { silentLogger } from '../../../src/util/log.js';
import { MiniApiServer, namespaceObject, nodeObject, podObject, serviceObject } from './support/miniApiServer.js';

/** Waits until `predicate` holds; fails after `limitMs` instead of hanging. */
async function waitFor(what: string, predicate: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function newModel(options: Partial<ClusterModelOptions> = {}): ClusterModel {
  return new ClusterModel({
    log: silentLogger,
    coalesceMs: 20,
    pageSize: 2,
    listTimeoutMs: 5_000,
    sessionBackoff: { initialMs: 60_000, maxMs: 60_000 },
    watchBackoff: { initialMs: 50, maxMs: 200 },
    ...options,
  });
}

function seed(server: MiniApiServer): void {
  server.put('namespaces', namespaceObject('default'));
  server.put('namespaces', namespaceObject('kube-system'));
  server.put('namespaces', namespaceObject('shop', { team: 'web' }));
  server.put('nodes', nodeObject('node-a', '198.18.0.11'));
  server.put('nodes', nodeObject('node-b', '198.18.0.12', false));
  server.put('pods', podObject('shop', 'web-1', { podIP: '198.19.1.10', nodeName: 'node-a' }));
  server.put('pods', podObject('shop', 'web-2', { podIP: '198.19.2.10', nodeName: 'node-b' }));
  server.put('pods', podObject('shop', 'web-10', { podIP: '198.19.2.11', nodeName: 'node-b' }));
  server.put('pods', podObject('kube-system', 'coredns-1', { podIP: '198.19.1.2', nodeName: 'node-a' }));
  server.put('pods', podObject('default', 'pending-1', { phase: 'Pending' }));
  server.put('services', serviceObject('shop', 'web', '198.18.128.10'));
  server.put('services', serviceObject('kube-system', 'kube-dns', '198.18.128.2', 53));
}

describe('ClusterModel against a list+watch API', () => {
  const server = new MiniApiServer();
  before(async () => {
    await server.start();
    seed(server);
  });
  after(async () => {
    await server.stop();
  });

  it('lists everything (paged), becomes ready and follows watch events namespace by namespace', async () => {
    const model = newModel();
    const states: ConnectionState['phase'][] = [];
    const changes: ClusterChange[] = [];
    model.onDidChangeState((state) => states.push(state.phase));
    model.onDidChange((change) => changes.push(change));
    try {
      model.start({ kubeConfig: server.kubeConfig(), contextName: 'mini' });
      await waitFor('ready', () => model.state.phase === 'ready');
      // The first list arrives as one "everything changed" event.
      await waitFor('initial change', () => changes.some((change) => change.all));
      assert.deepEqual(states.slice(0, 2), ['connecting', 'ready']);
      assert.deepEqual(model.index.namespaceNames(), ['default', 'kube-system', 'shop']);
      assert.deepEqual(
        model.index.pods('shop').map((pod) => pod.metadata?.name),
        ['web-1', 'web-2', 'web-10'],
      );
      assert.equal(model.index.nodes().length, 2);
      assert.equal(model.index.serviceCount('kube-system'), 1);
      // pageSize 2: the pod list took several pages.
      assert.ok(server.requests.some((request) => request.startsWith('GET /api/v1/pods?') && request.includes('continue=')));
      await waitFor('four watches', () => server.openWatches === 4);

      model.flushChanges();
      changes.length = 0;
      server.put('pods', podObject('shop', 'web-3', { podIP: '198.19.1.11', nodeName: 'node-a' }));
      await waitFor('pod added', () => model.index.pod('shop', 'web-3') !== undefined);
      await waitFor('change event', () => changes.some((change) => change.namespaces.has('shop')));
      const added = changes.find((change) => change.namespaces.has('shop'));
      assert.ok(added !== undefined);
      assert.equal(added.all, false);
      assert.equal(added.namespaceList, false);
      assert.deepEqual([...added.namespaces], ['shop']);

      changes.length = 0;
      server.put('pods', podObject('fresh', 'first', { podIP: '198.19.1.20', nodeName: 'node-a' }));
      await waitFor('namespace list change', () => changes.some((change) => change.namespaceList));
      assert.ok(model.index.namespaceNames().includes('fresh'));

      changes.length = 0;
      server.remove('pods', 'shop', 'web-1');
      await waitFor('pod removed', () => model.index.pod('shop', 'web-1') === undefined);
      await waitFor('removal event', () => changes.some((change) => change.namespaces.has('shop')));
    } finally {
      model.dispose();
    }
    await waitFor('watches closed', () => server.openWatches === 0);
  });

  it('re-watches after the server ends a watch stream, without listing again', async () => {
    const model = newModel();
    try {
      model.start({ kubeConfig: server.kubeConfig(), contextName: 'mini' });
      await waitFor('ready', () => model.state.phase === 'ready');
      await waitFor('four watches', () => server.openWatches === 4);
      const listsBefore = server.requests.filter((request) => !request.includes('watch=true')).length;
      server.closeWatches();
      await waitFor('watches reopened', () => server.openWatches === 4);
      server.put('pods', podObject('shop', 'after-rewatch', { podIP: '198.19.1.30' }));
      await waitFor('event after re-watch', () => model.index.pod('shop', 'after-rewatch') !== undefined);
      const listsAfter = server.requests.filter((request) => !request.includes('watch=true')).length;
      assert.equal(listsAfter, listsBefore);
    } finally {
      model.dispose();
    }
  });

  it('reports a broken watch as lost, keeps the data, and recovers by itself', async () => {
    const model = newModel();
    try {
      model.start({ kubeConfig: server.kubeConfig(), contextName: 'mini' });
      await waitFor('ready', () => model.state.phase === 'ready');
      await waitFor('four watches', () => server.openWatches === 4);
      const podsBefore = model.index.counts().pods;
      server.watchStatus = 500;
      server.closeWatches();
      await waitFor('lost', () => model.state.phase === 'ready' && model.state.lost !== undefined);
      assert.equal(model.index.counts().pods, podsBefore);
      server.watchStatus = undefined;
      await waitFor('recovered', () => model.state.phase === 'ready' && model.state.lost === undefined);
      server.put('pods', podObject('shop', 'after-recovery', { podIP: '198.19.1.31' }));
      await waitFor('event after recovery', () => model.index.pod('shop', 'after-recovery') !== undefined);
    } finally {
      server.watchStatus = undefined;
      model.dispose();
    }
  });

  it('falls back to the context namespace when listing across namespaces is forbidden', async () => {
    const model = newModel();
    server.forbidden.add('/api/v1/pods');
    server.forbidden.add('/api/v1/services');
    server.forbidden.add('/api/v1/nodes');
    try {
      model.start({ kubeConfig: server.kubeConfig('shop'), contextName: 'mini' });
      await waitFor('ready', () => model.state.phase === 'ready');
      const state = model.state;
      assert.equal(state.phase, 'ready');
      const pods = state.limitations.find((limitation) => limitation.resource === 'pods');
      assert.equal(pods?.namespace, 'shop');
      assert.equal(pods?.problem.kind, 'forbidden');
      assert.equal(pods?.problem.forbidden?.verb, 'list');
      assert.equal(pods?.problem.forbidden?.resource, 'pods');
      const nodes = state.limitations.find((limitation) => limitation.resource === 'nodes');
      assert.equal(nodes?.namespace, undefined);
      assert.equal(model.accessProblem('pods', 'shop'), undefined);
      assert.equal(model.accessProblem('pods', 'default')?.kind, 'forbidden');
      assert.equal(model.accessProblem('nodes')?.kind, 'forbidden');
      assert.ok(model.index.podCount('shop') > 0);
      assert.equal(model.index.podCount('kube-system'), 0);
      assert.ok(server.requests.some((request) => request.startsWith('GET /api/v1/namespaces/shop/pods?')));
    } finally {
      server.forbidden.clear();
      model.dispose();
    }
  });

  it('goes to an error state with the problem kind when the credentials are rejected', async () => {
    const model = newModel();
    server.unauthorized = true;
    try {
      model.start({ kubeConfig: server.kubeConfig(), contextName: 'mini' });
      await waitFor('error', () => model.state.phase === 'error');
      const state = model.state;
      assert.equal(state.phase, 'error');
      assert.equal(state.problem.kind, 'unauthorized');
      assert.equal(state.problem.status, 401);
      assert.ok(state.retryAt !== undefined);
      assert.equal(model.index.counts().pods, 0);

      server.unauthorized = false;
      model.retry();
      await waitFor('ready after retry', () => model.state.phase === 'ready');
      assert.ok(model.index.counts().pods > 0);
    } finally {
      server.unauthorized = false;
      model.dispose();
    }
  });

  it('says unreachable when nothing listens, and connects on retry once the server is up', async () => {
    const late = new MiniApiServer();
    const port = await late.start();
    const kubeConfig = late.kubeConfig();
    await late.stop();
    const model = newModel();
    const revived = new MiniApiServer();
    try {
      model.start({ kubeConfig, contextName: 'mini' });
      await waitFor('error', () => model.state.phase === 'error');
      const state = model.state;
      assert.equal(state.phase, 'error');
      assert.equal(state.problem.kind, 'unreachable');
      assert.equal(state.problem.code, 'ECONNREFUSED');

      await revived.start(port);
      revived.put('pods', podObject('default', 'alive', { podIP: '198.19.3.3' }));
      model.retry();
      await waitFor('ready', () => model.state.phase === 'ready');
      assert.ok(model.index.pod('default', 'alive') !== undefined);
    } finally {
      model.dispose();
      await revived.stop();
    }
  });

  it('forgets everything and stops watching on stop()', async () => {
    const model = newModel();
    try {
      model.start({ kubeConfig: server.kubeConfig(), contextName: 'mini' });
      await waitFor('ready', () => model.state.phase === 'ready');
      model.stop();
      assert.equal(model.state.phase, 'idle');
      assert.equal(model.index.counts().pods, 0);
      await waitFor('watches closed', () => server.openWatches === 0);
      server.put('pods', podObject('shop', 'after-stop'));
      assert.equal(model.index.pod('shop', 'after-stop'), undefined);
    } finally {
      model.dispose();
    }
  });
});

describe('backoffDelay', () => {
  it('doubles up to the maximum, with bounded jitter', () => {
    const options = { initialMs: 1_000, maxMs: 30_000 };
    const middle = () => 0.5;
    assert.equal(backoffDelay(1, options, middle), 1_000);
    assert.equal(backoffDelay(2, options, middle), 2_000);
    assert.equal(backoffDelay(5, options, middle), 16_000);
    assert.equal(backoffDelay(50, options, middle), 30_000);
    assert.equal(backoffDelay(1, options, () => 0), 800);
    assert.equal(backoffDelay(1, options, () => 1), 1_200);
    assert.ok(backoffDelay(50, options, () => 1) <= 30_000);
  });
});

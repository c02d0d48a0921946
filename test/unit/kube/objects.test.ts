import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { CoreV1Api } from '@kubernetes/client-node';
import type { V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

import { formatServicePort, summarizeNode, summarizePod, summarizeService } from '../../../src/kube/objects.js';
import { MiniApiServer, nodeObject, podObject, serviceObject } from './support/miniApiServer.js';

describe('summaries read listed (deserialized) and watched (raw JSON) objects alike', () => {
  const server = new MiniApiServer();
  before(async () => {
    await server.start();
    server.put('pods', podObject('shop', 'web-1', { podIP: '198.19.1.10', nodeName: 'node-a' }));
    server.put('services', serviceObject('shop', 'web', '198.18.128.10'));
    server.put('nodes', nodeObject('node-a', '198.18.0.11'));
  });
  after(() => server.stop());

  it('pods', async () => {
    const api = server.kubeConfig().makeApiClient(CoreV1Api);
    const listed = (await api.listNamespacedPod({ namespace: 'shop' })).items[0];
    assert.ok(listed !== undefined);
    assert.ok(listed.metadata?.creationTimestamp instanceof Date);
    const raw = podObject('shop', 'web-1', { podIP: '198.19.1.10', nodeName: 'node-a' }) as unknown as V1Pod;
    const fromList = summarizePod(listed);
    const fromWatch = summarizePod(raw);
    assert.deepEqual(fromList, fromWatch);
    assert.equal(fromList.podIP, '198.19.1.10');
    assert.equal(fromList.nodeName, 'node-a');
    assert.equal(fromList.createdAt, '2024-05-01T10:00:00.000Z');
    assert.equal(fromList.containers[0]?.containerID, `containerd://${'ab'.repeat(32)}`);
  });

  it('services and nodes', async () => {
    const api = server.kubeConfig().makeApiClient(CoreV1Api);
    const service = (await api.listNamespacedService({ namespace: 'shop' })).items[0];
    const node = (await api.listNode()).items[0];
    assert.ok(service !== undefined && node !== undefined);
    assert.deepEqual(summarizeService(service), summarizeService(serviceObject('shop', 'web', '198.18.128.10') as unknown as V1Service));
    assert.deepEqual(summarizeNode(node), summarizeNode(nodeObject('node-a', '198.18.0.11') as unknown as V1Node));
    assert.equal(summarizeNode(node).internalIP, '198.18.0.11');
    assert.equal(summarizeNode(node).ready, true);
  });
});

describe('summarizePod', () => {
  it('tolerates a pod with no status, spec or metadata fields', () => {
    const summary = summarizePod({} as V1Pod);
    assert.equal(summary.phase, 'Unknown');
    assert.equal(summary.podIP, undefined);
    assert.equal(summary.nodeName, undefined);
    assert.deepEqual(summary.containers, []);
  });

  it("says what kubectl's STATUS column says", () => {
    const pending = podObject('shop', 'p', { phase: 'Pending' }) as unknown as V1Pod;
    const waiting = pending.status?.containerStatuses?.[0];
    assert.ok(waiting !== undefined);
    waiting.state = { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } };
    assert.equal(summarizePod(pending).status, 'ImagePullBackOff');
    assert.equal(summarizePod(pending).containers[0]?.state, 'waiting (ImagePullBackOff)');

    const deleting = podObject('shop', 'd') as unknown as V1Pod;
    (deleting.metadata as { deletionTimestamp?: string }).deletionTimestamp = '2024-05-01T11:00:00Z';
    assert.equal(summarizePod(deleting).status, 'Terminating');
    assert.equal(summarizePod(deleting).terminating, true);

    const evicted = { metadata: { name: 'e', namespace: 'n' }, status: { phase: 'Failed', reason: 'Evicted' } } as unknown as V1Pod;
    assert.equal(summarizePod(evicted).status, 'Evicted');
    assert.equal(summarizePod(evicted).phase, 'Failed');
  });

  it('reads dual-stack pod IPs, and podIPs without podIP', () => {
    const pod = {
      metadata: { name: 'd', namespace: 'n' },
      status: { phase: 'Running', podIPs: [{ ip: '198.19.0.5' }, { ip: 'fd00::5' }] },
    } as unknown as V1Pod;
    assert.equal(summarizePod(pod).podIP, '198.19.0.5');
    assert.deepEqual(summarizePod(pod).podIPs, ['198.19.0.5', 'fd00::5']);
  });
});

describe('summarizeService and formatServicePort', () => {
  it('reads headless, ExternalName and NodePort services', () => {
    const headless = summarizeService({ metadata: { name: 'h', namespace: 'n' }, spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432 }] } } as V1Service);
    assert.equal(headless.headless, true);
    assert.equal(headless.clusterIP, undefined);
    assert.deepEqual(headless.clusterIPs, []);
    assert.equal(headless.type, 'ClusterIP');

    const external = summarizeService({ metadata: { name: 'x', namespace: 'n' }, spec: { type: 'ExternalName', externalName: 'db.example.org' } } as V1Service);
    assert.equal(external.externalName, 'db.example.org');
    assert.equal(external.clusterIP, undefined);

    const nodePort = summarizeService({
      metadata: { name: 'np', namespace: 'n' },
      spec: { type: 'NodePort', clusterIP: '198.18.128.20', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 'https' as unknown as never, nodePort: 30443 }] },
    } as V1Service);
    assert.deepEqual(nodePort.ports.map(formatServicePort), ['443:30443/TCP→https']);
  });

  it('formats ports like the tree shows them', () => {
    assert.equal(formatServicePort({ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: undefined, appProtocol: undefined }), '80/TCP→http');
    assert.equal(formatServicePort({ name: undefined, port: 53, protocol: 'UDP', targetPort: '53', nodePort: undefined, appProtocol: undefined }), '53/UDP');
  });
});

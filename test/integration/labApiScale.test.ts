/**
 * Scale mode: a second, API-only lab with thousands of objects, read the way the extension
 * reads a big cluster (paginated lists, watches from the list's resourceVersion).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, DiscoveryV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { SCALE_SIZE } from '../../lab/topology';

const labCli = path.resolve(__dirname, '..', '..', 'lab', 'cli.js');
const prefix = process.env.KNI_LAB_SCALE_PREFIX ?? 'labscale';
const environment = { ...process.env, KNI_LAB_PREFIX: prefix };
const SCALE_LABEL = 'kni-lab/scale=true';

let startedLab = false;
let core: CoreV1Api;
let kubeConfig: KubeConfig;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [labCli, ...args], { encoding: 'utf8', env: environment, timeout: 900_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

before(() => {
  const running = cli(['status']).status === 0;
  const up = cli(['up', '--scale']);
  assert.equal(up.status, 0, `lab up --scale failed:\n${up.stderr}`);
  startedLab = !running;
  const lines = up.stdout.trim().split('\n');
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(lines[lines.length - 1]);
  core = kubeConfig.makeApiClient(CoreV1Api);
});

after(() => {
  if (startedLab) {
    cli(['down']);
  }
});

describe('lab API in scale mode', () => {
  test('holds the configured numbers of namespaces, pods and services, each service with its EndpointSlice', async () => {
    const namespaces = await core.listNamespace({ labelSelector: SCALE_LABEL });
    assert.equal(namespaces.items.length, SCALE_SIZE.namespaces);
    const scaleNamespaces = new Set(namespaces.items.map((namespace) => namespace.metadata?.name));
    const services = (await core.listServiceForAllNamespaces()).items.filter((service) => scaleNamespaces.has(service.metadata?.namespace));
    assert.equal(services.length, SCALE_SIZE.services);
    const slices = (await kubeConfig.makeApiClient(DiscoveryV1Api).listEndpointSliceForAllNamespaces()).items.filter((slice) => scaleNamespaces.has(slice.metadata?.namespace));
    assert.equal(slices.length, services.length);
    const sample = services[Math.floor(services.length / 2)];
    const namespace = sample.metadata?.namespace ?? '';
    const selector = Object.entries(sample.spec?.selector ?? {}).map(([key, value]) => `${key}=${value}`).join(',');
    const selected = await core.listNamespacedPod({ namespace, labelSelector: selector });
    const slice = slices.find((item) => item.metadata?.namespace === namespace && item.metadata?.labels?.['kubernetes.io/service-name'] === sample.metadata?.name);
    assert.deepEqual((slice?.endpoints ?? []).map((endpoint) => endpoint.addresses[0]).sort(), selected.items.map((pod) => pod.status?.podIP).sort());
  });

  test('a paginated pod list walks every pod once, in key order, under one resourceVersion', async () => {
    const all = await core.listPodForAllNamespaces();
    const names: string[] = [];
    let token: string | undefined;
    let version: string | undefined;
    let pages = 0;
    do {
      const page = await core.listPodForAllNamespaces({ limit: 500, _continue: token });
      version ??= page.metadata?.resourceVersion;
      assert.equal(page.metadata?.resourceVersion, version);
      names.push(...page.items.map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`));
      token = page.metadata?._continue;
      if (token !== undefined) {
        assert.equal(page.metadata?.remainingItemCount, all.items.length - names.length);
      }
      pages++;
    } while (token !== undefined && token !== '');
    assert.equal(names.length, all.items.length);
    assert.equal(new Set(names).size, names.length);
    assert.deepEqual(names, [...names].sort());
    assert.equal(pages, Math.ceil(all.items.length / 500));
    const scalePods = all.items.filter((pod) => pod.metadata?.namespace?.startsWith('scale-'));
    assert.equal(scalePods.length, SCALE_SIZE.pods);
    assert.ok(scalePods.every((pod) => pod.status?.phase === 'Running' && /^containerd:\/\/[0-9a-f]{64}$/.test(pod.status.containerStatuses?.[0]?.containerID ?? '')));
  });

  test('a watch started from the big list resourceVersion delivers a new pod', async () => {
    const list = await core.listPodForAllNamespaces({ limit: 1 });
    const namespace = (await core.listNamespace({ labelSelector: SCALE_LABEL, limit: 1 })).items[0].metadata?.name ?? '';
    const events: string[] = [];
    const controller = await new Watch(kubeConfig).watch('/api/v1/pods', { resourceVersion: list.metadata?.resourceVersion }, (type, pod: V1Pod) => events.push(`${type} ${pod.metadata?.namespace}/${pod.metadata?.name}`), () => undefined);
    try {
      const pod = await core.createNamespacedPod({ namespace, body: { metadata: { generateName: 'it-scale-' }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } });
      const key = `${namespace}/${pod.metadata?.name}`;
      const deadline = Date.now() + 30_000;
      while (!events.includes(`ADDED ${key}`) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assert.ok(events.includes(`ADDED ${key}`), events.slice(0, 5).join('\n'));
      await core.deleteNamespacedPod({ namespace, name: pod.metadata?.name ?? '', gracePeriodSeconds: 0 });
    } finally {
      controller.abort();
    }
  });
});

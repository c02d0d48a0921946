/**
 * The debug pod, exec on a node, PID lookup and the veth/dig/netns diagnostics against the
 * real lab: its API server on 127.0.0.1 and its network namespaces. Every expected value is
 * read from the lab independently (the API, or `ip`/`dig` run by hand in its namespaces).
 * Needs root and the lab (KNI_LAB_KUBECONFIG, or it runs `lab up` itself).
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { KUBE_DNS_SERVICE_IP, LAB_PREFIX, nodeNetnsName } from '../../lab/config';
import { podNetnsName } from '../../lab/net/names';
import { DebugPodManager, nodeProblem } from '../../src/node/debugPodManager';
import type { ConsentRequest, DebugPodProgress } from '../../src/node/debugPodManager';
import { MANAGED_SELECTOR, OWNER_LABEL, buildDebugPod, newOwnerId } from '../../src/node/debugPodSpec';
import { ContainerPidError, DebugPodError, NodeExecError } from '../../src/node/errors';
import type { Logger } from '../../src/node/logger';
import { NodeExec } from '../../src/node/nodeExec';
import { DebugPodNodeRunner } from '../../src/node/nodeRunner';
import { findContainerPid } from '../../src/node/containerPid';
import { createDiagnosticContext } from '../../src/diagnostics/context';
import type { DiagnosticContext } from '../../src/diagnostics/context';
import { showVeth } from '../../src/diagnostics/veth';
import { digInPod } from '../../src/diagnostics/dig';
import { preparePodNetnsTerminal, runInNetns } from '../../src/diagnostics/netns';
import { acquireLab, debugPodsNow, eventually, loadKubeConfig, peerOfPodEth0, releaseLab, run, runningPods } from './debugPodLab';

const logLines: string[] = [];
const logger: Logger = {
  info: (message) => logLines.push(`info ${message}`),
  warn: (message) => logLines.push(`warn ${message}`),
  error: (message) => logLines.push(`error ${message}`),
};

let kubeconfigPath = '';
let kubeConfig: KubeConfig;
let core: CoreV1Api;
let manager: DebugPodManager;
let exec: NodeExec;
let runner: DebugPodNodeRunner;
let context: DiagnosticContext;
let appPods: V1Pod[] = [];
const consents: ConsentRequest[] = [];
const ownerId = `it-${newOwnerId()}`;

function podNetnsOf(pod: V1Pod): string {
  return podNetnsName(LAB_PREFIX, pod.metadata?.uid ?? '');
}

async function ourPods(owner = ownerId): Promise<V1Pod[]> {
  return (await debugPodsNow(kubeConfig)).filter((pod) => pod.metadata?.labels?.[OWNER_LABEL] === owner);
}

before(async () => {
  kubeconfigPath = await acquireLab();
  kubeConfig = loadKubeConfig(kubeconfigPath);
  core = kubeConfig.makeApiClient(CoreV1Api);
  manager = new DebugPodManager({
    kubeConfig,
    ownerId,
    logger,
    settings: { lifetimeSeconds: 600, idleTimeoutSeconds: 0, startTimeoutSeconds: 60 },
    consent: async (request) => {
      consents.push(request);
      return true;
    },
  });
  exec = new NodeExec(kubeConfig, logger);
  runner = new DebugPodNodeRunner(manager, exec);
  context = createDiagnosticContext(kubeConfig, runner, logger);
  await eventually(async () => (appPods = await runningPods(kubeConfig, 'lab-apps')).length >= 2, 60_000, 'running pods in lab-apps');
});

after(async () => {
  await manager?.dispose();
  await releaseLab();
});

describe('the debug pod', () => {
  test('is created once per node after one consent, and reused', async () => {
    const nodeName = appPods[0].spec!.nodeName!;
    const progress: DebugPodProgress[] = [];
    const first = await manager.acquire(nodeName, { onProgress: (item) => progress.push(item) });
    const second = await manager.acquire(nodeName);
    assert.equal(second.podName, first.podName);
    assert.ok(progress.some((item) => item.stage === 'creating'));
    assert.equal(consents.length, 1);
    assert.equal(consents[0].nodeName, nodeName);
    assert.equal(consents[0].namespace, 'default');
    assert.ok(consents[0].privileges.length >= 3);

    const live = await core.readNamespacedPod({ namespace: first.namespace, name: first.podName });
    assert.equal(live.status?.phase, 'Running');
    assert.equal(live.spec?.nodeName, nodeName);
    assert.equal(live.spec?.hostNetwork, true);
    assert.equal(live.spec?.hostPID, true);
    assert.equal((await ourPods()).filter((pod) => pod.spec?.nodeName === nodeName).length, 1);

    const other = appPods.find((pod) => pod.spec?.nodeName !== nodeName);
    if (other !== undefined) {
      await manager.acquire(other.spec!.nodeName!);
      assert.equal(consents.length, 1, 'consent is asked once per cluster');
      assert.equal(manager.count, 2);
      assert.equal((await ourPods()).length, 2);
    }
  });

  test('exec on the node: exit codes, streamed and capped output, hostile words stay words', async () => {
    const pod = await manager.acquire(appPods[0].spec!.nodeName!);
    const ok = await exec.run(pod, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(ok.exitCode, 3);
    assert.equal(ok.stdout, 'out\n');
    assert.equal(ok.stderr, 'err\n');
    assert.equal(ok.truncated, false);

    const hostile = ['$(id)', '; rm -rf /', '`uname`', "it's", 'a b'];
    const echoed = await exec.run(pod, ['printf', '%s\\n', ...hostile]);
    assert.equal(echoed.exitCode, 0);
    assert.deepEqual(echoed.stdout.split('\n').slice(0, -1), hostile);

    let streamed = 0;
    const big = await exec.run(pod, ['sh', '-c', 'head -c 200000 /dev/zero | tr "\\000" a'], { maxBufferBytes: 1000, onStdout: (chunk) => (streamed += chunk.length) });
    assert.equal(big.truncated, true);
    assert.equal(big.stdout.length, 1000);
    assert.equal(streamed, 200000);
  });

  test('exec on the node: time limit and cancellation', async () => {
    const pod = await manager.acquire(appPods[0].spec!.nodeName!);
    await assert.rejects(exec.run(pod, ['sleep', '30'], { timeoutMs: 1500 }), (error) => NodeExecError.is(error, 'timeout'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 500);
    await assert.rejects(exec.run(pod, ['sleep', '30'], { signal: controller.signal }), (error) => NodeExecError.is(error, 'cancelled'));
  });

  test('node checks: a Ready Linux node passes; the same node NotReady or Windows does not', async () => {
    const node = await core.readNode({ name: appPods[0].spec!.nodeName! });
    const details = { nodeName: node.metadata!.name!, namespace: 'default', image: 'x' };
    assert.equal(nodeProblem(node, details), undefined);
    const notReady = structuredClone(node);
    const ready = notReady.status!.conditions!.find((condition) => condition.type === 'Ready')!;
    Object.assign(ready, { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    const problem = nodeProblem(notReady, details);
    assert.ok(DebugPodError.is(problem, 'node-not-ready'));
    assert.match(problem.message, /NotReady \(NodeStatusUnknown: Kubelet stopped posting node status\.\)/);
    const windows = structuredClone(node);
    windows.metadata!.labels = { ...windows.metadata!.labels, 'kubernetes.io/os': 'windows' };
    assert.ok(DebugPodError.is(nodeProblem(windows, details), 'windows-node'));
  });

  test('a missing node is a clear error and creates nothing', async () => {
    await assert.rejects(manager.acquire('no-such-node'), (error) => DebugPodError.is(error, 'node-not-found'));
  });
});

describe('container PID', () => {
  test('is found by the cgroup scan and is the pod netns owner', async () => {
    const pod = appPods[0];
    const result = await findContainerPid(runner, pod, { logger });
    assert.equal(result.method, 'cgroup-scan', 'the lab has no /host and no crictl');
    assert.deepEqual(result.problems, []);
    // The PID's network namespace is the pod's: same inode as `ip netns` names.
    const own = await run('readlink', [`/proc/${result.pid}/ns/net`]);
    const named = await run('ip', ['netns', 'identify', String(result.pid)]);
    assert.equal(named.stdout.trim(), podNetnsOf(pod), own.stdout);
    assert.ok(logLines.some((line) => line.includes('via cgroup-scan')));
  });

  test('refuses a pod without a running container', async () => {
    const fake: V1Pod = { metadata: { namespace: 'x', name: 'y' }, spec: { nodeName: 'lab-worker', containers: [] }, status: { containerStatuses: [] } };
    await assert.rejects(findContainerPid(runner, fake), (error) => ContainerPidError.is(error, 'no-container-id'));
  });
});

describe('Show veth', () => {
  test("names the node-side veth that ip in the node's namespace reports as the pod's peer", async () => {
    for (const pod of appPods.slice(0, 3)) {
      const result = await showVeth(context, { namespace: 'lab-apps', name: pod.metadata!.name! });
      const truth = await peerOfPodEth0(podNetnsOf(pod), pod.spec!.nodeName!);
      assert.equal(result.hostNetwork, false);
      assert.equal(result.podInterface?.name, 'eth0');
      assert.equal(result.podInterface?.index, truth.podIndex);
      assert.equal(result.podInterface?.peerIndex, truth.peerIndex);
      assert.equal(result.nodeInterface?.name, truth.nodeName);
      assert.equal(result.nodeInterface?.index, truth.nodeIndex);
      assert.equal(result.nodeInterface?.mac, truth.mac);
      assert.equal(result.indexMatch?.forward, true);
      assert.equal(result.indexMatch?.reverse, truth.nodePeerIndex === truth.podIndex);
      assert.ok(result.podInterface?.addresses.some((address) => address.address === pod.status?.podIP));
      assert.ok(result.route?.dev !== null && result.route?.dev !== undefined);
      assert.ok(result.manualCommands.some((command) => command.command.includes(`nsenter -t ${result.pid?.pid} -n ip addr`)));
      assert.ok(result.manualCommands.some((command) => command.command.includes(`^${truth.peerIndex}:`)));
      const bridge = await run('ip', ['-n', nodeNetnsName(pod.spec!.nodeName!), '-o', 'link', 'show', 'dev', truth.nodeName]);
      const master = /master (\S+)/.exec(bridge.stdout)?.[1] ?? null;
      assert.equal(result.nodeInterface?.master, master);
    }
  });
});

describe('Show veth on a hostNetwork pod', () => {
  test("explains there is no veth and lists the node's interfaces as ip does", async () => {
    const proxies = (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=kube-proxy' })).items.filter((pod) => pod.status?.phase === 'Running' && pod.spec?.hostNetwork === true);
    assert.ok(proxies.length > 0, 'the lab runs kube-proxy pods with hostNetwork');
    const pod = proxies[0];
    const result = await showVeth(context, { namespace: 'kube-system', name: pod.metadata!.name! });
    assert.equal(result.hostNetwork, true);
    assert.equal(result.nodeInterface, null);
    assert.match(result.notes[0], /no veth of its own/);
    const links = await run('ip', ['-n', nodeNetnsName(pod.spec!.nodeName!), '-o', 'link']);
    const names = links.stdout
      .split('\n')
      .map((line) => /^\d+:\s+([^:@\s]+)/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined)
      .sort();
    assert.deepEqual(result.nodeInterfaces.map((item) => item.name).sort(), names);
  });
});

describe('Open pod netns terminal', () => {
  test("an interactive shell runs in the pod's network namespace", async () => {
    const pod = appPods[0];
    const spec = await preparePodNetnsTerminal({ ...context, runner }, { namespace: 'lab-apps', name: pod.metadata!.name! });
    let output = '';
    const session = await exec.startInteractive(spec.target, spec.argv, { columns: 100, rows: 30, onOutput: (text) => (output += text) });
    session.resize(120, 40);
    session.write('ip -o -4 addr show dev eth0; exit 5\n');
    const exit = await session.exited;
    spec.release();
    assert.equal(exit.exitCode, 5, output);
    assert.ok(output.includes(`inet ${pod.status!.podIP}/`), output);
  });
});

describe('Dig in pod netns', () => {
  test("answers a service's name with its ClusterIP from the API, as dig by hand does", async () => {
    const services = (await core.listNamespacedService({ namespace: 'lab-apps' })).items.filter((item) => item.spec?.clusterIP !== undefined && item.spec.clusterIP !== 'None');
    assert.ok(services.length > 0);
    const service = services[0];
    const name = `${service.metadata!.name}.lab-apps.svc.cluster.local`;
    const pod = appPods[0];
    const result = await digInPod(context, { namespace: 'lab-apps', name: pod.metadata!.name! }, name);
    const viaService = result.queries.find((query) => query.target === 'cluster-ip');
    assert.equal(viaService?.server, KUBE_DNS_SERVICE_IP);
    assert.equal(viaService?.result.status, 'NOERROR');
    assert.deepEqual(viaService?.result.answers.map((answer) => answer.data), [service.spec!.clusterIP]);
    assert.equal(result.dnsService.clusterIP, (await core.readNamespacedService({ namespace: 'kube-system', name: 'kube-dns' })).spec?.clusterIP);
    for (const query of result.queries.filter((item) => item.target === 'endpoint')) {
      assert.deepEqual(query.result.answers.map((answer) => answer.data), [service.spec!.clusterIP], query.server);
    }
    assert.ok(result.resolvConf?.nameservers.includes(KUBE_DNS_SERVICE_IP));
    assert.ok(result.resolvConf?.search.includes('lab-apps.svc.cluster.local'));

    const byHand = await run('ip', ['netns', 'exec', podNetnsOf(pod), 'dig', '+short', '+time=2', '+tries=1', name, `@${KUBE_DNS_SERVICE_IP}`]);
    assert.equal(byHand.stdout.trim(), service.spec!.clusterIP);
  });

  test('says NXDOMAIN for a missing name and explains it', async () => {
    const pod = appPods[0];
    const result = await digInPod(context, { namespace: 'lab-apps', name: pod.metadata!.name! }, `no-such-service-${newOwnerId()}.lab-apps.svc.cluster.local`);
    const viaService = result.queries.find((query) => query.target === 'cluster-ip');
    assert.equal(viaService?.result.status, 'NXDOMAIN');
    assert.equal(viaService?.outcome, 'nxdomain');
    assert.match(viaService?.explanation ?? '', /does not exist/);
  });
});

describe('Run in pod netns', () => {
  test("runs the node's tools in the pod's network namespace", async () => {
    const pod = appPods[0];
    const result = await runInNetns(context, { namespace: 'lab-apps', name: pod.metadata!.name! }, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(result.exec.exitCode, 0);
    assert.ok(result.exec.stdout.includes(`inet ${pod.status!.podIP}/`));
    const failed = await runInNetns(context, { namespace: 'lab-apps', name: pod.metadata!.name! }, ['sh', '-c', 'exit 4']);
    assert.equal(failed.exec.exitCode, 4);
  });
});

describe('failures end in the right message and leave no pod', () => {
  test('PodSecurity baseline in lab-restricted', async () => {
    const restricted = new DebugPodManager({ kubeConfig, ownerId: `${ownerId}-ps`, settings: { namespace: 'lab-restricted' }, consent: async () => true, logger });
    try {
      const started = Date.now();
      await assert.rejects(restricted.acquire(appPods[0].spec!.nodeName!), (error) => {
        assert.ok(DebugPodError.is(error, 'pod-security'), String(error));
        assert.match(error.message, /lab-restricted/);
        assert.match(error.message, /pod-security\.kubernetes\.io\/enforce=/);
        assert.match(error.message, /kubeNet\.debugPod\.namespace/);
        return true;
      });
      assert.ok(Date.now() - started < 10_000);
      assert.equal((await ourPods(`${ownerId}-ps`)).length, 0);
    } finally {
      await restricted.dispose();
    }
  });

  test('an image that cannot be pulled', async () => {
    const owner = `${ownerId}-img`;
    const broken = new DebugPodManager({ kubeConfig, ownerId: owner, settings: { image: 'docker.io/nicolaka/netshoot:does-not-exist' }, consent: async () => true, logger });
    try {
      const started = Date.now();
      await assert.rejects(broken.acquire(appPods[0].spec!.nodeName!), (error) => {
        assert.ok(DebugPodError.is(error, 'image-pull'), String(error));
        assert.match(error.message, /netshoot:does-not-exist/);
        assert.match(error.message, /kubeNet\.debugPod\.image/);
        return true;
      });
      assert.ok(Date.now() - started < 30_000);
      await eventually(async () => (await ourPods(owner)).length === 0, 10_000, 'the failed pod to be deleted');
    } finally {
      await broken.dispose();
    }
  });

  test('cancelling while the pod starts deletes it before the promise rejects', async () => {
    const owner = `${ownerId}-cancel`;
    const slow = new DebugPodManager({ kubeConfig, ownerId: owner, consent: async () => true, logger });
    try {
      const controller = new AbortController();
      // Cancel the moment the create request goes out: the pod gets created, then must go.
      const pending = slow.acquire(appPods[0].spec!.nodeName!, {
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.stage === 'creating') {
            controller.abort();
          }
        },
      });
      await assert.rejects(pending, (error) => DebugPodError.is(error, 'cancelled'));
      assert.equal((await ourPods(owner)).filter((pod) => pod.metadata?.deletionTimestamp === undefined).length, 0);
      assert.ok(logLines.some((line) => /deleted debug pod default\/kni-debug-.* \(start failed: Cancelled/.test(line)), 'the created pod was deleted');
      assert.equal(slow.count, 0);
    } finally {
      await slow.dispose();
    }
  });

  test('cancelling while waiting for consent creates nothing', async () => {
    const owner = `${ownerId}-consent`;
    let asked = 0;
    const waiting = new DebugPodManager({ kubeConfig, ownerId: owner, consent: () => (asked++, new Promise<boolean>(() => undefined)), logger });
    try {
      const controller = new AbortController();
      const pending = waiting.acquire(appPods[0].spec!.nodeName!, {
        signal: controller.signal,
        onProgress: (progress) => {
          if (progress.stage === 'consent') {
            setTimeout(() => controller.abort(), 10);
          }
        },
      });
      await assert.rejects(pending, (error) => DebugPodError.is(error, 'cancelled'));
      assert.equal(asked, 1);
      assert.equal((await ourPods(owner)).length, 0);
    } finally {
      await waiting.dispose();
    }
  });

  test('refusing consent creates nothing', async () => {
    const owner = `${ownerId}-no`;
    const refused = new DebugPodManager({ kubeConfig, ownerId: owner, consent: async () => false, logger });
    try {
      await assert.rejects(refused.acquire(appPods[0].spec!.nodeName!), (error) => DebugPodError.is(error, 'consent-denied'));
      assert.equal((await ourPods(owner)).length, 0);
    } finally {
      await refused.dispose();
    }
  });

  test('a user who may not create pods', async (t) => {
    const viewer = viewerKubeConfig(kubeConfig);
    if (viewer === undefined) {
      t.skip('the lab kubeconfig has no viewer context');
      return;
    }
    const denied = new DebugPodManager({ kubeConfig: viewer, ownerId: `${ownerId}-rbac`, consent: async () => true, logger });
    try {
      await assert.rejects(denied.acquire(appPods[0].spec!.nodeName!), (error) => {
        assert.ok(DebugPodError.is(error, 'forbidden'), String(error));
        assert.equal(error.details.verb, 'create');
        assert.equal(error.details.resource, 'pods');
        return true;
      });
    } finally {
      await denied.dispose();
    }
    const viewerExec = new NodeExec(viewer, logger);
    const target = manager.pods()[0];
    await assert.rejects(viewerExec.run(target, ['true']), (error) => NodeExecError.is(error, 'forbidden') && /pods\/exec/.test(error.message));
  });
});

describe('idle removal', () => {
  test('a pod unused for the idle time is removed and the count drops', async () => {
    const owner = `${ownerId}-idle`;
    const idle = new DebugPodManager({ kubeConfig, ownerId: owner, settings: { idleTimeoutSeconds: 1 }, consent: async () => true, logger });
    const counts: number[] = [];
    idle.onDidChangeCount((count) => counts.push(count));
    try {
      const nodeName = appPods[0].spec!.nodeName!;
      const result = await idle.use(nodeName, {}, async (pod) => exec.run(pod, ['true']));
      assert.equal(result.exitCode, 0);
      assert.equal(idle.count, 1);
      await eventually(async () => idle.count === 0 && (await ourPods(owner)).length === 0, 15_000, 'idle removal');
      assert.deepEqual(counts, [1, 0]);
    } finally {
      await idle.dispose();
    }
  });
});

describe('removal', () => {
  test('removeAll deletes every pod of this manager', async () => {
    assert.ok(manager.count > 0);
    let counted = -1;
    const subscription = manager.onDidChangeCount((count) => (counted = count));
    await manager.removeAll();
    subscription.dispose();
    assert.equal(counted, 0);
    assert.equal(manager.count, 0);
    await eventually(async () => (await ourPods()).length === 0, 10_000, 'debug pods to be gone');
    const selector = `${MANAGED_SELECTOR},${OWNER_LABEL}=${ownerId}`;
    assert.equal((await core.listNamespacedPod({ namespace: 'default', labelSelector: selector })).items.length, 0);
  });

  test('dispose deletes a pod created after removeAll, and the sweep removes expired ones', async () => {
    const nodeName = appPods[0].spec!.nodeName!;
    await manager.acquire(nodeName);
    assert.equal((await ourPods()).length, 1);
    await manager.dispose();
    await eventually(async () => (await ourPods()).length === 0, 10_000, 'debug pods to be gone after dispose');

    // A pod of another owner whose expiry has passed (as a killed VS Code leaves it) goes at
    // the next start-up sweep; a live one of a third owner stays.
    const owner = `${ownerId}-old`;
    const expired = buildDebugPod({ nodeName, ownerId: owner, lifetimeSeconds: 60, now: new Date(Date.now() - 120_000) });
    const created = await core.createNamespacedPod({ namespace: 'default', body: expired });
    const handle = { podName: created.metadata!.name!, namespace: 'default' };
    const fresh = await core.createNamespacedPod({ namespace: 'default', body: buildDebugPod({ nodeName, ownerId: `${ownerId}-fresh`, lifetimeSeconds: 600 }) });
    const sweeper = new DebugPodManager({ kubeConfig, ownerId: `${ownerId}-sweeper`, consent: async () => true, logger });
    const swept = await sweeper.sweepExpired();
    assert.ok(swept.deleted.some((item) => item.name === handle.podName), JSON.stringify(swept));
    assert.ok(!swept.deleted.some((item) => item.name === fresh.metadata!.name));
    await eventually(async () => (await ourPods(owner)).length === 0, 10_000, 'the expired pod to be swept');
    assert.equal((await ourPods(`${ownerId}-fresh`)).length, 1);
    await core.deleteNamespacedPod({ namespace: 'default', name: fresh.metadata!.name!, gracePeriodSeconds: 0 });
    await sweeper.dispose();
  });
});

function viewerKubeConfig(admin: KubeConfig): KubeConfig | undefined {
  const contextName = admin.getContexts().find((item) => /view/i.test(item.name) || /view/i.test(item.user))?.name;
  if (contextName === undefined) {
    return undefined;
  }
  const viewer = loadKubeConfig(kubeconfigPath);
  viewer.setCurrentContext(contextName);
  return viewer;
}

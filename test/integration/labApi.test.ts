/**
 * The lab's Kubernetes API against the clients that matter: @kubernetes/client-node (what the
 * extension uses) and kubectl. Uses the lab of `KNI_LAB_KUBECONFIG` when the test runner
 * started one; otherwise starts its own through the lab CLI and stops it afterwards.
 */
import * as assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CoreV1Api, DiscoveryV1Api, Exec, KubeConfig, Watch, makeInformer } from '@kubernetes/client-node';
import type { V1Pod, V1Status } from '@kubernetes/client-node';

const execFileAsync = promisify(execFile);
const labCli = path.resolve(__dirname, '..', '..', 'lab', 'cli.js');

let kubeconfigPath = '';
let startedOwnLab = false;
let admin: KubeConfig;
let viewer: KubeConfig;
let core: CoreV1Api;
const created: { namespace: string; name: string }[] = [];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value (not undefined), or fails with `what` after `timeoutMs`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) {
        return value;
      }
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last !== undefined ? `: ${String(last)}` : ''}`);
    }
    await sleep(200);
  }
}

/** The Status body of a failed client-node call. */
function statusOf(error: unknown): { code?: number; reason?: string; message?: string; details?: Record<string, unknown> } {
  const body = (error as { body?: unknown }).body;
  const parsed = typeof body === 'string' ? (JSON.parse(body) as unknown) : body;
  return (parsed ?? {}) as { code?: number; reason?: string; message?: string };
}

async function expectApiError(call: Promise<unknown>): Promise<ReturnType<typeof statusOf> & { httpCode: number }> {
  try {
    await call;
  } catch (error) {
    return { ...statusOf(error), httpCode: (error as { code?: number }).code ?? 0 };
  }
  assert.fail('the call succeeded');
}

async function createPod(namespace: string, pod: V1Pod): Promise<V1Pod> {
  const result = await core.createNamespacedPod({ namespace, body: pod });
  created.push({ namespace, name: result.metadata?.name ?? '' });
  return result;
}

async function waitForPod(namespace: string, name: string, what: string, predicate: (pod: V1Pod) => boolean, timeoutMs = 60_000): Promise<V1Pod> {
  return eventually(`${namespace}/${name} ${what}`, async () => {
    const pod = await core.readNamespacedPod({ namespace, name });
    return predicate(pod) ? pod : undefined;
  }, timeoutMs);
}

interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly status: V1Status | undefined;
}

/** Runs argv in a container through client-node's Exec (WebSocket) and collects everything. */
function execInPod(kubeConfig: KubeConfig, namespace: string, name: string, container: string, argv: string[], onStdout?: (text: string) => void, tty = false): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      onStdout?.(out);
    });
    stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    let status: V1Status | undefined;
    new Exec(kubeConfig)
      .exec(namespace, name, container, argv, stdout, tty ? null : stderr, null, tty, (value) => {
        status = value;
      })
      .then((socket) => {
        socket.on('close', () => setImmediate(() => resolve({ stdout: out, stderr: err, status })));
      }, reject);
  });
}

function runLabCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [labCli, ...args], { encoding: 'utf8', env: process.env, timeout: 600_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === 'number' ? failure.code : -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' };
  }
}

/** Splits kubectl's table output on the header's column starts. */
function parseKubectlTable(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0];
  const starts: { name: string; start: number }[] = [];
  const pattern = /\S+(?: \S+)*/g;
  for (let match = pattern.exec(header); match !== null; match = pattern.exec(header)) {
    starts.push({ name: match[0], start: match.index });
  }
  return lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    starts.forEach((column, index) => {
      const end = index + 1 < starts.length ? starts[index + 1].start : line.length;
      row[column.name] = line.slice(column.start, end).trim();
    });
    return row;
  });
}

/** PIDs of processes whose cgroup path names this container ID (how a node finds a container). */
function pidsOfContainer(containerId: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      if (fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8').includes(containerId)) {
        pids.push(Number(entry));
      }
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function containerIdOf(pod: V1Pod, container: string): string {
  const id = pod.status?.containerStatuses?.find((status) => status.name === container)?.containerID ?? '';
  return id.replace(/^containerd:\/\//, '');
}

before(async () => {
  const given = process.env.KNI_LAB_KUBECONFIG;
  if (given !== undefined && given !== '') {
    kubeconfigPath = given;
  } else {
    const running = runLabCli(['status']).status === 0;
    const up = runLabCli(['up']);
    assert.equal(up.status, 0, `lab up failed:\n${up.stderr}`);
    startedOwnLab = !running;
    const lines = up.stdout.trim().split('\n');
    kubeconfigPath = lines[lines.length - 1];
  }
  admin = new KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  admin.setCurrentContext('lab');
  viewer = new KubeConfig();
  viewer.loadFromFile(kubeconfigPath);
  viewer.setCurrentContext('lab-viewer');
  core = admin.makeApiClient(CoreV1Api);
});

after(async () => {
  for (const { namespace, name } of created) {
    await core?.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
  if (startedOwnLab) {
    runLabCli(['down']);
  }
});

describe('lab API with client-node', () => {
  test('a pod created after a list arrives on a watch from the list resourceVersion and reaches Running with a containerd ID and an address of its node', async () => {
    const list = await core.listNamespacedPod({ namespace: 'default' });
    const resourceVersion = list.metadata?.resourceVersion ?? '';
    assert.match(resourceVersion, /^\d+$/);
    const seen: { type: string; phase?: string }[] = [];
    let podName = '';
    const watch = new Watch(admin);
    const controller = await watch.watch('/api/v1/namespaces/default/pods', { resourceVersion, allowWatchBookmarks: true }, (type, object: V1Pod) => {
      if (object.metadata?.name === podName || (podName === '' && type === 'ADDED')) {
        seen.push({ type, phase: object.status?.phase });
      }
    }, () => undefined);
    try {
      const pod = await createPod('default', {
        metadata: { generateName: 'it-watch-', labels: { test: 'watch' } },
        spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
      });
      podName = pod.metadata?.name ?? '';
      assert.match(podName, /^it-watch-[a-z0-9]{5}$/);
      await eventually('the watch to report the pod Running', async () => (seen.some((event) => event.type === 'MODIFIED' && event.phase === 'Running') ? true : undefined));
      assert.equal(seen[0].type, 'ADDED');
      assert.equal(seen[0].phase, 'Pending');
    } finally {
      controller.abort();
    }
    const running = await core.readNamespacedPod({ namespace: 'default', name: podName });
    const status = running.status?.containerStatuses?.[0];
    assert.match(status?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
    assert.equal(status?.ready, true);
    assert.ok(status?.state?.running?.startedAt instanceof Date);
    const node = await core.readNode({ name: running.spec?.nodeName ?? '' });
    const [base, bits] = (node.spec?.podCIDR ?? '').split('/');
    const toNumber = (ip: string): number => ip.split('.').reduce((value, part) => value * 256 + Number(part), 0);
    const size = 2 ** (32 - Number(bits));
    const ip = running.status?.podIP ?? '';
    assert.ok(toNumber(ip) > toNumber(base) && toNumber(ip) < toNumber(base) + size, `${ip} lies in ${node.spec?.podCIDR}`);
    assert.equal(running.status?.hostIP, node.status?.addresses?.find((address) => address.type === 'InternalIP')?.address);
    const scheduled = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${podName}` });
    assert.ok(scheduled.items.some((event) => event.reason === 'Scheduled' && event.message === `Successfully assigned default/${podName} to ${running.spec?.nodeName}`));
  });

  test('an informer (list, then watch from its resourceVersion) sees a pod added, changed and deleted', async () => {
    const seen: string[] = [];
    const informer = makeInformer<V1Pod>(admin, '/api/v1/namespaces/default/pods', () => core.listNamespacedPod({ namespace: 'default', labelSelector: 'test=informer' }), 'test=informer');
    informer.on('add', (pod) => seen.push(`add ${pod.metadata?.name}`));
    informer.on('update', (pod) => seen.push(`update ${pod.metadata?.name} ${pod.status?.phase}`));
    informer.on('delete', (pod) => seen.push(`delete ${pod.metadata?.name}`));
    await informer.start();
    try {
      const pod = await createPod('default', {
        metadata: { generateName: 'it-informer-', labels: { test: 'informer' } },
        spec: { terminationGracePeriodSeconds: 5, containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
      });
      const name = pod.metadata?.name ?? '';
      await eventually('the informer to see the pod Running', async () => (seen.includes(`update ${name} Running`) ? true : undefined));
      await core.deleteNamespacedPod({ namespace: 'default', name });
      await eventually('the informer to see the pod deleted', async () => (seen.includes(`delete ${name}`) ? true : undefined));
      assert.equal(seen[0], `add ${name}`);
      assert.equal(informer.list('default').length, 0);
    } finally {
      await informer.stop();
    }
  });

  test('label and field selectors narrow lists as the API server does', async () => {
    const pods = await core.listPodForAllNamespaces({ labelSelector: 'app in (web),pod-template-hash' });
    assert.ok(pods.items.length > 0);
    assert.ok(pods.items.every((pod) => pod.metadata?.labels?.app === 'web'));
    const nodeName = pods.items[0].spec?.nodeName ?? '';
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
    assert.ok(onNode.items.length > 0);
    assert.ok(onNode.items.every((pod) => pod.spec?.nodeName === nodeName));
    const notWeb = await core.listPodForAllNamespaces({ labelSelector: 'app!=web' });
    assert.ok(notWeb.items.every((pod) => pod.metadata?.labels?.app !== 'web'));
    const error = await expectApiError(core.listPodForAllNamespaces({ fieldSelector: 'spec.image=x' }));
    assert.equal(error.httpCode, 400);
    assert.equal(error.message, 'field label not supported: spec.image');
  });

  test('a watch from a resourceVersion older than the API server history ends with an ERROR event carrying 410 Expired', async () => {
    const events: { type: string; object: V1Status }[] = [];
    const done = new Promise<void>((resolve) => {
      void new Watch(admin).watch('/api/v1/pods', { resourceVersion: '1' }, (type, object: V1Status) => events.push({ type, object }), () => resolve());
    });
    await done;
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, 'Expired');
    assert.match(events[0].object.message ?? '', /^too old resource version: 1 \(\d+\)$/);
  });

  test('the viewer token reads but gets RBAC Forbidden for writes', async () => {
    const viewerCore = viewer.makeApiClient(CoreV1Api);
    const namespaces = await viewerCore.listNamespace();
    assert.ok(namespaces.items.some((namespace) => namespace.metadata?.name === 'kube-system'));
    const error = await expectApiError(
      viewerCore.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'it-forbidden' }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } }),
    );
    assert.equal(error.httpCode, 403);
    assert.equal(error.reason, 'Forbidden');
    assert.equal(error.message, 'pods is forbidden: User "lab-viewer" cannot create resource "pods" in API group "" in the namespace "default"');
    const deletion = await expectApiError(viewerCore.deleteNamespace({ name: 'lab-apps' }));
    assert.equal(deletion.message, 'namespaces "lab-apps" is forbidden: User "lab-viewer" cannot delete resource "namespaces" in API group "" at the cluster scope');
  });

  test('PodSecurity baseline in lab-restricted rejects a privileged host-namespace pod with the admission plugin message', async () => {
    const namespace = await core.readNamespace({ name: 'lab-restricted' });
    assert.equal(namespace.metadata?.labels?.['pod-security.kubernetes.io/enforce'], 'baseline');
    const error = await expectApiError(
      core.createNamespacedPod({
        namespace: 'lab-restricted',
        body: {
          metadata: { name: 'it-debugger' },
          spec: {
            hostNetwork: true,
            hostPID: true,
            volumes: [{ name: 'host-root', hostPath: { path: '/' } }],
            containers: [{ name: 'debugger', image: 'nicolaka/netshoot:v0.13', securityContext: { privileged: true }, volumeMounts: [{ name: 'host-root', mountPath: '/host' }] }],
          },
        },
      }),
    );
    assert.equal(error.httpCode, 403);
    assert.equal(error.reason, 'Forbidden');
    assert.equal(
      error.message,
      'pods "it-debugger" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true), privileged (container "debugger" must not set securityContext.privileged=true), hostPath volumes (volume "host-root")',
    );
  });

  test('create validation and namespace checks answer like the API server', async () => {
    const missing = await expectApiError(core.createNamespacedPod({ namespace: 'it-no-such-namespace', body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } }));
    assert.equal(missing.httpCode, 404);
    assert.equal(missing.message, 'namespaces "it-no-such-namespace" not found');
    const invalid = await expectApiError(core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'it-invalid' }, spec: { containers: [{ name: 'main', image: '' }] } } }));
    assert.equal(invalid.httpCode, 422);
    assert.equal(invalid.message, 'Pod "it-invalid" is invalid: spec.containers[0].image: Required value');
    const existing = (await core.listNamespacedPod({ namespace: 'lab-apps', labelSelector: 'app=client' })).items[0];
    const duplicate = await expectApiError(core.createNamespacedPod({ namespace: 'lab-apps', body: { metadata: { name: existing.metadata?.name }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } } }));
    assert.equal(duplicate.httpCode, 409);
    assert.equal(duplicate.message, `pods "${existing.metadata?.name}" already exists`);
  });

  test('an image outside the registry leaves the container in ErrImagePull, then ImagePullBackOff, with kubelet events', async () => {
    const image = 'registry.invalid.example/kni/missing:1.0';
    const pod = await createPod('default', { metadata: { generateName: 'it-pull-' }, spec: { containers: [{ name: 'main', image }] } });
    const name = pod.metadata?.name ?? '';
    const failing = await waitForPod('default', name, 'in ErrImagePull', (current) => current.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ErrImagePull');
    assert.equal(failing.status?.phase, 'Pending');
    assert.match(failing.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '', /failed to pull and unpack image "registry\.invalid\.example\/kni\/missing:1\.0"/);
    await waitForPod('default', name, 'in ImagePullBackOff', (current) => current.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff');
    const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
    const texts = events.items.map((event) => `${event.type} ${event.reason}: ${event.message}`);
    assert.ok(texts.some((text) => text.startsWith(`Warning Failed: Failed to pull image "${image}": `)), texts.join('\n'));
    assert.ok(texts.includes('Warning Failed: Error: ErrImagePull'), texts.join('\n'));
    assert.ok(texts.includes(`Normal BackOff: Back-off pulling image "${image}"`), texts.join('\n'));
    assert.ok(texts.includes('Warning Failed: Error: ImagePullBackOff'), texts.join('\n'));
    assert.ok(events.items.every((event) => event.source?.component === 'kubelet' || event.reportingComponent === 'default-scheduler'));
  });

  test('exec returns output and exit codes as containerd and the kubelet report them', async () => {
    const client = (await core.listNamespacedPod({ namespace: 'lab-apps', labelSelector: 'app=client' })).items[0];
    const name = client.metadata?.name ?? '';
    const ok = await execInPod(admin, 'lab-apps', name, 'client', ['sh', '-c', 'echo out; echo err >&2']);
    assert.equal(ok.stdout, 'out\n');
    assert.equal(ok.stderr, 'err\n');
    assert.equal(ok.status?.status, 'Success');
    const failed = await execInPod(admin, 'lab-apps', name, 'client', ['sh', '-c', 'exit 3']);
    assert.equal(failed.status?.status, 'Failure');
    assert.equal(failed.status?.reason, 'NonZeroExitCode');
    assert.equal(failed.status?.message, 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3');
    assert.deepEqual(failed.status?.details?.causes, [{ reason: 'ExitCode', message: '3' }]);
    const missing = await execInPod(admin, 'lab-apps', name, 'client', ['kni-no-such-command']);
    assert.equal(missing.status?.reason, 'InternalError');
    assert.match(missing.status?.message ?? '', /exec: "kni-no-such-command": executable file not found in \$PATH/);
  });

  test('exec with a TTY runs the command on a pseudo-terminal, with its exit code', async () => {
    const client = (await core.listNamespacedPod({ namespace: 'lab-apps', labelSelector: 'app=client' })).items[0];
    const result = await execInPod(admin, 'lab-apps', client.metadata?.name ?? '', 'client', ['sh', '-c', 'tty; exit 2'], undefined, true);
    assert.match(result.stdout, /^\/dev\/pts\/\d+\r\n$/);
    assert.deepEqual(result.status?.details?.causes, [{ reason: 'ExitCode', message: '2' }]);
  });

  test('activeDeadlineSeconds fails the pod with DeadlineExceeded and kills its processes, exec ones included', async () => {
    const pod = await createPod('default', {
      metadata: { generateName: 'it-deadline-' },
      spec: { activeDeadlineSeconds: 6, restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }] },
    });
    const name = pod.metadata?.name ?? '';
    const running = await waitForPod('default', name, 'Running', (current) => current.status?.phase === 'Running');
    const containerPids = pidsOfContainer(containerIdOf(running, 'main'));
    let execPid = 0;
    const exec = execInPod(admin, 'default', name, 'main', ['sh', '-c', 'echo $$; exec sleep 300'], (text) => {
      const match = /^(\d+)\n/.exec(text);
      if (match !== null) {
        execPid = Number(match[1]);
      }
    });
    await eventually('the exec to report its PID', async () => (execPid > 0 ? execPid : undefined));
    assert.ok(processExists(execPid), 'the exec process runs before the deadline');
    const failed = await waitForPod('default', name, 'Failed', (current) => current.status?.phase === 'Failed');
    assert.equal(failed.status?.reason, 'DeadlineExceeded');
    assert.equal(failed.status?.message, 'Pod was active on the node longer than the specified deadline');
    assert.equal(failed.status?.containerStatuses?.[0]?.ready, false);
    const result = await exec;
    assert.equal(result.status?.reason, 'NonZeroExitCode', 'the exec ended because its process was killed');
    await eventually('the exec process to be gone', async () => (processExists(execPid) ? undefined : true), 10_000);
    for (const pid of containerPids) {
      await eventually(`container process ${pid} to be gone`, async () => (processExists(pid) ? undefined : true), 10_000);
    }
    // The pod object stays, Failed, until someone deletes it.
    const later = await core.readNamespacedPod({ namespace: 'default', name });
    assert.equal(later.status?.phase, 'Failed');
  });

  test('EndpointSlices list the ready pods of a service with its named target port resolved', async () => {
    const discovery = admin.makeApiClient(DiscoveryV1Api);
    const slices = await discovery.listNamespacedEndpointSlice({ namespace: 'lab-apps', labelSelector: 'kubernetes.io/service-name=web' });
    assert.equal(slices.items.length, 1);
    const slice = slices.items[0];
    assert.equal(slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.match(slice.metadata?.name ?? '', /^web-[a-z0-9]{5}$/);
    const pods = (await core.listNamespacedPod({ namespace: 'lab-apps', labelSelector: 'app=web' })).items;
    const containerPort = pods[0].spec?.containers[0].ports?.find((port) => port.name === 'http')?.containerPort;
    assert.deepEqual(slice.ports?.map((port) => [port.name, port.port, port.protocol]), [['http', containerPort, 'TCP']]);
    assert.deepEqual(
      (slice.endpoints ?? []).map((endpoint) => [endpoint.addresses[0], endpoint.nodeName, endpoint.targetRef?.name, endpoint.conditions?.ready]).sort(),
      pods.map((pod) => [pod.status?.podIP, pod.spec?.nodeName, pod.metadata?.name, true]).sort(),
    );
  });
});

describe('lab API with kubectl', () => {
  test('kubectl get pods -A -o wide shows every pod with its IP and NODE', async () => {
    const result = await kubectl(['get', 'pods', '-A', '-o', 'wide']);
    assert.equal(result.code, 0, result.stderr);
    const rows = parseKubectlTable(result.stdout);
    const pods = (await core.listPodForAllNamespaces()).items;
    assert.equal(rows.length, pods.length);
    for (const pod of pods) {
      const row = rows.find((candidate) => candidate.NAMESPACE === pod.metadata?.namespace && candidate.NAME === pod.metadata?.name);
      assert.ok(row !== undefined, `${pod.metadata?.name} is listed`);
      assert.equal(row.IP, pod.status?.podIP ?? '<none>');
      assert.equal(row.NODE, pod.spec?.nodeName ?? '<none>');
    }
  });

  test('kubectl get svc, nodes -o wide and endpointslices read the lab', async () => {
    const services = parseKubectlTable((await kubectl(['get', 'svc', '-A'])).stdout);
    const dns = (await core.readNamespacedService({ namespace: 'kube-system', name: 'kube-dns' })).spec;
    assert.deepEqual(
      services.find((row) => row.NAME === 'kube-dns'),
      { NAMESPACE: 'kube-system', NAME: 'kube-dns', TYPE: 'ClusterIP', 'CLUSTER-IP': dns?.clusterIP ?? '', 'EXTERNAL-IP': '<none>', 'PORT(S)': (dns?.ports ?? []).map((port) => `${port.port}/${port.protocol}`).join(','), AGE: services.find((row) => row.NAME === 'kube-dns')?.AGE ?? '' },
    );
    const nodes = parseKubectlTable((await kubectl(['get', 'nodes', '-o', 'wide'])).stdout);
    const apiNodes = (await core.listNode()).items;
    assert.deepEqual(
      nodes.map((row) => [row.NAME, row.STATUS, row['INTERNAL-IP']]).sort(),
      apiNodes.map((node) => [node.metadata?.name, 'Ready', node.status?.addresses?.find((address) => address.type === 'InternalIP')?.address]).sort(),
    );
    const slices = await kubectl(['get', 'endpointslices', '-n', 'lab-apps']);
    assert.equal(slices.code, 0, slices.stderr);
    assert.ok(parseKubectlTable(slices.stdout).some((row) => row.NAME.startsWith('web-') && row.ADDRESSTYPE === 'IPv4'));
  });

  test('kubectl exec returns the command exit code', async () => {
    const client = (await core.listNamespacedPod({ namespace: 'lab-apps', labelSelector: 'app=client' })).items[0];
    const three = await kubectl(['exec', '-n', 'lab-apps', client.metadata?.name ?? '', '--', 'sh', '-c', 'echo hi; exit 3']);
    assert.equal(three.code, 3);
    assert.equal(three.stdout, 'hi\n');
    assert.match(three.stderr, /command terminated with exit code 3/);
    const zero = await kubectl(['exec', '-n', 'lab-apps', client.metadata?.name ?? '', '--', 'true']);
    assert.equal(zero.code, 0, zero.stderr);
  });

  test('kubectl with the viewer context gets Forbidden for exec', async () => {
    const client = (await core.listNamespacedPod({ namespace: 'lab-apps', labelSelector: 'app=client' })).items[0];
    const name = client.metadata?.name ?? '';
    const result = await kubectl(['--context', 'lab-viewer', 'exec', '-n', 'lab-apps', name, '--', 'true']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`pods "${name}" is forbidden: User "lab-viewer" cannot create resource "pods/exec" in API group "" in the namespace "lab-apps"`));
  });
});

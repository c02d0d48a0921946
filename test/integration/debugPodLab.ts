/**
 * The lab for the debug pod and CLI integration tests: KNI_LAB_KUBECONFIG when set (a lab
 * someone else runs), else `lab up` from this output folder's compiled lab CLI. Several test
 * files (separate processes under `node --test`) may share one lab: each registers as a holder
 * under a lock, and the last holder takes down a lab that a test started.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { LAB_PREFIX, nodeNetnsName } from '../../lab/config';
import { MANAGED_SELECTOR } from '../../src/node/debugPodSpec';

/** The folder holding package.json above this file. */
export function repoRoot(): string {
  let directory = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(directory, 'package.json'))) {
      return directory;
    }
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error(`no package.json above ${__dirname}`);
    }
    directory = parent;
  }
}

/** The compiled output folder this test runs from (`<out>/test/integration/…`). */
export function outDir(): string {
  return path.resolve(__dirname, '..', '..');
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(file: string, args: readonly string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(file, args, { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, env: options.env ?? process.env }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    if (options.input !== undefined) {
      child.stdin?.end(options.input);
    } else {
      child.stdin?.end();
    }
  });
}

const stateDirectory = path.join(repoRoot(), '.lab', `${LAB_PREFIX}-debugpod-tests`);
const lockDirectory = path.join(stateDirectory, 'lock');
const holdersDirectory = path.join(stateDirectory, 'holders');
const startedMarker = path.join(stateDirectory, 'started-by-tests');

async function withLock<T>(work: () => Promise<T>): Promise<T> {
  fs.mkdirSync(stateDirectory, { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      fs.mkdirSync(lockDirectory);
      fs.writeFileSync(path.join(lockDirectory, 'pid'), String(process.pid));
      break;
    } catch {
      // A lock left by a dead process is stale.
      const owner = Number(readOr(path.join(lockDirectory, 'pid'), '0'));
      if (owner > 0 && !alive(owner)) {
        fs.rmSync(lockDirectory, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(`lab lock ${lockDirectory} held too long by ${owner}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await work();
  } finally {
    fs.rmSync(lockDirectory, { recursive: true, force: true });
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function liveHolders(): number[] {
  if (!fs.existsSync(holdersDirectory)) {
    return [];
  }
  return fs
    .readdirSync(holdersDirectory)
    .map(Number)
    .filter((pid) => {
      if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
        return true;
      }
      fs.rmSync(path.join(holdersDirectory, String(pid)), { force: true });
      return false;
    });
}

function labCli(): string {
  return path.join(outDir(), 'lab', 'cli.js');
}

/** The lab's kubeconfig path, starting the lab when needed. Call {@link releaseLab} after. */
export async function acquireLab(): Promise<string> {
  const given = process.env.KNI_LAB_KUBECONFIG;
  if (given !== undefined && given !== '') {
    return given;
  }
  return withLock(async () => {
    const holders = liveHolders();
    const runningBefore = (await run(process.execPath, [labCli(), 'status'], { timeoutMs: 30_000 })).code === 0;
    const up = await run(process.execPath, [labCli(), 'up'], { timeoutMs: 240_000 });
    if (up.code !== 0) {
      throw new Error(`lab up failed (${up.code}): ${up.stderr}\n${up.stdout}`);
    }
    const kubeconfig = kubeconfigFromOutput(up.stdout);
    if (!runningBefore && holders.length === 0) {
      fs.writeFileSync(startedMarker, String(process.pid));
    }
    fs.mkdirSync(holdersDirectory, { recursive: true });
    fs.writeFileSync(path.join(holdersDirectory, String(process.pid)), '');
    return kubeconfig;
  });
}

/** Unregisters this process; the last holder stops a lab the tests started. */
export async function releaseLab(): Promise<void> {
  if (process.env.KNI_LAB_KUBECONFIG !== undefined && process.env.KNI_LAB_KUBECONFIG !== '') {
    return;
  }
  await withLock(async () => {
    fs.rmSync(path.join(holdersDirectory, String(process.pid)), { force: true });
    if (liveHolders().length === 0 && fs.existsSync(startedMarker)) {
      fs.rmSync(startedMarker, { force: true });
      const down = await run(process.execPath, [labCli(), 'down'], { timeoutMs: 120_000 });
      if (down.code !== 0) {
        throw new Error(`lab down failed (${down.code}): ${down.stderr}`);
      }
    }
  });
}

function defaultKubeconfig(): string {
  return path.join(repoRoot(), '.lab', LAB_PREFIX, 'kubeconfig');
}

/** The kubeconfig path `lab up` printed: the last output line that names an existing file. */
export function kubeconfigFromOutput(stdout: string): string {
  const lines = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  for (let index = lines.length - 1; index >= 0; index--) {
    const candidates = [lines[index], ...lines[index].split(/\s+/)];
    for (const candidate of candidates) {
      if (path.isAbsolute(candidate) && fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
        return candidate;
      }
    }
  }
  const fallback = defaultKubeconfig();
  if (fs.existsSync(fallback)) {
    return fallback;
  }
  throw new Error(`lab up printed no kubeconfig path:\n${stdout}`);
}

export function loadKubeConfig(file: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(file);
  return kubeConfig;
}

/** Running, non-hostNetwork pods of a namespace that have a container ID, by name. */
export async function runningPods(kubeConfig: KubeConfig, namespace: string): Promise<V1Pod[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedPod({ namespace });
  return list.items
    .filter((pod) => pod.status?.phase === 'Running' && pod.spec?.hostNetwork !== true && (pod.status?.containerStatuses ?? []).some((status) => status.containerID !== undefined && status.state?.running !== undefined))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** Debug pods (this tool's label) that exist now, optionally only one owner's. */
export async function debugPodsNow(kubeConfig: KubeConfig, ownerPrefix?: string): Promise<V1Pod[]> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const list = await core.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR });
  return list.items.filter((pod) => ownerPrefix === undefined || (pod.metadata?.labels?.['kube-net-inspector/owner'] ?? '').startsWith(ownerPrefix));
}

/** Polls (bounded) until `check` is true. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * The node-side peer of a pod's eth0, read independently with `ip` in the lab's namespaces:
 * `ip -n <pod netns> -o link show eth0` gives `eth0@ifN`; `ip -n <node netns> -o link` gives
 * the interface with index N.
 */
export async function peerOfPodEth0(podNetns: string, nodeName: string): Promise<{ podIndex: number; peerIndex: number; nodeName: string; nodeIndex: number; nodePeerIndex: number | null; mac: string | null }> {
  const podLink = await run('ip', ['-n', podNetns, '-o', 'link', 'show', 'eth0']);
  if (podLink.code !== 0) {
    throw new Error(`ip -n ${podNetns} link show eth0: ${podLink.stderr}`);
  }
  const podMatch = /^(\d+):\s+eth0@if(\d+):/.exec(podLink.stdout);
  if (podMatch === null) {
    throw new Error(`unexpected ip output: ${podLink.stdout}`);
  }
  const peerIndex = Number(podMatch[2]);
  const nodeLinks = await run('ip', ['-n', nodeNetnsName(nodeName), '-o', 'link']);
  const line = nodeLinks.stdout.split('\n').find((item) => item.startsWith(`${peerIndex}:`));
  if (line === undefined) {
    throw new Error(`node ${nodeName} has no interface ${peerIndex}`);
  }
  const nodeMatch = /^(\d+):\s+([^:@\s]+)(?:@if(\d+))?:/.exec(line);
  if (nodeMatch === null) {
    throw new Error(`unexpected ip output: ${line}`);
  }
  const mac = /link\/ether\s+([0-9a-f:]{17})/.exec(line)?.[1] ?? null;
  return { podIndex: Number(podMatch[1]), peerIndex, nodeName: nodeMatch[2], nodeIndex: Number(nodeMatch[1]), nodePeerIndex: nodeMatch[3] !== undefined ? Number(nodeMatch[3]) : null, mac };
}

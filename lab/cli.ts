/**
 * `npm run lab -- up|status|down`: starts the lab daemon in the background and waits until
 * the cluster is ready, reports on it, or stops it and sweeps what it left.
 *
 *   up [--kubeconfig FILE] [--scale] [--port N] [--null-network] [--timeout SECONDS]
 *      prints the kubeconfig path as the last line of stdout
 *   status   exit 0 when running, 3 when not
 *   down     exit 0, also when nothing ran
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { LAB_PREFIX } from './config';
import type { LabState, StatePaths } from './api/state';
import { acquireLock, isLabDaemon, processAlive, readState, removeState, stateDirectory, statePaths } from './api/state';

const EXIT_NOT_RUNNING = 3;

interface UpOptions {
  kubeconfig?: string;
  scale: boolean;
  port?: number;
  nullNetwork: boolean;
  timeoutSeconds?: number;
}

function info(line: string): void {
  process.stderr.write(`${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseUp(argv: readonly string[]): UpOptions {
  const options: UpOptions = { scale: false, nullNetwork: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) {
        throw new UsageError(`${arg} needs a value`);
      }
      return next;
    };
    switch (arg) {
      case '--kubeconfig':
        options.kubeconfig = path.resolve(value());
        break;
      case '--scale':
        options.scale = true;
        break;
      case '--null-network':
        options.nullNetwork = true;
        break;
      case '--port': {
        const port = Number.parseInt(value(), 10);
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
          throw new UsageError('--port must be 1-65535');
        }
        options.port = port;
        break;
      }
      case '--timeout': {
        const seconds = Number.parseInt(value(), 10);
        if (!Number.isInteger(seconds) || seconds < 1) {
          throw new UsageError('--timeout must be a number of seconds');
        }
        options.timeoutSeconds = seconds;
        break;
      }
      default:
        throw new UsageError(`unknown option ${arg}`);
    }
  }
  return options;
}

class UsageError extends Error {}

/** The admin token from a kubeconfig this lab wrote (its own format, one user per block). */
function adminToken(kubeconfig: string): string | undefined {
  try {
    const text = fs.readFileSync(kubeconfig, 'utf8');
    const match = /- name: "lab-admin"\n {2}user:\n {4}token: ("[^"\n]*")/.exec(text);
    return match === null ? undefined : (JSON.parse(match[1]) as string);
  } catch {
    return undefined;
  }
}

function caData(kubeconfig: string): Buffer | undefined {
  try {
    const match = /certificate-authority-data: ("[^"\n]*")/.exec(fs.readFileSync(kubeconfig, 'utf8'));
    return match === null ? undefined : Buffer.from(JSON.parse(match[1]) as string, 'base64');
  } catch {
    return undefined;
  }
}

/** GET against the lab API with the admin token; resolves to status and body, never throws. */
function apiGet(state: LabState, apiPath: string, timeoutMs = 5000): Promise<{ status: number; body: string } | undefined> {
  const kubeconfig = state.kubeconfig;
  if (state.port === undefined || kubeconfig === undefined) {
    return Promise.resolve(undefined);
  }
  const token = adminToken(kubeconfig);
  const ca = caData(kubeconfig);
  return new Promise((resolve) => {
    const request = https.request(
      { host: '127.0.0.1', port: state.port, path: apiPath, method: 'GET', ca, servername: 'localhost', headers: token === undefined ? {} : { Authorization: `Bearer ${token}` }, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', () => resolve(undefined));
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(undefined));
    request.end();
  });
}

async function healthy(state: LabState): Promise<boolean> {
  const result = await apiGet(state, '/readyz');
  return result?.status === 200;
}

function logTail(paths: StatePaths, lines = 25): string {
  try {
    const text = fs.readFileSync(paths.log, 'utf8').trimEnd().split('\n');
    return text.slice(-lines).join('\n');
  } catch {
    return '(no daemon log)';
  }
}

/** Whether the real data plane can be loaded here (root, and the network module built). */
function networkModuleAvailable(): boolean {
  return fs.existsSync(path.join(__dirname, 'net', 'index.js'));
}

/** Stops the daemon (SIGTERM, then SIGKILL), then sweeps anything of the prefix left behind. */
async function teardown(paths: StatePaths, state: LabState | undefined): Promise<boolean> {
  let wasRunning = false;
  if (state !== undefined && isLabDaemon(state.pid, paths.directory)) {
    wasRunning = true;
    info(`stopping lab daemon ${state.pid}`);
    process.kill(state.pid, 'SIGTERM');
    const deadline = Date.now() + 150_000;
    while (processAlive(state.pid) && Date.now() < deadline) {
      await sleep(200);
    }
    if (processAlive(state.pid) && isLabDaemon(state.pid, paths.directory)) {
      info(`daemon ${state.pid} did not stop; killing it`);
      process.kill(state.pid, 'SIGKILL');
      while (processAlive(state.pid)) {
        await sleep(100);
      }
    }
  }
  const networkMode = state === undefined ? process.getuid?.() === 0 : state.mode === 'network';
  if (networkMode && process.getuid?.() === 0 && networkModuleAvailable()) {
    const { sweepLab } = require('./net/index') as typeof import('./net/index');
    const report = await sweepLab(LAB_PREFIX, info);
    if (report.netns.length > 0 || report.killedPids.length > 0) {
      wasRunning = true;
    }
  }
  removeState(paths);
  return wasRunning;
}

async function up(argv: readonly string[]): Promise<number> {
  const options = parseUp(argv);
  const paths = statePaths(stateDirectory(LAB_PREFIX));
  const release = await acquireLock(paths, 300_000);
  try {
    const existing = readState(paths);
    if (existing !== undefined && isLabDaemon(existing.pid, paths.directory)) {
      if (existing.phase === 'ready' && (await healthy(existing))) {
        const kubeconfig = existing.kubeconfig as string;
        if (options.kubeconfig !== undefined && options.kubeconfig !== kubeconfig) {
          fs.mkdirSync(path.dirname(options.kubeconfig), { recursive: true });
          fs.copyFileSync(kubeconfig, options.kubeconfig);
          fs.chmodSync(options.kubeconfig, 0o600);
        }
        info(`lab ${LAB_PREFIX} is already running (pid ${existing.pid}, ${existing.url ?? ''})`);
        process.stdout.write(`${options.kubeconfig ?? kubeconfig}\n`);
        return 0;
      }
      info(`lab ${LAB_PREFIX} (pid ${existing.pid}) is not healthy (${existing.phase}); restarting it`);
    } else if (existing !== undefined) {
      info(`lab ${LAB_PREFIX}: stale state from pid ${existing.pid}; sweeping`);
    }
    await teardown(paths, existing);

    let nullNetwork = options.nullNetwork || options.scale;
    if (!nullNetwork && (process.getuid?.() !== 0 || !networkModuleAvailable())) {
      info(process.getuid?.() !== 0 ? 'not running as root: starting the lab without its network (API only)' : 'network module not built: starting the lab without its network (API only)');
      nullNetwork = true;
    }
    fs.mkdirSync(paths.directory, { recursive: true, mode: 0o700 });
    if (fs.existsSync(paths.log) && fs.statSync(paths.log).size > 10 * 1024 * 1024) {
      fs.renameSync(paths.log, `${paths.log}.1`);
    }
    const logFd = fs.openSync(paths.log, 'a', 0o600);
    const timeoutSeconds = options.timeoutSeconds ?? (options.scale ? 600 : 240);
    const args = [path.join(__dirname, 'daemon.js'), '--state-dir', paths.directory, '--ready-timeout', String(timeoutSeconds)];
    if (options.scale) {
      args.push('--scale');
    } else if (nullNetwork) {
      args.push('--null-network');
    }
    if (options.port !== undefined) {
      args.push('--port', String(options.port));
    }
    if (options.kubeconfig !== undefined) {
      args.push('--kubeconfig', options.kubeconfig);
    }
    const child = spawn(process.execPath, args, {
      cwd: paths.directory,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...process.env, KNI_LAB_PREFIX: LAB_PREFIX },
    });
    fs.closeSync(logFd);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) {
      throw new Error('could not start the lab daemon');
    }
    info(`lab ${LAB_PREFIX}: daemon ${pid} starting (${options.scale ? 'scale' : nullNetwork ? 'API only' : 'network'} mode), log ${paths.log}`);
    const deadline = Date.now() + (timeoutSeconds + 30) * 1000;
    let lastWaiting = '';
    for (;;) {
      const state = readState(paths);
      const current = state?.pid === pid ? state : undefined;
      if (current?.phase === 'ready' && (await healthy(current))) {
        const kubeconfig = options.kubeconfig ?? (current.kubeconfig as string);
        info(`lab ${LAB_PREFIX} is ready: ${current.url ?? ''}`);
        process.stdout.write(`${kubeconfig}\n`);
        return 0;
      }
      const failed = current?.phase === 'failed' || !processAlive(pid);
      if (failed || Date.now() > deadline) {
        const why = current?.error ?? (failed ? 'the daemon exited' : `not ready after ${timeoutSeconds}s`);
        info(`lab ${LAB_PREFIX} failed to start: ${why}`);
        info(`--- last lines of ${paths.log} ---\n${logTail(paths)}`);
        await teardown(paths, current ?? { pid, prefix: LAB_PREFIX, mode: nullNetwork ? 'null' : 'network', phase: 'failed', startedAt: '' });
        return 1;
      }
      const waiting = (current?.waitingFor ?? []).join(', ');
      if (waiting !== '' && waiting !== lastWaiting) {
        info(`waiting for: ${waiting}`);
        lastWaiting = waiting;
      }
      await sleep(250);
    }
  } finally {
    release();
  }
}

async function status(): Promise<number> {
  const paths = statePaths(stateDirectory(LAB_PREFIX));
  const state = readState(paths);
  if (state === undefined || !isLabDaemon(state.pid, paths.directory)) {
    process.stdout.write(`lab ${LAB_PREFIX}: not running${state !== undefined ? ` (stale state from pid ${state.pid}; "down" sweeps it)` : ''}\n`);
    return EXIT_NOT_RUNNING;
  }
  const lines = [`lab ${LAB_PREFIX}: running`, `pid: ${state.pid}`, `mode: ${state.mode}`, `phase: ${state.phase}`, `api: ${state.url ?? '-'}`, `kubeconfig: ${state.kubeconfig ?? '-'}`];
  if (state.extraKubeconfig !== undefined) {
    lines.push(`kubeconfig (copy): ${state.extraKubeconfig}`);
  }
  const pods = await apiGet(state, '/api/v1/pods');
  if (pods?.status === 200) {
    const items = (JSON.parse(pods.body) as { items: { status?: { phase?: string } }[] }).items;
    const running = items.filter((item) => item.status?.phase === 'Running').length;
    lines.push(`pods: ${items.length} (${running} running)`);
  } else {
    lines.push('pods: API not answering');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

async function down(): Promise<number> {
  const paths = statePaths(stateDirectory(LAB_PREFIX));
  const release = await acquireLock(paths, 300_000);
  try {
    const state = readState(paths);
    const wasRunning = await teardown(paths, state);
    process.stdout.write(wasRunning ? `lab ${LAB_PREFIX} stopped\n` : `lab ${LAB_PREFIX} was not running\n`);
    return 0;
  } finally {
    release();
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      return up(rest);
    case 'status':
      return status();
    case 'down':
      return down();
    default:
      throw new UsageError(`usage: lab up [--kubeconfig FILE] [--scale] [--port N] [--null-network] | status | down`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    info(error instanceof UsageError ? error.message : `lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  },
);

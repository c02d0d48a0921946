/**
 * The lab's state directory (`<repo>/.lab/<prefix>/`): state.json written by the daemon,
 * the lock that keeps two CLI commands apart, and how to tell a live daemon from a PID that
 * now belongs to someone else.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type LabMode = 'network' | 'null' | 'scale';
export type LabPhase = 'starting' | 'seeding' | 'ready' | 'failed' | 'stopping';

export interface LabState {
  readonly pid: number;
  readonly prefix: string;
  readonly mode: LabMode;
  readonly phase: LabPhase;
  readonly startedAt: string;
  readonly port?: number;
  readonly url?: string;
  /** The kubeconfig in the state directory. */
  readonly kubeconfig?: string;
  /** An extra kubeconfig written where `up --kubeconfig FILE` asked. */
  readonly extraKubeconfig?: string;
  readonly error?: string;
  /** While seeding: what is still not Running. */
  readonly waitingFor?: readonly string[];
}

/** The directory holding package.json above `start` (the checkout, wherever the build went). */
export function repoRoot(start: string = __dirname): string {
  let directory = path.resolve(start);
  for (;;) {
    if (fs.existsSync(path.join(directory, 'package.json'))) {
      return directory;
    }
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error(`no package.json above ${start}`);
    }
    directory = parent;
  }
}

export function stateDirectory(prefix: string, root: string = repoRoot()): string {
  return path.join(root, '.lab', prefix);
}

export interface StatePaths {
  readonly directory: string;
  readonly state: string;
  readonly lock: string;
  readonly log: string;
  readonly kubeconfig: string;
  readonly tls: string;
}

export function statePaths(directory: string): StatePaths {
  return {
    directory,
    state: path.join(directory, 'state.json'),
    lock: path.join(directory, 'lock'),
    log: path.join(directory, 'daemon.log'),
    kubeconfig: path.join(directory, 'kubeconfig'),
    tls: path.join(directory, 'pki'),
  };
}

export function readState(paths: StatePaths): LabState | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(paths.state, 'utf8')) as LabState;
    return typeof parsed.pid === 'number' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export function writeState(paths: StatePaths, state: LabState): void {
  fs.mkdirSync(paths.directory, { recursive: true, mode: 0o700 });
  const temporary = `${paths.state}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(temporary, paths.state);
}

export function removeState(paths: StatePaths): void {
  fs.rmSync(paths.state, { force: true });
}

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` is this lab's daemon (and not a process that inherited a recycled PID). */
export function isLabDaemon(pid: number, directory: string): boolean {
  if (!processAlive(pid)) {
    return false;
  }
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\u0000');
    const stateIndex = argv.indexOf('--state-dir');
    return argv.some((arg) => arg.endsWith(`${path.sep}daemon.js`)) && stateIndex >= 0 && path.resolve(argv[stateIndex + 1] ?? '') === path.resolve(directory);
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Takes the state directory's lock (waiting for another CLI command), or throws after `timeoutMs`. */
export async function acquireLock(paths: StatePaths, timeoutMs: number): Promise<() => void> {
  fs.mkdirSync(paths.directory, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(paths.lock, 'wx', 0o600);
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => {
        try {
          if (fs.readFileSync(paths.lock, 'utf8').trim() === String(process.pid)) {
            fs.rmSync(paths.lock, { force: true });
          }
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(fs.readFileSync(paths.lock, 'utf8').trim(), 10);
    } catch {
      continue;
    }
    if (!processAlive(holder)) {
      // Left by a command that died: take it over.
      fs.rmSync(paths.lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`another lab command (pid ${holder}) holds ${paths.lock}`);
    }
    await sleep(200);
  }
}

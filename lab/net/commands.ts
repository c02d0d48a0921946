import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

/**
 * Running the system's network tools: always an argv array, never a shell string, with an
 * optional stdin (for `ip -batch -` and `iptables-restore`) and a hard time limit.
 */

export interface CommandResult {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class LabCommandError extends Error {
  override readonly name = 'LabCommandError';

  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`${argv.join(' ')} failed (${result.signal ?? `exit ${result.exitCode}`}): ${result.stderr.trim() || result.stdout.trim()}`);
  }

  static is(value: unknown): value is LabCommandError {
    return value instanceof LabCommandError;
  }
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. */
  readonly input?: string;
  readonly timeoutMs?: number;
}

/** Runs a command to its end and returns what it printed; never throws for a non-zero exit. */
export function runCommand(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    const finish = (result: CommandResult): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(result);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      finish({ exitCode: null, signal: null, stdout: '', stderr: error.message });
    });
    child.on('close', (exitCode, signal) => {
      finish({ exitCode, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') });
    });
    child.stdin.on('error', () => {
      // The command may exit before reading all of its input; its exit status tells the story.
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command and throws {@link LabCommandError} unless it exits 0. */
export async function runChecked(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await runCommand(file, args, options);
  if (result.exitCode !== 0) {
    throw new LabCommandError([file, ...args], result);
  }
  return result.stdout;
}

const SEARCH_DIRECTORIES = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/**
 * Absolute path of a system tool. The lab may be started from npm with a PATH that lacks
 * the sbin directories, so the usual places are searched first, then PATH.
 */
export function toolPath(name: string): string {
  const pathDirectories = (process.env.PATH ?? '').split(':').filter((entry) => entry.startsWith('/'));
  for (const directory of [...SEARCH_DIRECTORIES, ...pathDirectories]) {
    const candidate = `${directory}/${name}`;
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // try the next directory
    }
  }
  return name;
}

/** The tools the data plane runs, resolved once. */
export const TOOLS = {
  get ip(): string {
    return cachedTool('ip');
  },
  get sh(): string {
    return cachedTool('sh');
  },
  get sleep(): string {
    return cachedTool('sleep');
  },
  get env(): string {
    return cachedTool('env');
  },
};

const toolCache = new Map<string, string>();

function cachedTool(name: string): string {
  let found = toolCache.get(name);
  if (found === undefined) {
    found = toolPath(name);
    toolCache.set(name, found);
  }
  return found;
}

/** Sends SIGKILL, ignoring processes that are already gone. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** True while a process with this PID exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { delay, killQuietly } from './commands.js';

/**
 * cgroup v2 handling for the lab's containers. Only process tracking is used (no controllers
 * are enabled), which works on a pure cgroup2 host and on a hybrid host alike.
 */

/** The cgroup2 mount: /sys/fs/cgroup on a unified host, /sys/fs/cgroup/unified on a hybrid one. */
export function cgroup2Mount(): string {
  if (fs.existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    return '/sys/fs/cgroup';
  }
  return '/sys/fs/cgroup/unified';
}

/**
 * The constant script that moves itself into a cgroup and then becomes the real program:
 * the process is in its container's cgroup before the program's first instruction, and keeps
 * its PID (`exec`). Data only ever arrives as positional arguments.
 */
export const ENTER_CGROUP_SCRIPT = 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"';

/** Every PID in a cgroup and its descendants. */
export function cgroupTreePids(directory: string): number[] {
  const pids: number[] = [];
  const visit = (current: string): void => {
    let text = '';
    try {
      text = fs.readFileSync(path.join(current, 'cgroup.procs'), 'utf8');
    } catch {
      return;
    }
    for (const line of text.split('\n')) {
      const pid = Number.parseInt(line, 10);
      if (Number.isInteger(pid) && pid > 0) {
        pids.push(pid);
      }
    }
    for (const child of childDirectories(current)) {
      visit(child);
    }
  };
  visit(directory);
  return pids;
}

function childDirectories(directory: string): string[] {
  try {
    return fs
      .readdirSync(directory, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => path.join(directory, entry.name));
  } catch {
    return [];
  }
}

function populated(directory: string): boolean {
  try {
    return /^populated 1$/m.test(fs.readFileSync(path.join(directory, 'cgroup.events'), 'utf8'));
  } catch {
    return cgroupTreePids(directory).length > 0;
  }
}

/**
 * SIGKILLs every process in a cgroup subtree (cgroup.kill where the kernel has it, PID by PID
 * otherwise) and waits, bounded, until the subtree is empty.
 */
export async function killCgroupTree(directory: string, timeoutMs = 5_000): Promise<void> {
  if (!fs.existsSync(directory)) {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      fs.writeFileSync(path.join(directory, 'cgroup.kill'), '1');
    } catch {
      // no cgroup.kill (kernel < 5.14): kill one by one below
    }
    for (const pid of cgroupTreePids(directory)) {
      killQuietly(pid);
    }
    if (!populated(directory) || Date.now() > deadline) {
      return;
    }
    await delay(10);
  }
}

/** Removes a cgroup subtree depth-first (cgroup directories are removed with rmdir only). */
export async function removeCgroupTree(directory: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const remove = async (current: string): Promise<void> => {
    for (const child of childDirectories(current)) {
      await remove(child);
    }
    for (;;) {
      try {
        fs.rmdirSync(current);
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return;
        }
        if (code !== 'EBUSY' || Date.now() > deadline) {
          throw error;
        }
        await delay(10);
      }
    }
  };
  await remove(directory);
}

/** Creates a cgroup directory and its parents (mkdir is how cgroups are made). */
export function makeCgroup(directory: string): void {
  fs.mkdirSync(directory, { recursive: true });
}

/** The cgroup v2 path of a process as the kernel reports it (the `0::` line). */
export function processCgroupV2(pid: number): string | undefined {
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('0::'));
    return line?.slice(3);
  } catch {
    return undefined;
  }
}

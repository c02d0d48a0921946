import * as fs from 'node:fs';
import * as path from 'node:path';
import { cgroup2Mount, cgroupTreePids, killCgroupTree, removeCgroupTree } from './cgroups.js';
import { delay, killQuietly, runCommand, TOOLS } from './commands.js';
import { isLabNetns, labCgroupRoot } from './names.js';

/** What a sweep found and removed. */
export interface SweepReport {
  readonly netns: readonly string[];
  readonly killedPids: readonly number[];
  readonly cgroupRemoved: boolean;
  readonly etcNetnsRemoved: readonly string[];
}

/** The directory `ip netns exec` bind-mounts files from (resolv.conf, hosts) per netns. */
export const ETC_NETNS = '/etc/netns';

function assertSweepablePrefix(prefix: string): void {
  // An empty or odd prefix would match other people's namespaces: refuse it outright.
  if (!/^[a-z][a-z0-9]{0,9}$/.test(prefix) || !prefix.includes('lab')) {
    throw new Error(`refusing to sweep with prefix ${JSON.stringify(prefix)}`);
  }
}

/** Named network namespaces of this lab (from `ip netns list` and /run/netns). */
export async function listLabNetns(prefix: string): Promise<string[]> {
  const names = new Set<string>();
  const listed = await runCommand(TOOLS.ip, ['netns', 'list']);
  for (const line of listed.stdout.split('\n')) {
    const name = line.trim().split(/\s+/)[0];
    if (name && isLabNetns(prefix, name)) {
      names.add(name);
    }
  }
  try {
    for (const name of fs.readdirSync('/run/netns')) {
      if (isLabNetns(prefix, name)) {
        names.add(name);
      }
    }
  } catch {
    // no /run/netns yet
  }
  return [...names].sort();
}

/** PIDs whose network namespace is the named one (`ip netns pids`). */
export async function netnsPids(name: string): Promise<number[]> {
  const result = await runCommand(TOOLS.ip, ['netns', 'pids', name]);
  return result.stdout
    .split('\n')
    .map((line) => Number.parseInt(line, 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/**
 * Removes everything a lab with this prefix may have left behind (after a SIGKILL, a crash,
 * or as the last step of a normal stop): kills the processes in its network namespaces and
 * cgroups, deletes the namespaces (which takes their interfaces and iptables rules along),
 * removes its cgroup tree depth-first and its /etc/netns entries. Touches nothing else.
 */
export async function sweepLab(prefix: string, log: (line: string) => void = () => {}): Promise<SweepReport> {
  assertSweepablePrefix(prefix);
  const cgroupRoot = labCgroupRoot(cgroup2Mount(), prefix);
  const killed = new Set<number>();
  const namespaces = await listLabNetns(prefix);

  // Kill until nothing is left: a dying parent may still fork, so repeat a few rounds.
  for (let round = 0; round < 20; round += 1) {
    const pids = new Set<number>(cgroupTreePids(cgroupRoot));
    const perNetns = await Promise.all(namespaces.map((name) => netnsPids(name)));
    for (const list of perNetns) {
      for (const pid of list) {
        pids.add(pid);
      }
    }
    pids.delete(process.pid);
    if (pids.size === 0) {
      break;
    }
    for (const pid of pids) {
      killed.add(pid);
      killQuietly(pid);
    }
    await killCgroupTree(cgroupRoot);
    await delay(20);
  }

  for (const name of namespaces) {
    const result = await runCommand(TOOLS.ip, ['netns', 'delete', name]);
    if (result.exitCode !== 0 && fs.existsSync(path.join('/run/netns', name))) {
      log(`[LabNet] could not delete netns ${name}: ${result.stderr.trim()}`);
    }
  }

  let cgroupRemoved = false;
  if (fs.existsSync(cgroupRoot)) {
    try {
      await removeCgroupTree(cgroupRoot);
      cgroupRemoved = true;
    } catch (error) {
      log(`[LabNet] could not remove cgroup ${cgroupRoot}: ${(error as Error).message}`);
    }
  }

  const etcNetnsRemoved = removeEtcNetnsEntries(prefix);
  if (namespaces.length > 0 || killed.size > 0 || cgroupRemoved || etcNetnsRemoved.length > 0) {
    log(
      `[LabNet] swept prefix ${prefix}: ${namespaces.length} netns, ${killed.size} processes, ` +
        `cgroup ${cgroupRemoved ? 'removed' : 'absent'}, ${etcNetnsRemoved.length} /etc/netns entries`,
    );
  }
  return { netns: namespaces, killedPids: [...killed], cgroupRemoved, etcNetnsRemoved };
}

/** Removes /etc/netns/<prefix>-* (files the lab wrote) and /etc/netns itself once empty. */
export function removeEtcNetnsEntries(prefix: string): string[] {
  const removed: string[] = [];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(ETC_NETNS);
  } catch {
    return removed;
  }
  for (const name of entries) {
    if (isLabNetns(prefix, name)) {
      fs.rmSync(path.join(ETC_NETNS, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  removeEtcNetnsIfEmpty();
  return removed;
}

/** /etc/netns did not exist before the lab; leave the machine as it was when nobody uses it. */
export function removeEtcNetnsIfEmpty(): void {
  try {
    fs.rmdirSync(ETC_NETNS);
  } catch {
    // not empty (another lab or another user) or already gone
  }
}

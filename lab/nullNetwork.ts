/**
 * The data plane of scale mode (and of machines where the real one cannot run): no network
 * namespaces, no processes. Pods get addresses from their node's podCIDR so the API looks
 * like a real cluster's; exec runs the command directly on this machine, and those exec
 * processes are the only thing it tracks and kills.
 */
import * as fs from 'node:fs';
import type { LabNodeSpec } from './config';
import type { ClusterState, LabNetwork, PodSandbox, PodSandboxRequest, SpawnSpec } from './types';

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((value, part) => value * 256 + Number.parseInt(part, 10), 0);
}

function numberToIp(value: number): string {
  return [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

interface NodePool {
  readonly spec: LabNodeSpec;
  readonly first: number;
  readonly last: number;
  readonly used: Set<number>;
  next: number;
}

export class NullLabNetwork implements LabNetwork {
  private readonly pools = new Map<string, NodePool>();
  private readonly sandboxes = new Map<string, { node: string; ip?: number }>();
  /** Pod UID → exec PID → the process's start time (to never signal a reused PID). */
  private readonly execs = new Map<string, Map<number, string | undefined>>();

  constructor(private readonly options: { nodes: readonly LabNodeSpec[]; log: (line: string) => void }) {
    for (const node of options.nodes) {
      const [base, prefixText] = node.podCIDR.split('/');
      const size = 2 ** (32 - Number.parseInt(prefixText, 10));
      const network = ipToNumber(base) - (ipToNumber(base) % size);
      const used = new Set<number>([ipToNumber(node.bridgeIP)]);
      this.pools.set(node.name, { spec: node, first: network + 1, last: network + size - 2, used, next: network + 2 });
    }
  }

  async start(): Promise<void> {
    this.options.log('[null-network] API-only data plane: no namespaces, no processes');
  }

  async createPodSandbox(request: PodSandboxRequest): Promise<PodSandbox> {
    const pool = this.pools.get(request.nodeName);
    if (pool === undefined) {
      throw new Error(`no node ${request.nodeName} in the lab`);
    }
    const existing = this.sandboxes.get(request.uid);
    let ip: number | undefined = existing?.ip;
    if (!request.hostNetwork && ip === undefined) {
      const span = pool.last - pool.first + 1;
      for (let i = 0; i < span; i++) {
        const candidate = pool.first + ((pool.next - pool.first + i) % span);
        if (!pool.used.has(candidate)) {
          ip = candidate;
          break;
        }
      }
      if (ip === undefined) {
        throw new Error(`node ${request.nodeName} has no free address left in ${pool.spec.podCIDR}`);
      }
      pool.used.add(ip);
      pool.next = ip + 1 > pool.last ? pool.first : ip + 1;
    }
    this.sandboxes.set(request.uid, { node: request.nodeName, ip });
    return {
      podIP: ip === undefined ? pool.spec.internalIP : numberToIp(ip),
      hostIP: pool.spec.internalIP,
      containers: request.containers.map((container) => ({ name: container.name, containerId: container.containerId, pid: 0 })),
    };
  }

  async deletePodSandbox(uid: string): Promise<void> {
    const sandbox = this.sandboxes.get(uid);
    if (sandbox !== undefined) {
      if (sandbox.ip !== undefined) {
        this.pools.get(sandbox.node)?.used.delete(sandbox.ip);
      }
      this.sandboxes.delete(uid);
    }
    this.killExecs(uid);
  }

  execSpec(_uid: string, _containerName: string, argv: readonly string[]): SpawnSpec {
    return { file: argv[0], args: argv.slice(1) };
  }

  trackExecProcess(uid: string, pid: number): void {
    let pids = this.execs.get(uid);
    if (pids === undefined) {
      pids = new Map();
      this.execs.set(uid, pids);
    }
    pids.set(pid, processStartTime(pid));
  }

  async syncClusterState(_state: ClusterState): Promise<void> {
    // Nothing to program: there are no kube-proxy rules or DNS servers in this mode.
  }

  async stop(): Promise<void> {
    for (const uid of [...this.execs.keys()]) {
      this.killExecs(uid);
    }
    this.sandboxes.clear();
  }

  private killExecs(uid: string): void {
    for (const [pid, startTime] of this.execs.get(uid) ?? []) {
      const now = processStartTime(pid);
      if (now !== undefined && now !== startTime) {
        // The PID belongs to another process by now.
        continue;
      }
      // The exec runs as a process group leader; the kernel does not reuse a PID that is
      // still some group's ID, so the group is ours even after its leader exited.
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    this.execs.delete(uid);
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks), or undefined when the process is gone. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterName = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return afterName[19];
  } catch {
    return undefined;
  }
}

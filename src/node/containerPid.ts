import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { containerIdFromStatus, parseProcCgroup } from '../parsers/container.js';
import { ContainerPidError } from './errors.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';
import type { NodeCommandOptions, NodeRunner } from './nodeRunner.js';

export type PidMethod = 'crictl' | 'state-file' | 'cgroup-scan';

/** A container's main process on its node, and how it was found. */
export interface ContainerPidResult {
  readonly pid: number;
  readonly method: PidMethod;
  /** The state file or `/proc/PID/cgroup` that gave the PID; null for crictl. */
  readonly source: string | null;
  readonly nodeName: string;
  readonly containerName: string;
  readonly containerId: string;
  /** `containerd`, `cri-o`, `docker`, or the scheme as written. */
  readonly runtime: string | null;
  /** What each way reported before one worked (for the log). */
  readonly attempts: readonly string[];
  /** Doubts about the result (for instance a cgroup line the parser did not recognise). */
  readonly problems: readonly string[];
}

/** The container a PID lookup is for, read and validated from the pod's status. */
export interface ContainerTarget {
  readonly nodeName: string;
  readonly containerName: string;
  readonly containerId: string;
  readonly runtime: string | null;
}

/**
 * Finds a container's PID on its node in one exec round trip. The script is constant; the
 * container ID goes in as a positional argument, checked to be hex both here and there.
 * Order: `crictl inspect` in the host's root, the runtime's state files, a scan of
 * `/proc/[0-9]*\/cgroup` (any cgroup version and layout names the ID in the path).
 */
export const CONTAINER_PID_SCRIPT = String.raw`
id="$1"; host="$2"; proc="$3"
case "$id" in
  ''|*[!0-9a-f]*) echo "error=invalid-id"; exit 2 ;;
esac
found() {
  case "$2" in ''|*[!0-9]*) return 1 ;; esac
  [ "$2" -gt 0 ] || return 1
  [ -d "$proc/$2" ] || return 1
  echo "method=$1 pid=$2 source=$3"
  if [ "$1" = cgroup-scan ]; then echo "@@cgroup@@"; cat "$proc/$2/cgroup"; fi
  exit 0
}
limit=""
if command -v timeout >/dev/null 2>&1; then limit="timeout 10"; fi
if [ -d "$host/usr" ]; then
  pid=$($limit chroot "$host" crictl inspect --output go-template --template '{{.info.pid}}' "$id" 2>/dev/null | head -n 1)
  found crictl "$pid" ""
  echo "attempt=crictl result=no-pid"
else
  echo "attempt=crictl result=no-host-root"
fi
for f in \
  "$host/run/containerd/io.containerd.runtime.v2.task/k8s.io/$id/init.pid" \
  "$host/run/containerd/io.containerd.runtime.v1.linux/k8s.io/$id/init.pid" \
  "$host/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/$id/init.pid" \
  "$host/var/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/$id/init.pid" \
  "$host/var/run/docker/containerd/daemon/io.containerd.runtime.v1.linux/moby/$id/init.pid" \
  "$host/run/containers/storage/overlay-containers/$id/userdata/pidfile" \
  "$host/var/lib/containers/storage/overlay-containers/$id/userdata/pidfile"; do
  if [ -r "$f" ]; then found state-file "$(head -n 1 "$f" | tr -dc 0-9)" "$f"; fi
done
for f in \
  "$host/run/containerd/runc/k8s.io/$id/state.json" \
  "$host/run/k3s/containerd/runc/k8s.io/$id/state.json" \
  "$host/run/runc/$id/state.json" \
  "$host/run/crun/$id/status" \
  "$host/run/docker/runtime-runc/moby/$id/state.json" \
  "$host/var/lib/docker/containers/$id/config.v2.json"; do
  if [ -r "$f" ]; then
    found state-file "$(sed -n -e 's/.*"init_process_pid" *: *\([0-9][0-9]*\).*/\1/p' -e 's/.*"Pid" *: *\([0-9][0-9]*\).*/\1/p' -e 's/.*"pid" *: *\([0-9][0-9]*\).*/\1/p' "$f" | head -n 1)" "$f"
  fi
done
echo "attempt=state-file result=none"
matches=$(cd "$proc" && grep -l -F -e "$id" [0-9]*/cgroup 2>/dev/null | sed -n 's#^\([0-9][0-9]*\)/cgroup$#\1#p' | sort -n)
if [ -z "$matches" ]; then
  echo "attempt=cgroup-scan result=none"
  echo "error=not-found"
  exit 3
fi
all=" $(echo $matches) "
for p in $matches; do
  ppid=$(sed -n 's/.*) [A-Za-z] \([0-9][0-9]*\) .*/\1/p' "$proc/$p/stat" 2>/dev/null)
  [ -n "$ppid" ] || continue
  case "$all" in *" $ppid "*) ;; *) found cgroup-scan "$p" "$proc/$p/cgroup" ;; esac
done
for p in $matches; do found cgroup-scan "$p" "$proc/$p/cgroup"; done
echo "attempt=cgroup-scan result=vanished"
echo "error=not-found"
exit 3
`;

const HEX_ID = /^[0-9a-f]{12,128}$/;

/** Where the script looks: the node's root as the debug pod mounts it, and the host's /proc. */
export interface PidLookupRoots {
  readonly hostRoot: string;
  readonly procRoot: string;
}

export const NODE_PID_LOOKUP_ROOTS: PidLookupRoots = { hostRoot: '/host', procRoot: '/proc' };

/**
 * The argv for {@link CONTAINER_PID_SCRIPT}: the ID (and the roots) are data, never part of
 * the script text. Other roots than the default exist for tests on a prepared tree.
 */
export function containerPidArgv(containerId: string, roots: PidLookupRoots = NODE_PID_LOOKUP_ROOTS): string[] {
  if (!HEX_ID.test(containerId)) {
    throw new ContainerPidError('invalid-container-id', `Not a container ID (expected 12-128 lowercase hex characters): ${JSON.stringify(containerId)}`);
  }
  for (const root of [roots.hostRoot, roots.procRoot]) {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(root) || root.split('/').includes('..')) {
      throw new RangeError(`lookup root must be a plain absolute path, got ${JSON.stringify(root)}`);
    }
  }
  return ['sh', '-c', CONTAINER_PID_SCRIPT, 'kni-container-pid', containerId, roots.hostRoot, roots.procRoot];
}

/** What the script printed, read. Never throws. */
export interface PidScriptOutput {
  readonly method: PidMethod | null;
  readonly pid: number | null;
  readonly source: string | null;
  /** The `/proc/PID/cgroup` text printed after a cgroup-scan match. */
  readonly cgroupText: string | null;
  readonly attempts: string[];
  readonly error: string | null;
}

export function parsePidScriptOutput(stdout: string): PidScriptOutput {
  const attempts: string[] = [];
  let method: PidMethod | null = null;
  let pid: number | null = null;
  let source: string | null = null;
  let error: string | null = null;
  let cgroupText: string | null = null;
  const lines = stdout.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line === '@@cgroup@@') {
      cgroupText = lines.slice(index + 1).join('\n');
      break;
    }
    const fields = keyValues(line);
    if (fields.attempt !== undefined) {
      attempts.push(`${fields.attempt}: ${fields.result ?? '?'}`);
    } else if (fields.method !== undefined) {
      const candidate = fields.method;
      const number = fields.pid !== undefined && /^\d+$/.test(fields.pid) ? Number(fields.pid) : null;
      if ((candidate === 'crictl' || candidate === 'state-file' || candidate === 'cgroup-scan') && number !== null && number > 0) {
        method = candidate;
        pid = number;
        source = fields.source !== undefined && fields.source !== '' ? fields.source : null;
      }
    } else if (fields.error !== undefined) {
      error = fields.error;
    }
  }
  return { method, pid, source, cgroupText, attempts, error };
}

function keyValues(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of line.split(/\s+/)) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      out[part.slice(0, eq)] = part.slice(eq + 1);
    }
  }
  return out;
}

/**
 * Picks the container of `pod` (the named one, else the first running one) and validates
 * its ID. Throws {@link ContainerPidError} when there is none to look up.
 */
export function containerTarget(pod: V1Pod, containerName?: string): ContainerTarget {
  const where = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
  const nodeName = pod.spec?.nodeName;
  if (nodeName === undefined || nodeName === '') {
    throw new ContainerPidError('pod-not-scheduled', `Pod ${where} is not scheduled to a node yet.`);
  }
  const statuses: V1ContainerStatus[] = pod.status?.containerStatuses ?? [];
  let status: V1ContainerStatus | undefined;
  if (containerName !== undefined) {
    status = statuses.find((item) => item.name === containerName);
    if (status === undefined) {
      throw new ContainerPidError('container-not-found', `Pod ${where} has no container named "${containerName}" with a status.`);
    }
  } else {
    status = statuses.find((item) => item.state?.running !== undefined) ?? statuses[0];
  }
  if (status === undefined || status.state?.running === undefined) {
    throw new ContainerPidError('no-container-id', `Pod ${where} has no running container${status !== undefined ? ` ("${status.name}" is not running)` : ''}, so it has no process to enter.`);
  }
  const raw = status.containerID ?? '';
  if (raw === '') {
    throw new ContainerPidError('no-container-id', `Container "${status.name}" of pod ${where} has no container ID yet.`);
  }
  const ref = containerIdFromStatus(raw);
  if (ref === null || !HEX_ID.test(ref.id)) {
    throw new ContainerPidError('invalid-container-id', `Container "${status.name}" of pod ${where} has an ID this tool cannot use: ${JSON.stringify(raw.slice(0, 200))}`);
  }
  return { nodeName, containerName: status.name, containerId: ref.id, runtime: ref.runtime };
}

/**
 * The host PID of a pod's container, for `nsenter -t PID`. One exec on the pod's node.
 */
export async function findContainerPid(
  runner: NodeRunner,
  pod: V1Pod,
  options: NodeCommandOptions & { readonly containerName?: string; readonly logger?: Logger } = {},
): Promise<ContainerPidResult> {
  const logger = options.logger ?? silentLogger;
  const target = containerTarget(pod, options.containerName);
  const result = await runner.run(target.nodeName, containerPidArgv(target.containerId), { ...options, timeoutMs: options.timeoutMs ?? 30_000 });
  const output = parsePidScriptOutput(result.stdout);
  if (output.method === null || output.pid === null) {
    const why = output.error ?? (result.stderr.trim() !== '' ? result.stderr.trim().slice(0, 300) : `exit code ${result.exitCode}`);
    logger.warn(`[ContainerPid] no PID for ${target.containerId.slice(0, 12)} on ${target.nodeName}: ${output.attempts.join('; ')} (${why})`);
    throw new ContainerPidError(
      'not-found',
      `Could not find the process of container "${target.containerName}" on node "${target.nodeName}" (tried crictl, the runtime's state files and /proc/*/cgroup: ${why}). The container may have just restarted; try again.`,
      output.attempts,
    );
  }
  const problems: string[] = [];
  if (output.method === 'cgroup-scan' && output.cgroupText !== null) {
    const parsed = parseProcCgroup(output.cgroupText);
    if (!parsed.value.containerIds.includes(target.containerId)) {
      problems.push(`the cgroup of PID ${output.pid} names the ID, but not in a layout the cgroup parser recognises (it read ${parsed.value.containerIds.length} other IDs)`);
    }
    const podUid = pod.metadata?.uid;
    if (parsed.value.podUid !== null && podUid !== undefined && parsed.value.podUid !== podUid) {
      problems.push(`the cgroup of PID ${output.pid} belongs to pod UID ${parsed.value.podUid}, not ${podUid}`);
    }
  }
  logger.info(
    `[ContainerPid] ${target.runtime ?? 'container'} ${target.containerId.slice(0, 12)} on ${target.nodeName}: pid ${output.pid} via ${output.method}` +
      `${output.source !== null ? ` (${output.source})` : ''}${output.attempts.length > 0 ? `; before that: ${output.attempts.join('; ')}` : ''}`,
  );
  for (const problem of problems) {
    logger.warn(`[ContainerPid] ${problem}`);
  }
  return {
    pid: output.pid,
    method: output.method,
    source: output.source,
    nodeName: target.nodeName,
    containerName: target.containerName,
    containerId: target.containerId,
    runtime: target.runtime,
    attempts: output.attempts,
    problems,
  };
}

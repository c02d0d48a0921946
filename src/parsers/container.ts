/**
 * Container IDs, pod UIDs and PIDs from what a node says about its containers:
 * `/proc/PID/cgroup`, `crictl inspect`/`inspectp`, `docker inspect` (JSON, `--format`
 * numbers, grep'd lines) and the `Container ID:` lines of `kubectl describe pod`.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isTrimMark, splitLines } from './text';

/** A container ID with the runtime it came from. */
export interface ContainerRef {
  /** `containerd`, `cri-o`, `docker`, or another scheme as written; null when the source does not say. */
  runtime: string | null;
  /** The ID, lower-case hex. */
  id: string;
}

/** What the output says about a container: its ID(s), its pod's UID, its PID. */
export interface ContainerPidInfo {
  containerIds: string[];
  podUid: string | null;
  /** Host PID of the container's (or sandbox's) process; null when absent or 0 (not running). */
  pid: number | null;
  /** The same IDs with their runtimes, where the output names them. */
  containers: ContainerRef[];
}

function empty(): ContainerPidInfo {
  return { containerIds: [], podUid: null, pid: null, containers: [] };
}

const RUNTIME_NAMES: Record<string, string> = {
  containerd: 'containerd',
  'cri-containerd': 'containerd',
  'cri-o': 'cri-o',
  crio: 'cri-o',
  docker: 'docker',
};

/**
 * Splits a `status.containerStatuses[].containerID` (`containerd://ID`, `cri-o://ID`,
 * `docker://ID`, any other `scheme://ID`) into runtime and ID. The ID must be hexadecimal
 * and at least 12 characters long (64 for every runtime seen in practice); anything else
 * gives null. Never throws.
 */
export function containerIdFromStatus(containerID: string): ContainerRef | null {
  if (typeof containerID !== 'string') {
    return null;
  }
  const match = /^([a-z][a-z0-9.+-]{0,31}):\/\/([0-9a-fA-F]{12,128})$/.exec(containerID.trim());
  if (!match) {
    return null;
  }
  return { runtime: RUNTIME_NAMES[match[1]] ?? match[1], id: match[2].toLowerCase() };
}

function addContainer(info: ContainerPidInfo, ref: ContainerRef): void {
  const existing = info.containers.find((item) => item.id === ref.id);
  if (existing) {
    if (existing.runtime === null && ref.runtime !== null) {
      existing.runtime = ref.runtime;
    }
    return;
  }
  info.containers.push(ref);
  info.containerIds.push(ref.id);
}

const POD_UID = /(?:^|[-_.])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32})(?:\.slice)?$/;
const CONTAINER_SEGMENT = /^(?:(cri-containerd|crio|docker|containerd|libpod)-)?([0-9a-f]{64})(?:\.scope)?$/;

/** Reads one cgroup path (`/kubepods/burstable/pod<uid>/<id>`, `…-pod<uid>.slice/cri-containerd-<id>.scope`). */
function readCgroupPath(info: ContainerPidInfo, path: string): void {
  for (const rawSegment of path.split('/')) {
    if (rawSegment.length === 0) {
      continue;
    }
    // containerd with the systemd driver on cgroup v1 can write `slice:prefix:id` as one segment.
    const pieces = rawSegment.split(':');
    const segment = pieces[pieces.length - 1];
    const podMatch = POD_UID.exec(pieces[0]);
    if (podMatch && info.podUid === null) {
      info.podUid = podMatch[1].replace(/_/g, '-');
    }
    if (pieces.length === 3 && /^[0-9a-f]{64}$/.test(segment)) {
      addContainer(info, { runtime: RUNTIME_NAMES[pieces[1]] ?? pieces[1], id: segment });
      continue;
    }
    if (segment.startsWith('crio-conmon-')) {
      // conmon is CRI-O's monitor process, not the container.
      continue;
    }
    const containerMatch = CONTAINER_SEGMENT.exec(segment);
    if (containerMatch) {
      const prefix = containerMatch[1];
      addContainer(info, { runtime: prefix === undefined ? null : RUNTIME_NAMES[prefix] ?? prefix, id: containerMatch[2] });
    }
  }
}

function parseCgroupText(text: string): ParseResult<ContainerPidInfo> {
  const problems: ParseProblem[] = [];
  const info = empty();
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(trimmed);
    if (!match) {
      problems.push({ line: n + 1, text: line, reason: 'not a /proc/PID/cgroup line (ID:controllers:path)' });
      continue;
    }
    readCgroupPath(info, match[3]);
  }
  return { value: info, problems };
}

/**
 * Parses `/proc/PID/cgroup` (cgroup v1 and v2; cgroupfs and systemd layouts; containerd,
 * CRI-O and Docker scopes) into the container IDs and pod UID it names. `pid` stays null:
 * the file does not contain it. A host process gives no IDs and no problems.
 */
export function parseProcCgroup(text: string): ParseResult<ContainerPidInfo> {
  return guardParser('proc-cgroup', text, empty, parseCgroupText);
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function setPid(info: ContainerPidInfo, value: unknown, problems: ParseProblem[], line: number, text: string): void {
  if (info.pid !== null) {
    return;
  }
  const pid = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : null;
  if (pid === null) {
    return;
  }
  if (pid <= 0) {
    problems.push({ line, text, reason: 'PID 0: the container is not running' });
    return;
  }
  info.pid = pid;
}

/** One object of `crictl inspect`/`inspectp` or of `docker inspect`'s array. */
function readInspectObject(info: ContainerPidInfo, object: Record<string, unknown>, problems: ParseProblem[]): void {
  const status = asRecord(object.status);
  const runtimeInfo = asRecord(object.info);
  if (status !== null || runtimeInfo !== null) {
    if (runtimeInfo !== null && 'pid' in runtimeInfo) {
      setPid(info, runtimeInfo.pid, problems, 0, '');
    }
    if (status !== null) {
      if (typeof status.id === 'string' && /^[0-9a-f]{12,128}$/.test(status.id)) {
        addContainer(info, { runtime: null, id: status.id });
      }
      const labels = asRecord(status.labels);
      const metadata = asRecord(status.metadata);
      if (labels !== null && typeof labels['io.kubernetes.pod.uid'] === 'string') {
        info.podUid = labels['io.kubernetes.pod.uid'];
      } else if (metadata !== null && typeof metadata.uid === 'string') {
        // inspectp: a sandbox's metadata.uid is the pod's UID.
        info.podUid = metadata.uid;
      }
    }
    return;
  }
  // docker inspect
  if (typeof object.Id === 'string' && /^[0-9a-f]{12,128}$/.test(object.Id)) {
    addContainer(info, { runtime: 'docker', id: object.Id });
  }
  const state = asRecord(object.State);
  if (state !== null) {
    setPid(info, state.Pid, problems, 0, '');
  }
  const config = asRecord(object.Config);
  const labels = config === null ? null : asRecord(config.Labels);
  if (labels !== null && typeof labels['io.kubernetes.pod.uid'] === 'string' && info.podUid === null) {
    info.podUid = labels['io.kubernetes.pod.uid'];
  }
}

const JSONISH_LINE = /^\s*(?:[{}[\],]+|"[^"]*"\s*:.*|"(?:[^"\\]|\\.)*",?|-?\d+(?:\.\d+)?,?|true,?|false,?|null,?)\s*$/;

/** Reads line by line what a whole JSON parse could not (a truncated dump, grep'd lines, bare numbers). */
function readLines(info: ContainerPidInfo, lines: string[], problems: ParseProblem[], describe: boolean): void {
  let sandboxUid: string | null = null;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const trimmed = line.trim();
    if (trimmed.length === 0 || isTrimMark(line)) {
      continue;
    }
    const containerLine = /^(?:-\s*)?"?(?:Container ID|containerID)"?:\s*"?([^"\s,]+)"?,?$/.exec(trimmed);
    if (containerLine) {
      const ref = containerIdFromStatus(containerLine[1]);
      if (ref) {
        addContainer(info, ref);
      } else {
        problems.push({ line: n + 1, text: line, reason: 'container ID is not runtime://hex' });
      }
      continue;
    }
    if (describe) {
      // Everything else in kubectl describe output is about other things.
      continue;
    }
    if (/^\d+$/.test(trimmed)) {
      setPid(info, trimmed, problems, n + 1, line);
      continue;
    }
    const pid = /^"(?:pid|Pid)":\s*(-?\d+)\s*,?$/.exec(trimmed);
    if (pid) {
      setPid(info, Number(pid[1]), problems, n + 1, line);
      continue;
    }
    const id = /^"(?:id|Id)":\s*"([0-9a-f]{12,128})",?$/.exec(trimmed);
    if (id) {
      addContainer(info, { runtime: trimmed.startsWith('"Id"') ? 'docker' : null, id: id[1] });
      continue;
    }
    const podUid = /^"io\.kubernetes\.pod\.uid":\s*"([^"]+)",?$/.exec(trimmed);
    if (podUid) {
      info.podUid = podUid[1];
      continue;
    }
    const uid = /^"uid":\s*"([^"]+)",?$/.exec(trimmed);
    if (uid) {
      sandboxUid ??= uid[1];
      continue;
    }
    if (JSONISH_LINE.test(line)) {
      continue;
    }
    problems.push({ line: n + 1, text: line, reason: 'not part of crictl/docker inspect output' });
  }
  if (info.podUid === null && sandboxUid !== null) {
    info.podUid = sandboxUid;
  }
}

function parseInspectText(text: string): ParseResult<ContainerPidInfo> {
  const problems: ParseProblem[] = [];
  const info = empty();
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let data: unknown;
    let parsed = true;
    try {
      data = JSON.parse(trimmed);
    } catch {
      parsed = false;
    }
    if (parsed) {
      const objects = Array.isArray(data) ? data : [data];
      for (const object of objects) {
        const record = asRecord(object);
        if (record !== null) {
          readInspectObject(info, record, problems);
        }
      }
      return { value: info, problems };
    }
    problems.push({ line: 0, text: '', reason: 'the JSON is incomplete (cut short?): values were read line by line' });
  }
  const lines = splitLines(text);
  const describe = lines.some((line) => /^\s*Container ID:\s/.test(line)) || lines.some((line) => /^\s*(?:-\s*)?containerID:\s/.test(line));
  readLines(info, lines, problems, describe);
  return { value: info, problems };
}

/**
 * Parses `crictl inspect` / `crictl inspectp` JSON (old and new layouts: `info.pid`,
 * `status.id`, the pod UID from the pod-uid label or the sandbox metadata), `docker inspect`
 * JSON, `docker inspect --format '{{.State.Pid}}'` numbers, `… | grep Pid` lines, and the
 * `Container ID:` lines of `kubectl describe pod`. A JSON dump that was cut short is read
 * line by line.
 */
export function parseCrictlInspect(text: string): ParseResult<ContainerPidInfo> {
  return guardParser('crictl-inspect', text, empty, parseInspectText);
}

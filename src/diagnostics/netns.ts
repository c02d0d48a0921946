import { findContainerPid } from '../node/containerPid.js';
import type { NodeExecResult } from '../node/nodeExec.js';
import type { DebugPodHandle, AcquireOptions } from '../node/debugPodManager.js';
import type { NodeRunner } from '../node/nodeRunner.js';
import { DiagnosticError, readPod, requireRunningOnNode, summarizePod } from './context.js';
import type { DiagnosticContext, DiagnosticOptions, PodRef, PodSummary } from './context.js';
import { crictlPidCommand, kubectlDebugNodeCommand, nsenterCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';
import type { PidInfo } from './veth.js';

/** The result of "Run in pod netns". */
export interface NetnsRunResult {
  readonly pod: PodSummary;
  readonly pid: PidInfo;
  /** The command as the user gave it. */
  readonly command: string[];
  /** What ran on the node. */
  readonly nodeArgv: string[];
  readonly exec: NodeExecResult;
  readonly manualCommands: ManualCommand[];
}

export interface NetnsRunOptions extends DiagnosticOptions {
  readonly containerName?: string;
  /** Time limit for the command; it is also killed on the node when the limit passes. Default 60 s. */
  readonly timeoutMs?: number;
  readonly maxBufferBytes?: number;
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
}

/**
 * The node argv that runs `argv` in the network namespace of process `pid`: nsenter, bounded
 * by `timeout` on the node (closing the exec stream alone does not stop a process there).
 */
export function netnsArgv(pid: number, argv: readonly string[], limitSeconds?: number): string[] {
  if (!Number.isInteger(pid) || pid <= 0) {
    throw new RangeError(`not a PID: ${pid}`);
  }
  if (argv.length === 0 || argv.some((item) => typeof item !== 'string' || item.includes('\0'))) {
    throw new DiagnosticError('invalid-input', 'The command must be a non-empty list of words.');
  }
  const enter = ['nsenter', '-t', String(pid), '-n', '--', ...argv];
  if (limitSeconds === undefined) {
    return enter;
  }
  return ['timeout', '-s', 'KILL', String(Math.max(1, Math.ceil(limitSeconds))), ...enter];
}

/** "Run in pod netns": `argv` with the node's tools, inside the pod's network namespace. */
export async function runInNetns(context: DiagnosticContext, ref: PodRef, argv: readonly string[], options: NetnsRunOptions = {}): Promise<NetnsRunResult> {
  if (argv.length === 0) {
    throw new DiagnosticError('invalid-input', 'No command given.');
  }
  const pod = await readPod(context, ref);
  const nodeName = requireRunningOnNode(pod);
  const pidResult = await findContainerPid(context.runner, pod, { signal: options.signal, onProgress: options.onProgress, timeoutMs: 30_000, containerName: options.containerName, logger: context.logger });
  const timeoutMs = options.timeoutMs ?? 60_000;
  const nodeArgv = netnsArgv(pidResult.pid, argv, timeoutMs / 1000 + 1);
  context.logger.info(`[Netns] ${ref.namespace}/${ref.name}: running ${JSON.stringify(argv)} in the netns of pid ${pidResult.pid} on ${nodeName}`);
  const exec = await context.runner.run(nodeName, nodeArgv, {
    signal: options.signal,
    onProgress: options.onProgress,
    timeoutMs: timeoutMs + 5_000,
    maxBufferBytes: options.maxBufferBytes,
    onStdout: options.onStdout,
    onStderr: options.onStderr,
  });
  return {
    pod: summarizePod(pod),
    pid: { pid: pidResult.pid, method: pidResult.method, containerName: pidResult.containerName, containerId: pidResult.containerId, runtime: pidResult.runtime },
    command: [...argv],
    nodeArgv,
    exec,
    manualCommands: [kubectlDebugNodeCommand(nodeName, context.runner.debugImage()), crictlPidCommand(pidResult.containerId), nsenterCommand(pidResult.pid, argv, 'Run the command in the pod\'s network namespace')],
  };
}

/** A shell that prefers bash and falls back to sh (constant text). */
export const NETNS_SHELL_SCRIPT = 'if command -v bash >/dev/null 2>&1; then exec bash -i; else exec sh -i; fi';

/** The node argv of an interactive shell in the network namespace of `pid` (run with a TTY). */
export function netnsShellArgv(pid: number): string[] {
  return netnsArgv(pid, ['sh', '-c', NETNS_SHELL_SCRIPT]);
}

/** A runner that can also hand out the debug pod itself (for interactive execs). */
export interface InteractiveNodeRunner extends NodeRunner {
  debugPod(nodeName: string, options?: AcquireOptions): Promise<DebugPodHandle>;
  holdDebugPod(nodeName: string): { dispose(): void };
}

/** Everything a terminal needs to open a shell in the pod's network namespace. */
export interface NetnsTerminalSpec {
  readonly pod: PodSummary;
  readonly pid: PidInfo;
  /** Where to exec (the node's debug pod) … */
  readonly target: DebugPodHandle;
  /** … and what (with `tty: true`, e.g. through `NodeExec.startInteractive`). */
  readonly argv: string[];
  readonly manualCommands: ManualCommand[];
  /** Keeps the debug pod from idle removal; call when the terminal closes. */
  readonly release: () => void;
}

/** Prepares "Open pod netns terminal": finds the PID and the debug pod; the caller opens the TTY exec. */
export async function preparePodNetnsTerminal(
  context: DiagnosticContext & { readonly runner: InteractiveNodeRunner },
  ref: PodRef,
  options: DiagnosticOptions & { readonly containerName?: string } = {},
): Promise<NetnsTerminalSpec> {
  const pod = await readPod(context, ref);
  const nodeName = requireRunningOnNode(pod);
  const pidResult = await findContainerPid(context.runner, pod, { signal: options.signal, onProgress: options.onProgress, timeoutMs: 30_000, containerName: options.containerName, logger: context.logger });
  const target = await context.runner.debugPod(nodeName, { signal: options.signal, onProgress: options.onProgress });
  const held = context.runner.holdDebugPod(nodeName);
  return {
    pod: summarizePod(pod),
    pid: { pid: pidResult.pid, method: pidResult.method, containerName: pidResult.containerName, containerId: pidResult.containerId, runtime: pidResult.runtime },
    target,
    argv: netnsShellArgv(pidResult.pid),
    manualCommands: [kubectlDebugNodeCommand(nodeName, context.runner.debugImage()), crictlPidCommand(pidResult.containerId), nsenterCommand(pidResult.pid, ['sh'], 'A shell in the pod\'s network namespace')],
    release: () => held.dispose(),
  };
}

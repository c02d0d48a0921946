/**
 * Typed failures of the node layer. Each carries a stable `code` (for the UI to branch on
 * or localise) and a `message` in plain words that says what to do next. The structured
 * `details` repeat the facts in the message so a UI can build its own text.
 */

/** Why getting a debug pod running on a node failed. */
export type DebugPodErrorCode =
  | 'consent-denied'
  | 'pod-security'
  | 'forbidden'
  | 'unauthorized'
  | 'namespace-not-found'
  | 'image-pull'
  | 'unschedulable'
  | 'node-not-ready'
  | 'node-not-found'
  | 'windows-node'
  | 'pod-failed'
  | 'pod-deleted'
  | 'timeout'
  | 'cancelled'
  | 'api';

export interface DebugPodErrorDetails {
  readonly nodeName?: string;
  readonly namespace?: string;
  readonly image?: string;
  readonly podName?: string;
  /** For `forbidden`: the verb and resource the API refused, e.g. `create` and `pods`. */
  readonly verb?: string;
  readonly resource?: string;
  /** For `pod-security`: the enforced level, e.g. `baseline`. */
  readonly level?: string;
  /** The API server's or kubelet's own words, verbatim (untrusted text: escape before showing). */
  readonly serverMessage?: string;
  readonly httpStatus?: number;
}

export class DebugPodError extends Error {
  override readonly name = 'DebugPodError';

  constructor(
    readonly code: DebugPodErrorCode,
    message: string,
    readonly details: DebugPodErrorDetails = {},
  ) {
    super(message);
  }

  static is(value: unknown, code?: DebugPodErrorCode): value is DebugPodError {
    return value instanceof DebugPodError && (code === undefined || value.code === code);
  }
}

/** Why an exec on a node could not run to its end (a non-zero exit is a result, not an error). */
export type NodeExecErrorCode = 'connect' | 'forbidden' | 'timeout' | 'cancelled' | 'closed' | 'failed';

export interface NodeExecErrorDetails {
  readonly podName?: string;
  readonly namespace?: string;
  readonly httpStatus?: number;
  readonly serverMessage?: string;
  /** What had arrived before the failure (capped like a normal result). */
  readonly stdout?: string;
  readonly stderr?: string;
}

export class NodeExecError extends Error {
  override readonly name = 'NodeExecError';

  constructor(
    readonly code: NodeExecErrorCode,
    message: string,
    readonly details: NodeExecErrorDetails = {},
  ) {
    super(message);
  }

  static is(value: unknown, code?: NodeExecErrorCode): value is NodeExecError {
    return value instanceof NodeExecError && (code === undefined || value.code === code);
  }
}

/** Why a container's PID on its node could not be found. */
export type ContainerPidErrorCode =
  | 'pod-not-scheduled'
  | 'no-container-id'
  | 'invalid-container-id'
  | 'container-not-found'
  | 'not-found';

export class ContainerPidError extends Error {
  override readonly name = 'ContainerPidError';

  constructor(
    readonly code: ContainerPidErrorCode,
    message: string,
    /** What each way reported on the node, for the log. */
    readonly attempts: readonly string[] = [],
  ) {
    super(message);
  }

  static is(value: unknown, code?: ContainerPidErrorCode): value is ContainerPidError {
    return value instanceof ContainerPidError && (code === undefined || value.code === code);
  }
}

/** True for any of our errors that mean "the user (or a signal) cancelled". */
export function isCancellation(value: unknown): boolean {
  return DebugPodError.is(value, 'cancelled') || NodeExecError.is(value, 'cancelled');
}

/** The `{code, message}` pair of any error, for logs and JSON output. */
export function describeError(value: unknown): { code: string; message: string } {
  if (value instanceof DebugPodError || value instanceof NodeExecError || value instanceof ContainerPidError) {
    return { code: value.code, message: value.message };
  }
  const code = value instanceof Error ? (value as Error & { code?: unknown }).code : undefined;
  if (value instanceof Error && typeof code === 'string') {
    return { code, message: value.message };
  }
  if (value instanceof Error) {
    return { code: 'error', message: value.message };
  }
  return { code: 'error', message: String(value) };
}

/**
 * Typed errors of cluster access and the classification of raw errors thrown by
 * @kubernetes/client-node (ApiException, node-fetch FetchError, watch errors, TLS errors,
 * exec credential plugin failures) into a small set of problem kinds. User-facing text is made
 * from a `ClusterProblem` at the UI boundary, not here.
 */

/** Why a cluster (or one resource of it) cannot be used. */
export type ClusterProblemKind =
  | 'noConfig'
  | 'unreachable'
  | 'certificate'
  | 'unauthorized'
  | 'expired'
  | 'forbidden'
  | 'unknown';

/** What the API server said a `Forbidden` request was missing, parsed from its Status message. */
export interface ForbiddenDetail {
  readonly user?: string;
  readonly verb?: string;
  readonly resource?: string;
  readonly apiGroup?: string;
  readonly namespace?: string;
}

/** A classified failure. Plain data, safe to keep in state and to show (after escaping). */
export interface ClusterProblem {
  readonly kind: ClusterProblemKind;
  /** A short technical summary in English (for the log and tooltips). */
  readonly message: string;
  /** The raw text behind it: the API server's Status message, the system error message, ... */
  readonly detail: string;
  /** HTTP status, when the API server answered. */
  readonly status?: number;
  /** System or TLS error code (`ECONNREFUSED`, `CERT_HAS_EXPIRED`, ...). */
  readonly code?: string;
  /** Present for `forbidden`. */
  readonly forbidden?: ForbiddenDetail;
}

/** Base of this project's typed errors: each has a stable `code`. */
export abstract class KubeNetError extends Error {
  abstract readonly code: string;

  /** True for any error of this family (also across bundle copies, by shape). */
  static is(value: unknown): value is KubeNetError {
    return value instanceof KubeNetError;
  }
}

/** No usable kubeconfig: no file, unreadable or invalid YAML, no contexts, unknown context. */
export class KubeconfigError extends KubeNetError {
  override readonly name = 'KubeconfigError';
  constructor(
    readonly code: 'noConfig' | 'invalidConfig' | 'noContext',
    message: string,
    /** The files that were looked at. */
    readonly paths: readonly string[] = [],
  ) {
    super(message);
  }

  static override is(value: unknown): value is KubeconfigError {
    return value instanceof KubeconfigError;
  }
}

/** A cluster request failed; `problem` says how. */
export class ClusterError extends KubeNetError {
  override readonly name = 'ClusterError';
  readonly code: ClusterProblemKind;
  constructor(readonly problem: ClusterProblem) {
    super(problem.message);
    this.code = problem.kind;
  }

  static override is(value: unknown): value is ClusterError {
    return value instanceof ClusterError;
  }
}

/** A request took longer than its time limit. */
export class TimeoutError extends KubeNetError {
  override readonly name = 'TimeoutError';
  readonly code = 'timeout';
  constructor(
    readonly what: string,
    readonly milliseconds: number,
  ) {
    super(`${what} timed out after ${milliseconds} ms`);
  }

  static override is(value: unknown): value is TimeoutError {
    return value instanceof TimeoutError;
  }
}

/** A cluster operation was asked for while no context is connected. */
export class NotConnectedError extends KubeNetError {
  override readonly name = 'NotConnectedError';
  readonly code = 'notConnected';
  constructor(message = 'Not connected to a cluster') {
    super(message);
  }

  static override is(value: unknown): value is NotConnectedError {
    return value instanceof NotConnectedError;
  }
}

/** The user or the program cancelled the operation; never shown as an error. */
export class CancelledError extends KubeNetError {
  override readonly name = 'CancelledError';
  readonly code = 'cancelled';
  constructor(message = 'Cancelled') {
    super(message);
  }

  static override is(value: unknown): value is CancelledError {
    return value instanceof CancelledError;
  }
}

const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ECONNABORTED',
  'EADDRNOTAVAIL',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

const certificateCodes = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Words exec credential plugins and OIDC refreshers use when a login has run out. */
const expiredWords = /\b(expired?|expiry|reauthenticat\w*|re-authenticat\w*|refresh(ing)? (the )?token|login again|log in again|invalid_grant)\b/i;

/** What `classifyError` may know about the credentials in use. */
export interface ClassifyHints {
  /** When the credential (token `exp` or client certificate `notAfter`) stops being valid. */
  readonly credentialExpiresAt?: Date;
  /** Now; tests pass a fixed time. */
  readonly now?: Date;
}

/**
 * Classifies anything thrown by client-node (or by this project's cluster code) into a
 * `ClusterProblem`. Never throws.
 */
export function classifyError(error: unknown, hints: ClassifyHints = {}): ClusterProblem {
  try {
    return classify(error, hints);
  } catch {
    return { kind: 'unknown', message: 'Unexpected error', detail: safeString(error) };
  }
}

function classify(error: unknown, hints: ClassifyHints): ClusterProblem {
  if (error instanceof ClusterError) {
    return error.problem;
  }
  if (error instanceof KubeconfigError) {
    return { kind: 'noConfig', message: error.message, detail: error.paths.join('\n') };
  }
  if (error instanceof TimeoutError) {
    return { kind: 'unreachable', message: error.message, detail: error.message, code: 'ETIMEDOUT' };
  }

  const record = asRecord(error);
  const rawMessage = typeof record?.message === 'string' ? record.message : safeString(error);
  const status = httpStatusOf(record);
  if (status !== undefined) {
    return classifyStatus(status, record, rawMessage, hints);
  }

  const code = systemCodeOf(record);
  if (code !== undefined && unreachableCodes.has(code)) {
    return {
      kind: 'unreachable',
      message: `Cannot reach the API server (${code})`,
      detail: firstLine(rawMessage),
      code,
    };
  }
  if (code !== undefined && (certificateCodes.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))) {
    return {
      kind: 'certificate',
      message: `The API server's TLS certificate is not accepted (${code})`,
      detail: firstLine(rawMessage),
      code,
    };
  }
  if (isAbortError(record)) {
    return { kind: 'unreachable', message: 'The request to the API server was aborted', detail: firstLine(rawMessage), code };
  }
  if (/no (currently )?active cluster/i.test(rawMessage)) {
    return { kind: 'noConfig', message: 'The kubeconfig has no current context or its cluster is missing', detail: rawMessage };
  }
  if (expiredWords.test(rawMessage) || isExpired(hints)) {
    return { kind: 'expired', message: 'The credentials have expired', detail: firstLine(rawMessage, 500) };
  }
  return {
    kind: 'unknown',
    message: firstLine(rawMessage) || 'Unexpected error',
    detail: rawMessage,
    ...(code === undefined ? {} : { code }),
  };
}

function classifyStatus(
  status: number,
  record: Record<string, unknown> | undefined,
  rawMessage: string,
  hints: ClassifyHints,
): ClusterProblem {
  const body = statusBodyOf(record);
  const serverMessage = typeof body?.message === 'string' ? body.message : undefined;
  // ApiException messages are "HTTP-Code: 401\nMessage: Unauthorized\nBody: ...\nHeaders: ...".
  const apiMessage = /^Message: (.*)$/m.exec(rawMessage)?.[1];
  const detail = serverMessage ?? apiMessage ?? firstLine(rawMessage);
  if (status === 401) {
    if (isExpired(hints)) {
      return { kind: 'expired', message: 'The credentials have expired (401 Unauthorized)', detail, status };
    }
    return { kind: 'unauthorized', message: 'The API server rejected the credentials (401 Unauthorized)', detail, status };
  }
  if (status === 403) {
    const forbidden = parseForbiddenMessage(serverMessage ?? '');
    return { kind: 'forbidden', message: forbiddenSummary(forbidden), detail, status, forbidden };
  }
  if (status === 407) {
    return { kind: 'unreachable', message: 'The proxy requires authentication (407)', detail, status };
  }
  if (status === 502 || status === 503 || status === 504) {
    return { kind: 'unreachable', message: `The API server is not available (${status})`, detail, status };
  }
  return { kind: 'unknown', message: `The API server answered ${status}`, detail, status };
}

function forbiddenSummary(forbidden: ForbiddenDetail): string {
  if (forbidden.verb !== undefined && forbidden.resource !== undefined) {
    const where = forbidden.namespace === undefined ? 'at the cluster scope' : `in namespace ${forbidden.namespace}`;
    return `Forbidden: cannot ${forbidden.verb} ${forbidden.resource} ${where}`;
  }
  return 'Forbidden (403)';
}

/**
 * Reads the API server's standard RBAC denial, e.g.
 * `pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "dev"`.
 */
export function parseForbiddenMessage(message: string): ForbiddenDetail {
  const match =
    /User "([^"]*)" cannot (\S+) resource "([^"]*)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]*)"| at the cluster scope)?/.exec(
      message,
    );
  if (match === null) {
    return {};
  }
  const [, user, verb, resource, apiGroup, namespace] = match;
  return {
    ...(user === undefined ? {} : { user }),
    ...(verb === undefined ? {} : { verb }),
    ...(resource === undefined ? {} : { resource }),
    ...(apiGroup === undefined ? {} : { apiGroup }),
    ...(namespace === undefined ? {} : { namespace }),
  };
}

function isExpired(hints: ClassifyHints): boolean {
  if (hints.credentialExpiresAt === undefined) {
    return false;
  }
  const now = hints.now ?? new Date();
  return hints.credentialExpiresAt.getTime() <= now.getTime();
}

/** ApiException has a numeric `code`; watch errors carry `statusCode`. */
function httpStatusOf(record: Record<string, unknown> | undefined): number | undefined {
  if (record === undefined) {
    return undefined;
  }
  for (const key of ['statusCode', 'code', 'status']) {
    const value = record[key];
    if (typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599) {
      return value;
    }
  }
  return undefined;
}

/** FetchError (node-fetch) carries `code`/`errno`; undici and wrapped errors carry `cause`. */
function systemCodeOf(record: Record<string, unknown> | undefined, depth = 0): string | undefined {
  if (record === undefined || depth > 3) {
    return undefined;
  }
  for (const key of ['code', 'errno']) {
    const value = record[key];
    if (typeof value === 'string' && /^[A-Z][A-Z0-9_]+$/.test(value)) {
      return value;
    }
  }
  return systemCodeOf(asRecord(record.cause), depth + 1);
}

function isAbortError(record: Record<string, unknown> | undefined): boolean {
  return record !== undefined && (record.name === 'AbortError' || record.type === 'aborted');
}

/** The Kubernetes `Status` object of an ApiException body (JSON text or object). */
function statusBodyOf(record: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (record === undefined) {
    return undefined;
  }
  let body: unknown = record.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const status = asRecord(body);
  return status !== undefined && (status.kind === 'Status' || typeof status.message === 'string') ? status : undefined;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function firstLine(text: string, limit = 300): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > limit ? `${line.slice(0, limit)}…` : line;
}

function safeString(value: unknown): string {
  try {
    if (value instanceof Error) {
      return value.message;
    }
    return typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  } catch {
    return 'unprintable error';
  }
}

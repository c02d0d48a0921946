/**
 * Reading the `Status` objects the API server sends with failures, whichever way they
 * arrive: an `ApiException` from the generated client (body is the JSON text), the body of
 * a refused WebSocket upgrade, or the object on exec channel 3.
 */

/** The fields of a `metav1.Status` this code reads. */
export interface KubeStatus {
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: {
    readonly name?: string;
    readonly group?: string;
    readonly kind?: string;
    readonly causes?: readonly { readonly reason?: string; readonly message?: string; readonly field?: string }[];
  };
}

/** What an API call failure says: HTTP status and the server's Status, if any. */
export interface ApiFailure {
  readonly httpStatus: number | undefined;
  readonly status: KubeStatus | undefined;
  /** The Status message, or the best text available. */
  readonly message: string;
}

/** Reads an `ApiException` (or anything thrown by a client call) into an {@link ApiFailure}. */
export function apiFailure(error: unknown): ApiFailure {
  const record = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; body?: unknown; message?: unknown };
  const httpStatus = typeof record.code === 'number' ? record.code : undefined;
  const status = parseStatusBody(record.body);
  const message = status?.message ?? (typeof record.message === 'string' ? firstLine(record.message) : String(error));
  return { httpStatus, status, message };
}

/** The HTTP status of a client call failure, if it had one. */
export function httpStatusOf(error: unknown): number | undefined {
  return apiFailure(error).httpStatus;
}

/** Parses a Status from a JSON string, a Buffer or an already-parsed object; undefined if it is none. */
export function parseStatusBody(body: unknown): KubeStatus | undefined {
  let value: unknown = body;
  if (Buffer.isBuffer(value)) {
    value = value.toString('utf8');
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const candidate = value as Record<string, unknown>;
  if (candidate.kind !== undefined && candidate.kind !== 'Status') {
    return undefined;
  }
  if (typeof candidate.message !== 'string' && typeof candidate.reason !== 'string' && typeof candidate.status !== 'string') {
    return undefined;
  }
  return candidate as KubeStatus;
}

/** The verb and resource a `Forbidden` message names (`User "x" cannot create resource "pods" ...`). */
export function forbiddenAction(message: string): { verb?: string; resource?: string; group?: string; namespace?: string } {
  const match = /cannot ([a-z]+) resource "([^"]+)"(?: in API group "([^"]*)")?(?: in the namespace "([^"]+)")?/.exec(message);
  if (match === null) {
    return {};
  }
  return { verb: match[1], resource: match[2], group: match[3], namespace: match[4] };
}

function firstLine(text: string): string {
  const index = text.indexOf('\n');
  return index === -1 ? text : text.slice(0, index);
}

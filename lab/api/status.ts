/**
 * metav1.Status bodies and the errors that carry them, worded as k8s.io/apimachinery's
 * `errors.New*` helpers word them, so clients that match on reason, code or message behave
 * against the lab as against a real API server.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An API failure: becomes the HTTP status code and a Status body. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static is(value: unknown): value is ApiError {
    return value instanceof ApiError;
  }

  toStatus(): StatusBody {
    // Field order as metav1.Status serialises: details before code.
    const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, details: this.details, code: this.code };
    if (this.details === undefined) {
      delete body.details;
    }
    return body;
  }
}

/** The group/resource the way Go's `schema.GroupResource.String()` prints it: `pods`, `endpointslices.discovery.k8s.io`. */
export function qualifiedResource(group: string, resource: string): string {
  return group === '' ? resource : `${resource}.${group}`;
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, { name, group: group || undefined, kind: resource });
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, { name, group: group || undefined, kind: resource });
}

export function conflict(group: string, resource: string, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, { name, group: group || undefined, kind: resource });
}

export function forbidden(group: string, resource: string, name: string, why: string): ApiError {
  const qualified = qualifiedResource(group, resource);
  const message = name === '' ? `${qualified} is forbidden: ${why}` : `${qualified} "${name}" is forbidden: ${why}`;
  const details: StatusDetails = { kind: resource };
  if (name !== '') {
    details.name = name;
  }
  if (group !== '') {
    details.group = group;
  }
  return new ApiError(403, 'Forbidden', message, details);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function notAcceptable(): ApiError {
  return new ApiError(406, 'NotAcceptable', 'the server was unable to respond with a content type that the client supports');
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/merge-patch+json, application/strategic-merge-patch+json (got ${contentType})`);
}

/** One `field.Error` of apimachinery's validation package. */
export interface FieldError {
  readonly type: 'FieldValueRequired' | 'FieldValueInvalid' | 'FieldValueDuplicate' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueTooLong' | 'FieldValueNotFound';
  readonly field: string;
  /** What follows the type in the message, e.g. `"Foo": a lowercase RFC 1123 ...`. */
  readonly detail: string;
}

const FIELD_ERROR_PREFIX: Record<FieldError['type'], string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueNotFound: 'Not found',
};

/** The text of one field error without its path: `Required value`, `Invalid value: "x": why`. */
export function fieldErrorBody(error: FieldError): string {
  const prefix = FIELD_ERROR_PREFIX[error.type];
  return error.detail === '' ? prefix : `${prefix}: ${error.detail}`;
}

/** `Pod "x" is invalid: [a: Required value, b: ...]`, 422, as `errors.NewInvalid` builds it. */
export function invalid(group: string, kind: string, name: string, errors: readonly FieldError[]): ApiError {
  const texts = errors.map((error) => `${error.field}: ${fieldErrorBody(error)}`);
  const joined = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  const details: StatusDetails = {
    name,
    kind,
    causes: errors.map((error) => ({ reason: error.type, message: fieldErrorBody(error), field: error.field })),
  };
  if (group !== '') {
    details.group = group;
  }
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${joined}`, details);
}

/** Go's `%q` for the strings the lab quotes (JSON escaping is the same for printable text). */
export function goQuote(value: string): string {
  return JSON.stringify(value);
}

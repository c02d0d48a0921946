/**
 * Bearer-token authentication and a two-role authorizer: `lab-admin` may do everything,
 * `lab-viewer` may get, list and watch (like the `view` ClusterRole, no subresources such as
 * pods/exec). Denials are worded as the RBAC authorizer's Forbidden Status.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiError, forbidden, unauthorized } from './status';

export interface UserInfo {
  readonly username: string;
  readonly groups: readonly string[];
  readonly admin: boolean;
}

export interface LabTokens {
  readonly admin: string;
  readonly viewer: string;
}

export const ADMIN_USER = 'lab-admin';
export const VIEWER_USER = 'lab-viewer';

export function generateTokens(): LabTokens {
  return { admin: randomBytes(24).toString('base64url'), viewer: randomBytes(24).toString('base64url') };
}

function sameToken(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export class Authenticator {
  constructor(private readonly tokens: LabTokens) {}

  /** The user behind an `Authorization` header, or the API's 401 (anonymous access is off). */
  authenticate(header: string | undefined): UserInfo {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (match === null) {
      throw unauthorized();
    }
    const token = match[1];
    if (sameToken(this.tokens.admin, token)) {
      return { username: ADMIN_USER, groups: ['system:masters', 'system:authenticated'], admin: true };
    }
    if (sameToken(this.tokens.viewer, token)) {
      return { username: VIEWER_USER, groups: ['system:authenticated'], admin: false };
    }
    throw unauthorized();
  }
}

/** What a request asks to do, in RBAC's terms. */
export interface ResourceAttributes {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name?: string;
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

export function isAllowed(user: UserInfo, attributes: ResourceAttributes): boolean {
  if (user.admin) {
    return true;
  }
  if (!READ_VERBS.has(attributes.verb)) {
    return false;
  }
  // The view role reads pods/log and status subresources, never exec/attach/portforward.
  return attributes.subresource === undefined || attributes.subresource === '' || attributes.subresource === 'log' || attributes.subresource === 'status';
}

/** Throws the RBAC authorizer's 403 when the user may not do this. */
export function authorize(user: UserInfo, attributes: ResourceAttributes): void {
  if (isAllowed(user, attributes)) {
    return;
  }
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const scope = attributes.namespace ? `in the namespace "${attributes.namespace}"` : 'at the cluster scope';
  const why = `User "${user.username}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.group}" ${scope}`;
  throw forbidden(attributes.group, attributes.resource, attributes.name ?? '', why);
}

/** Non-resource URLs (`/version`, `/healthz`, discovery) are open to every authenticated user. */
export function authorizeNonResource(user: UserInfo, verb: string, path: string): void {
  if (user.admin || verb === 'get') {
    return;
  }
  throw new ApiError(403, 'Forbidden', `forbidden: User "${user.username}" cannot ${verb} path "${path}"`, {});
}

/** The reason RBAC gives when a SelfSubjectAccessReview is allowed. */
export function allowReason(user: UserInfo): string {
  return user.admin
    ? 'RBAC: allowed by ClusterRoleBinding "lab-admin" of ClusterRole "cluster-admin" to User "lab-admin"'
    : 'RBAC: allowed by ClusterRoleBinding "lab-viewer" of ClusterRole "view" to User "lab-viewer"';
}

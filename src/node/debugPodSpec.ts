import { createHash, randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';

/** The pinned default image: iproute2, iptables, nftables, conntrack, ipvsadm, dig, nsenter. */
export const DEFAULT_DEBUG_IMAGE = 'docker.io/nicolaka/netshoot:v0.13';
export const DEFAULT_DEBUG_NAMESPACE = 'default';
/** One hour: long enough for a session of looking around, short enough to not linger. */
export const DEFAULT_LIFETIME_SECONDS = 3600;
export const MIN_LIFETIME_SECONDS = 60;
export const MAX_LIFETIME_SECONDS = 7 * 24 * 3600;

export const DEBUG_CONTAINER_NAME = 'debugger';
export const HOST_ROOT_VOLUME = 'host-root';
export const HOST_ROOT_MOUNT_PATH = '/host';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kube-net-inspector';
export const OWNER_LABEL = 'kube-net-inspector/owner';
export const NODE_LABEL = 'kube-net-inspector/node';
/** RFC 3339 time after which the pod is ours to delete, whoever created it. */
export const EXPIRES_ANNOTATION = 'kube-net-inspector/expires-at';
/** The full node name (labels are capped at 63 characters). */
export const NODE_ANNOTATION = 'kube-net-inspector/node-name';

/** Label selector matching every debug pod this tool ever created. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

const NAME_PREFIX = 'kni-debug-';
const MAX_NAME_LENGTH = 63;
const MAX_LABEL_LENGTH = 63;

export interface DebugPodSpecOptions {
  /** The node to pin the pod to (`spec.nodeName`). */
  readonly nodeName: string;
  /** Identifies the session that owns the pod (label value, see {@link isValidOwnerId}). */
  readonly ownerId: string;
  readonly image?: string;
  readonly namespace?: string;
  /** Names of Secrets of type `kubernetes.io/dockerconfigjson` in `namespace`. */
  readonly imagePullSecrets?: readonly string[];
  /** Seconds until the pod stops by itself (`sleep` and `activeDeadlineSeconds`). */
  readonly lifetimeSeconds?: number;
  /** For tests: the creation time the expiry is counted from. */
  readonly now?: Date;
  /** For tests: the random part of the name (lowercase letters and digits). */
  readonly nameSuffix?: string;
}

/**
 * The node debug pod as a typed object, shaped like `kubectl debug node/X --profile=sysadmin`:
 * host network and PID namespaces, a privileged container with the host's root at `/host`,
 * every taint tolerated, and a deadline so that it dies by itself even if nobody deletes it.
 */
export function buildDebugPod(options: DebugPodSpecOptions): V1Pod {
  const nodeName = options.nodeName;
  if (nodeName.length === 0) {
    throw new RangeError('nodeName must not be empty');
  }
  if (!isValidOwnerId(options.ownerId)) {
    throw new RangeError(`ownerId must be a label value (1-63 letters, digits, "-", "_", "."), got ${JSON.stringify(options.ownerId)}`);
  }
  const lifetimeSeconds = clampLifetime(options.lifetimeSeconds ?? DEFAULT_LIFETIME_SECONDS);
  const now = options.now ?? new Date();
  const expiresAt = new Date(now.getTime() + lifetimeSeconds * 1000);
  const image = options.image !== undefined && options.image.trim() !== '' ? options.image.trim() : DEFAULT_DEBUG_IMAGE;
  const namespace = options.namespace !== undefined && options.namespace !== '' ? options.namespace : DEFAULT_DEBUG_NAMESPACE;
  const pullSecrets = (options.imagePullSecrets ?? []).filter((name) => name.trim() !== '').map((name) => ({ name: name.trim() }));

  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: debugPodName(nodeName, options.nameSuffix),
      namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [OWNER_LABEL]: options.ownerId,
        [NODE_LABEL]: labelSafeValue(nodeName),
      },
      annotations: {
        [EXPIRES_ANNOTATION]: expiresAt.toISOString(),
        [NODE_ANNOTATION]: nodeName,
      },
    },
    spec: {
      nodeName,
      hostNetwork: true,
      hostPID: true,
      hostIPC: false,
      restartPolicy: 'Never',
      activeDeadlineSeconds: lifetimeSeconds,
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: 'Exists' }],
      ...(pullSecrets.length > 0 ? { imagePullSecrets: pullSecrets } : {}),
      volumes: [{ name: HOST_ROOT_VOLUME, hostPath: { path: '/' } }],
      containers: [
        {
          name: DEBUG_CONTAINER_NAME,
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', String(lifetimeSeconds)],
          stdin: false,
          tty: false,
          securityContext: { privileged: true },
          volumeMounts: [{ name: HOST_ROOT_VOLUME, mountPath: HOST_ROOT_MOUNT_PATH }],
        },
      ],
    },
  };
}

/**
 * `kni-debug-<node>-<suffix>`, a valid DNS-1123 label (so also a valid pod name) however long
 * or odd the node name is: lowercased, other characters turned into `-`, truncated.
 */
export function debugPodName(nodeName: string, suffix: string = randomSuffix()): string {
  if (!/^[a-z0-9]{1,10}$/.test(suffix)) {
    throw new RangeError(`name suffix must be 1-10 lowercase letters or digits, got ${JSON.stringify(suffix)}`);
  }
  const room = MAX_NAME_LENGTH - NAME_PREFIX.length - 1 - suffix.length;
  let middle = nodeName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .slice(0, room)
    .replace(/^-+|-+$/g, '');
  if (middle === '') {
    middle = 'node';
  }
  return `${NAME_PREFIX}${middle}-${suffix}`;
}

/**
 * A label value that stands for `value`: unchanged when it already is one, otherwise cleaned
 * and, when cut short, ended with a hash of the whole so two long names stay apart.
 */
export function labelSafeValue(value: string): string {
  if (isValidLabelValue(value)) {
    return value;
  }
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  const cleaned = value.replace(/[^A-Za-z0-9._-]+/g, '-');
  const head = cleaned.slice(0, MAX_LABEL_LENGTH - hash.length - 1).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return head === '' ? hash : `${head}-${hash}`;
}

export function isValidLabelValue(value: string): boolean {
  return value === '' || (value.length <= MAX_LABEL_LENGTH && /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(value));
}

/** Owner ids are non-empty label values. */
export function isValidOwnerId(value: string): boolean {
  return value !== '' && isValidLabelValue(value);
}

/** A fresh owner id for one session (12 hex characters). */
export function newOwnerId(): string {
  return randomBytes(6).toString('hex');
}

/** Keeps a configured lifetime inside sane bounds (whole seconds). */
export function clampLifetime(seconds: number): number {
  if (!Number.isFinite(seconds)) {
    return DEFAULT_LIFETIME_SECONDS;
  }
  return Math.min(MAX_LIFETIME_SECONDS, Math.max(MIN_LIFETIME_SECONDS, Math.round(seconds)));
}

/** The expiry written on a debug pod, or undefined when missing or unreadable. */
export function debugPodExpiry(pod: V1Pod): Date | undefined {
  const text = pod.metadata?.annotations?.[EXPIRES_ANNOTATION];
  if (text === undefined) {
    return undefined;
  }
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** True when the pod carries this tool's managed-by label. */
export function isManagedDebugPod(pod: V1Pod): boolean {
  return pod.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

function randomSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const bytes = randomBytes(5);
  let out = '';
  for (const byte of bytes) {
    out += alphabet[byte % alphabet.length];
  }
  return out;
}

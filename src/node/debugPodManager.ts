import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Node, V1Pod } from '@kubernetes/client-node';
import {
  DEBUG_CONTAINER_NAME,
  DEFAULT_DEBUG_IMAGE,
  DEFAULT_DEBUG_NAMESPACE,
  DEFAULT_LIFETIME_SECONDS,
  MANAGED_SELECTOR,
  NODE_ANNOTATION,
  OWNER_LABEL,
  buildDebugPod,
  clampLifetime,
  debugPodExpiry,
  isValidOwnerId,
  newOwnerId,
} from './debugPodSpec.js';
import { DebugPodError } from './errors.js';
import type { DebugPodErrorDetails } from './errors.js';
import { apiFailure, forbiddenAction, httpStatusOf } from './kubeStatus.js';
import { silentLogger, taggedLogger } from './logger.js';
import type { Logger } from './logger.js';
import type { ExecTarget } from './nodeExec.js';

/** What the user configures (VS Code settings `kubeNet.debugPod.*`, CLI flags). */
export interface DebugPodSettings {
  readonly image: string;
  readonly namespace: string;
  readonly imagePullSecrets: readonly string[];
  /** The pod stops by itself after this many seconds (`activeDeadlineSeconds`). */
  readonly lifetimeSeconds: number;
  /** Remove a pod after this many seconds without use; 0 keeps it until it expires or is removed. */
  readonly idleTimeoutSeconds: number;
  /** How long to wait for a new pod to be Running. */
  readonly startTimeoutSeconds: number;
}

export const DEFAULT_DEBUG_POD_SETTINGS: DebugPodSettings = {
  image: DEFAULT_DEBUG_IMAGE,
  namespace: DEFAULT_DEBUG_NAMESPACE,
  imagePullSecrets: [],
  lifetimeSeconds: DEFAULT_LIFETIME_SECONDS,
  idleTimeoutSeconds: 600,
  startTimeoutSeconds: 120,
};

/** The setting names messages point at (the CLI flag in brackets). */
export const SETTING_NAMESPACE = 'kubeNet.debugPod.namespace';
export const SETTING_IMAGE = 'kubeNet.debugPod.image';
export const SETTING_PULL_SECRETS = 'kubeNet.debugPod.imagePullSecrets';

/** What the user is asked before the first debug pod on a cluster. */
export interface ConsentRequest {
  /** The kubeconfig context name. */
  readonly context: string;
  /** The cluster's API server URL. */
  readonly server: string;
  readonly nodeName: string;
  readonly namespace: string;
  readonly image: string;
  readonly lifetimeSeconds: number;
  /** What the pod may do, in plain words, one item each. */
  readonly privileges: readonly string[];
}

export type ConsentCallback = (request: ConsentRequest) => Promise<boolean>;

export const DEBUG_POD_PRIVILEGES: readonly string[] = [
  "runs in the node's network namespace (hostNetwork)",
  "sees every process on the node (hostPID)",
  'runs a privileged container (full access to the node)',
  "mounts the node's root filesystem at /host",
  'tolerates every taint on the node',
];

export type DebugPodStage = 'checking-node' | 'consent' | 'creating' | 'scheduling' | 'starting' | 'running' | 'reusing';

export interface DebugPodProgress {
  readonly nodeName: string;
  readonly stage: DebugPodStage;
  /** One short sentence for a progress notification. */
  readonly message: string;
}

export interface AcquireOptions {
  /** Cancels waiting; a pod created for this call is deleted before the promise rejects. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DebugPodProgress) => void;
  /** Overrides `startTimeoutSeconds` for this call. */
  readonly timeoutMs?: number;
}

/** A debug pod that is Running on its node, ready for exec. */
export interface DebugPodHandle extends ExecTarget {
  readonly nodeName: string;
  readonly image: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export interface DebugPodManagerOptions {
  readonly kubeConfig: KubeConfig;
  /** Read on every new pod, so changed settings apply to the next one. */
  readonly settings?: Partial<DebugPodSettings> | (() => Partial<DebugPodSettings>);
  readonly consent: ConsentCallback;
  readonly logger?: Logger;
  /** Label value that marks this session's pods; a fresh random one by default. */
  readonly ownerId?: string;
}

export interface SweepResult {
  readonly deleted: readonly { readonly namespace: string; readonly name: string; readonly reason: string }[];
  /** Problems met while sweeping (for instance no right to list pods cluster-wide). */
  readonly problems: readonly string[];
}

interface Entry {
  handle: DebugPodHandle;
  busy: number;
  idleTimer: NodeJS.Timeout | undefined;
}

interface Pending {
  readonly promise: Promise<DebugPodHandle>;
  readonly controller: AbortController;
  waiters: number;
  readonly listeners: Set<(progress: DebugPodProgress) => void>;
}

const IMAGE_PULL_REASONS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable', 'SignatureValidationFailed']);
const CONTAINER_FAILURE_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError', 'CrashLoopBackOff', 'PreCreateHookError', 'PreStartHookError']);
const DISPOSE_BOUND_MS = 10_000;
const DELETE_BOUND_MS = 8_000;

/**
 * Creates, reuses and removes node debug pods: one per node, after the user's consent (once
 * per manager, i.e. per cluster), Running before it is handed out, removed when idle, when
 * expired, on {@link removeAll} and on {@link dispose}. A pod created by a call that then
 * fails (timeout, cancel, pull failure) is deleted before the error reaches the caller.
 */
export class DebugPodManager {
  readonly ownerId: string;
  private readonly api: CoreV1Api;
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Pending>();
  private readonly countListeners = new Set<(count: number) => void>();
  private consentPromise: Promise<boolean> | undefined;
  private consentGiven = false;
  private disposed = false;

  constructor(private readonly options: DebugPodManagerOptions) {
    this.ownerId = options.ownerId ?? newOwnerId();
    if (!isValidOwnerId(this.ownerId)) {
      throw new RangeError(`invalid owner id ${JSON.stringify(this.ownerId)}`);
    }
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.log = taggedLogger(options.logger ?? silentLogger, 'DebugPod');
  }

  /** The settings in force now (defaults filled in). */
  settings(): DebugPodSettings {
    const raw = typeof this.options.settings === 'function' ? this.options.settings() : (this.options.settings ?? {});
    const pick = <K extends keyof DebugPodSettings>(key: K): DebugPodSettings[K] => (raw[key] !== undefined ? (raw[key] as DebugPodSettings[K]) : DEFAULT_DEBUG_POD_SETTINGS[key]);
    return {
      image: pick('image').trim() === '' ? DEFAULT_DEBUG_IMAGE : pick('image').trim(),
      namespace: pick('namespace').trim() === '' ? DEFAULT_DEBUG_NAMESPACE : pick('namespace').trim(),
      imagePullSecrets: pick('imagePullSecrets'),
      lifetimeSeconds: clampLifetime(pick('lifetimeSeconds')),
      idleTimeoutSeconds: Math.max(0, pick('idleTimeoutSeconds')),
      startTimeoutSeconds: Math.max(1, pick('startTimeoutSeconds')),
    };
  }

  /** How many of this manager's debug pods are alive (for a status bar). */
  get count(): number {
    return this.entries.size;
  }

  /** The live pods, one per node. */
  pods(): DebugPodHandle[] {
    return [...this.entries.values()].map((entry) => entry.handle);
  }

  /** Called with the new count whenever a pod is added or removed. */
  onDidChangeCount(listener: (count: number) => void): { dispose(): void } {
    this.countListeners.add(listener);
    return { dispose: () => this.countListeners.delete(listener) };
  }

  /**
   * Runs `work` with the node's debug pod (created or reused), keeping the pod from idle
   * removal while it runs.
   */
  async use<T>(nodeName: string, options: AcquireOptions, work: (pod: DebugPodHandle) => Promise<T>): Promise<T> {
    const handle = await this.acquire(nodeName, options);
    const held = this.hold(nodeName);
    try {
      return await work(handle);
    } finally {
      held.dispose();
    }
  }

  /**
   * Keeps the node's current debug pod from idle removal until the returned handle is
   * disposed (for long-lived users such as an open terminal). A no-op when there is none.
   */
  hold(nodeName: string): { dispose(): void } {
    const entry = this.entries.get(nodeName);
    if (entry === undefined) {
      return { dispose: () => undefined };
    }
    entry.busy += 1;
    this.clearIdle(entry);
    let released = false;
    return {
      dispose: () => {
        if (!released) {
          released = true;
          entry.busy -= 1;
          this.scheduleIdle(nodeName, entry);
        }
      },
    };
  }

  /** The node's debug pod, Running: reused when alive, else created (asking consent first). */
  async acquire(nodeName: string, options: AcquireOptions = {}): Promise<DebugPodHandle> {
    this.assertUsable();
    if (nodeName === '') {
      throw new DebugPodError('node-not-found', 'The pod is not scheduled to a node yet, so there is no node to debug.', {});
    }
    throwIfAborted(options.signal, nodeName);

    const reused = await this.reuse(nodeName, options);
    if (reused !== undefined) {
      return reused;
    }

    let pending = this.pending.get(nodeName);
    if (pending === undefined) {
      const controller = new AbortController();
      const listeners = new Set<(progress: DebugPodProgress) => void>();
      const report = (progress: DebugPodProgress): void => {
        for (const listener of listeners) {
          listener(progress);
        }
      };
      const promise = this.create(nodeName, controller.signal, report, options.timeoutMs).finally(() => {
        this.pending.delete(nodeName);
      });
      pending = { promise, controller, waiters: 0, listeners };
      this.pending.set(nodeName, pending);
    }
    return this.waitFor(pending, nodeName, options);
  }

  /** Deletes this manager's debug pods (the "Remove debug pods" command). Returns how many went. */
  async removeAll(): Promise<number> {
    for (const pending of this.pending.values()) {
      pending.controller.abort();
    }
    const targets = new Map<string, { namespace: string; name: string }>();
    for (const entry of this.entries.values()) {
      targets.set(`${entry.handle.namespace}/${entry.handle.podName}`, { namespace: entry.handle.namespace, name: entry.handle.podName });
      this.clearIdle(entry);
    }
    this.entries.clear();
    this.fireCount();
    // Also pods of this owner the map lost track of (a namespace setting changed mid-way).
    const namespace = this.settings().namespace;
    try {
      const list = await this.api.listNamespacedPod({ namespace, labelSelector: `${MANAGED_SELECTOR},${OWNER_LABEL}=${this.ownerId}` });
      for (const pod of list.items) {
        const name = pod.metadata?.name;
        if (name !== undefined) {
          targets.set(`${namespace}/${name}`, { namespace, name });
        }
      }
    } catch (error) {
      this.log.warn(`could not list debug pods in ${namespace}: ${apiFailure(error).message}`);
    }
    const results = await Promise.all([...targets.values()].map((target) => this.deletePod(target.namespace, target.name, 'removed on request')));
    return results.filter((deleted) => deleted).length;
  }

  /**
   * Deletes every debug pod of this tool (any owner) whose expiry has passed or which has
   * ended (Failed/Succeeded). Meant for start-up; cluster-wide when allowed, else in the
   * configured namespace.
   */
  async sweepExpired(now: Date = new Date()): Promise<SweepResult> {
    const problems: string[] = [];
    let pods: V1Pod[];
    try {
      pods = (await this.api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR })).items;
    } catch (error) {
      const namespace = this.settings().namespace;
      problems.push(`could not list debug pods in all namespaces (${apiFailure(error).message}); swept only ${namespace}`);
      try {
        pods = (await this.api.listNamespacedPod({ namespace, labelSelector: MANAGED_SELECTOR })).items;
      } catch (inner) {
        problems.push(`could not list debug pods in ${namespace}: ${apiFailure(inner).message}`);
        return { deleted: [], problems };
      }
    }
    const deleted: { namespace: string; name: string; reason: string }[] = [];
    await Promise.all(
      pods.map(async (pod) => {
        const reason = sweepReason(pod, now);
        const name = pod.metadata?.name;
        const namespace = pod.metadata?.namespace;
        if (reason === undefined || name === undefined || namespace === undefined) {
          return;
        }
        if (await this.deletePod(namespace, name, reason)) {
          deleted.push({ namespace, name, reason });
        }
      }),
    );
    for (const problem of problems) {
      this.log.warn(problem);
    }
    return { deleted, problems };
  }

  /** Deletes all of this manager's pods (awaited, at most ~10 s) and refuses further use. */
  async dispose(): Promise<void> {
    if (this.disposed) {
      return;
    }
    const pendings = [...this.pending.values()];
    for (const pending of pendings) {
      pending.controller.abort();
    }
    const work = Promise.allSettled([this.removeAll(), ...pendings.map((pending) => pending.promise)]);
    this.disposed = true;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISPOSE_BOUND_MS);
    });
    await Promise.race([work, bound]);
    clearTimeout(timer);
    this.countListeners.clear();
  }

  private assertUsable(): void {
    if (this.disposed) {
      throw new DebugPodError('cancelled', 'The debug pod manager has been shut down.');
    }
  }

  private async reuse(nodeName: string, options: AcquireOptions): Promise<DebugPodHandle | undefined> {
    const entry = this.entries.get(nodeName);
    if (entry === undefined) {
      return undefined;
    }
    const { handle } = entry;
    const marginMs = Math.min(120_000, ((handle.expiresAt.getTime() - handle.createdAt.getTime()) / 4) | 0);
    if (handle.expiresAt.getTime() - Date.now() < marginMs) {
      this.log.info(`debug pod ${handle.namespace}/${handle.podName} is about to expire; replacing it`);
      await this.forget(nodeName, 'expiring');
      return undefined;
    }
    try {
      const pod = await this.api.readNamespacedPod({ namespace: handle.namespace, name: handle.podName });
      if (isRunning(pod) && pod.metadata?.deletionTimestamp === undefined) {
        options.onProgress?.({ nodeName, stage: 'reusing', message: `Using debug pod ${handle.podName} on ${nodeName}` });
        return handle;
      }
      this.log.info(`debug pod ${handle.namespace}/${handle.podName} is no longer running (${pod.status?.phase ?? 'unknown'}); replacing it`);
    } catch (error) {
      this.log.info(`debug pod ${handle.namespace}/${handle.podName} is gone (${apiFailure(error).message}); replacing it`);
    }
    await this.forget(nodeName, 'not running');
    return undefined;
  }

  private async waitFor(pending: Pending, nodeName: string, options: AcquireOptions): Promise<DebugPodHandle> {
    pending.waiters += 1;
    const listener = options.onProgress;
    if (listener !== undefined) {
      pending.listeners.add(listener);
    }
    const signal = options.signal;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(cancelledError(nodeName));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([pending.promise, aborted]);
    } catch (error) {
      if (signal?.aborted === true && pending.waiters === 1) {
        // The last caller gave up: stop the creation and let it delete the pod it made
        // before this call reports the cancellation.
        pending.controller.abort();
        await pending.promise.catch(() => undefined);
      }
      throw error;
    } finally {
      aborted.catch(() => undefined);
      if (onAbort !== undefined) {
        signal?.removeEventListener('abort', onAbort);
      }
      if (listener !== undefined) {
        pending.listeners.delete(listener);
      }
      pending.waiters -= 1;
    }
  }

  private async create(nodeName: string, signal: AbortSignal, report: (progress: DebugPodProgress) => void, timeoutMs: number | undefined): Promise<DebugPodHandle> {
    const settings = this.settings();
    const deadline = Date.now() + (timeoutMs ?? settings.startTimeoutSeconds * 1000);
    const context = { nodeName, namespace: settings.namespace, image: settings.image };

    report({ nodeName, stage: 'checking-node', message: `Checking node ${nodeName}` });
    await this.checkNode(nodeName, context);
    throwIfAborted(signal, nodeName);

    await raceAbort(this.askConsent(nodeName, settings, report), signal, nodeName);
    throwIfAborted(signal, nodeName);

    const body = buildDebugPod({
      nodeName,
      ownerId: this.ownerId,
      image: settings.image,
      namespace: settings.namespace,
      imagePullSecrets: settings.imagePullSecrets,
      lifetimeSeconds: settings.lifetimeSeconds,
    });
    report({ nodeName, stage: 'creating', message: `Creating debug pod on ${nodeName} in namespace ${settings.namespace}` });
    let created: V1Pod;
    try {
      created = await this.api.createNamespacedPod({ namespace: settings.namespace, body });
    } catch (error) {
      throw createError(error, context);
    }
    const name = created.metadata?.name ?? body.metadata?.name ?? '';
    this.log.info(`created debug pod ${settings.namespace}/${name} on node ${nodeName} (image ${settings.image}, lifetime ${settings.lifetimeSeconds}s)`);

    try {
      const running = await this.waitUntilRunning(settings.namespace, name, { ...context, podName: name }, deadline, signal, report);
      const handle: DebugPodHandle = {
        namespace: settings.namespace,
        podName: name,
        containerName: DEBUG_CONTAINER_NAME,
        nodeName,
        image: settings.image,
        createdAt: new Date(),
        expiresAt: debugPodExpiry(running) ?? new Date(Date.now() + settings.lifetimeSeconds * 1000),
      };
      if (this.disposed) {
        throw new DebugPodError('cancelled', 'The debug pod manager has been shut down.', { ...context, podName: name });
      }
      const entry: Entry = { handle, busy: 0, idleTimer: undefined };
      this.entries.set(nodeName, entry);
      this.scheduleIdle(nodeName, entry);
      this.fireCount();
      report({ nodeName, stage: 'running', message: `Debug pod ${name} is running on ${nodeName}` });
      return handle;
    } catch (error) {
      // Never leak a pod: whatever went wrong after the create, delete it first.
      await this.deletePod(settings.namespace, name, `start failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async checkNode(nodeName: string, context: DebugPodErrorDetails): Promise<void> {
    let node: V1Node;
    try {
      node = await this.api.readNode({ name: nodeName });
    } catch (error) {
      const failure = apiFailure(error);
      if (failure.httpStatus === 404) {
        throw new DebugPodError('node-not-found', `Node "${nodeName}" does not exist (any more). Refresh the view and pick a pod on a live node.`, {
          ...context,
          serverMessage: failure.message,
          httpStatus: 404,
        });
      }
      // Reading nodes needs a cluster-wide permission many users lack; the pod itself may still work.
      this.log.warn(`could not read node ${nodeName} (${failure.message}); skipping the node checks`);
      return;
    }
    const problem = nodeProblem(node, context);
    if (problem !== undefined) {
      throw problem;
    }
    if (node.spec?.unschedulable === true) {
      this.log.info(`node ${nodeName} is cordoned; the debug pod is bound to it directly, so this does not matter`);
    }
  }

  private async askConsent(nodeName: string, settings: DebugPodSettings, report: (progress: DebugPodProgress) => void): Promise<void> {
    if (this.consentGiven) {
      return;
    }
    if (this.consentPromise === undefined) {
      report({ nodeName, stage: 'consent', message: 'Waiting for your permission to create a debug pod' });
      const request: ConsentRequest = {
        context: this.options.kubeConfig.getCurrentContext(),
        server: this.options.kubeConfig.getCurrentCluster()?.server ?? '',
        nodeName,
        namespace: settings.namespace,
        image: settings.image,
        lifetimeSeconds: settings.lifetimeSeconds,
        privileges: DEBUG_POD_PRIVILEGES,
      };
      this.consentPromise = this.options.consent(request).then(
        (answer) => answer === true,
        () => false,
      );
    }
    const promise = this.consentPromise;
    const granted = await promise;
    if (this.consentPromise === promise) {
      this.consentPromise = undefined;
    }
    if (!granted) {
      throw new DebugPodError('consent-denied', 'No debug pod was created: permission was not given.', { nodeName, namespace: settings.namespace, image: settings.image });
    }
    this.consentGiven = true;
    this.log.info(`consent given for debug pods on context ${this.options.kubeConfig.getCurrentContext()}`);
  }

  private async waitUntilRunning(
    namespace: string,
    name: string,
    context: DebugPodErrorDetails,
    deadline: number,
    signal: AbortSignal,
    report: (progress: DebugPodProgress) => void,
  ): Promise<V1Pod> {
    const nodeName = context.nodeName ?? '';
    let delay = 200;
    let lastState = 'Pending';
    let lastStage: DebugPodStage | undefined;
    for (;;) {
      throwIfAborted(signal, nodeName, context);
      let pod: V1Pod;
      try {
        pod = await this.api.readNamespacedPod({ namespace, name });
      } catch (error) {
        const failure = apiFailure(error);
        if (failure.httpStatus === 404) {
          throw new DebugPodError('pod-deleted', `The debug pod ${namespace}/${name} was deleted while it was starting (by someone else or by a policy). Try again.`, context);
        }
        throw new DebugPodError('api', `Could not read the debug pod ${namespace}/${name}: ${failure.message}`, { ...context, serverMessage: failure.message, httpStatus: failure.httpStatus });
      }
      const verdict = podStartVerdict(pod, context);
      if (verdict.kind === 'running') {
        return pod;
      }
      if (verdict.kind === 'failed') {
        throw verdict.error;
      }
      lastState = verdict.state;
      if (verdict.stage !== lastStage) {
        lastStage = verdict.stage;
        report({ nodeName, stage: verdict.stage, message: `Debug pod on ${nodeName}: ${verdict.state}` });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw await this.timeoutError(context, lastState);
      }
      await sleep(Math.min(delay, remaining), signal);
      delay = Math.min(2000, Math.round(delay * 1.5));
    }
  }

  private async timeoutError(context: DebugPodErrorDetails, lastState: string): Promise<DebugPodError> {
    const nodeName = context.nodeName ?? '';
    try {
      const node = await this.api.readNode({ name: nodeName });
      const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
      if (ready !== undefined && ready.status !== 'True') {
        return new DebugPodError('node-not-ready', `Node "${nodeName}" became NotReady while the debug pod was starting; try again once it is Ready.`, context);
      }
    } catch {
      // The plain timeout message below is still right.
    }
    return new DebugPodError(
      'timeout',
      `The debug pod on node "${nodeName}" was not running in time (last state: ${lastState}). The node may be slow to pull ${context.image ?? 'the image'}; try again, or raise the start timeout.`,
      { ...context, serverMessage: lastState },
    );
  }

  private scheduleIdle(nodeName: string, entry: Entry): void {
    this.clearIdle(entry);
    if (entry.busy > 0 || this.disposed) {
      return;
    }
    const idleMs = this.settings().idleTimeoutSeconds * 1000;
    const untilExpiry = entry.handle.expiresAt.getTime() - Date.now();
    const delay = idleMs > 0 ? Math.min(idleMs, untilExpiry) : untilExpiry;
    entry.idleTimer = setTimeout(
      () => {
        if (this.entries.get(nodeName) === entry && entry.busy === 0) {
          void this.forget(nodeName, idleMs > 0 && idleMs < untilExpiry ? 'idle' : 'expired');
        }
      },
      Math.max(0, Math.min(delay, 2 ** 31 - 1)),
    );
    entry.idleTimer.unref();
  }

  private clearIdle(entry: Entry): void {
    if (entry.idleTimer !== undefined) {
      clearTimeout(entry.idleTimer);
      entry.idleTimer = undefined;
    }
  }

  private async forget(nodeName: string, reason: string): Promise<void> {
    const entry = this.entries.get(nodeName);
    if (entry === undefined) {
      return;
    }
    this.clearIdle(entry);
    this.entries.delete(nodeName);
    this.fireCount();
    await this.deletePod(entry.handle.namespace, entry.handle.podName, reason);
  }

  /** Deletes a pod at once (grace 0); true when it was deleted or already gone. Never throws. */
  private async deletePod(namespace: string, name: string, reason: string): Promise<boolean> {
    if (name === '') {
      return false;
    }
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), DELETE_BOUND_MS);
    });
    try {
      const outcome = await Promise.race([this.api.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0, propagationPolicy: 'Background' }).then(() => 'deleted' as const), bound]);
      if (outcome === 'timeout') {
        this.log.warn(`deleting debug pod ${namespace}/${name} took too long; it stops by itself at its deadline`);
        return false;
      }
      this.log.info(`deleted debug pod ${namespace}/${name} (${reason})`);
      return true;
    } catch (error) {
      if (httpStatusOf(error) === 404) {
        return true;
      }
      this.log.error(`could not delete debug pod ${namespace}/${name}: ${apiFailure(error).message}; it stops by itself at its deadline`);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private fireCount(): void {
    const count = this.entries.size;
    for (const listener of this.countListeners) {
      try {
        listener(count);
      } catch (error) {
        this.log.error(`count listener failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

/** Why a debug pod cannot run on this node (Windows, NotReady), or undefined when it can. */
export function nodeProblem(node: V1Node, context: DebugPodErrorDetails): DebugPodError | undefined {
  const nodeName = node.metadata?.name ?? context.nodeName ?? '';
  const labels = node.metadata?.labels ?? {};
  if (labels['kubernetes.io/os'] === 'windows' || node.status?.nodeInfo?.operatingSystem === 'windows') {
    return new DebugPodError(
      'windows-node',
      `Node "${nodeName}" runs Windows. Node diagnostics need a Linux node (host network and PID namespaces, nsenter, iproute2); Windows nodes are not supported.`,
      context,
    );
  }
  const ready = node.status?.conditions?.find((condition) => condition.type === 'Ready');
  if (ready !== undefined && ready.status !== 'True') {
    const why = [ready.reason, ready.message].filter((part) => part !== undefined && part !== '').join(': ');
    return new DebugPodError(
      'node-not-ready',
      `Node "${nodeName}" is NotReady${why !== '' ? ` (${why})` : ''}, so its kubelet cannot start a debug pod. Check the node (kubectl describe node ${nodeName}) and try again once it is Ready.`,
      { ...context, serverMessage: why },
    );
  }
  return undefined;
}

type StartVerdict = { kind: 'running' } | { kind: 'failed'; error: DebugPodError } | { kind: 'waiting'; stage: DebugPodStage; state: string };

/** Where a starting debug pod stands: running, failed for good, or still on its way. */
export function podStartVerdict(pod: V1Pod, context: DebugPodErrorDetails): StartVerdict {
  const nodeName = context.nodeName ?? pod.spec?.nodeName ?? '';
  const podName = pod.metadata?.name ?? context.podName;
  const details: DebugPodErrorDetails = { ...context, podName };
  const phase = pod.status?.phase ?? 'Pending';
  const status = pod.status?.containerStatuses?.find((item) => item.name === DEBUG_CONTAINER_NAME) ?? pod.status?.containerStatuses?.[0];

  if (phase === 'Running' && status?.state?.running !== undefined) {
    return { kind: 'running' };
  }
  const waiting = status?.state?.waiting;
  if (waiting?.reason !== undefined && IMAGE_PULL_REASONS.has(waiting.reason)) {
    return { kind: 'failed', error: imagePullError(waiting.reason, waiting.message, details) };
  }
  if (waiting?.reason !== undefined && CONTAINER_FAILURE_REASONS.has(waiting.reason)) {
    return {
      kind: 'failed',
      error: new DebugPodError('pod-failed', `The debug pod on node "${nodeName}" could not start its container (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}).`, {
        ...details,
        serverMessage: waiting.message ?? waiting.reason,
      }),
    };
  }
  if (phase === 'Failed' || phase === 'Succeeded') {
    const reason = pod.status?.reason ?? status?.state?.terminated?.reason ?? phase;
    const message = pod.status?.message ?? status?.state?.terminated?.message ?? '';
    if (/^(OutOf|NodeAffinity|NodeSelector|Taint|UnexpectedAdmissionError|Predicate|NodeShutdown|Evicted)/.test(reason)) {
      return {
        kind: 'failed',
        error: new DebugPodError(
          'unschedulable',
          `Node "${nodeName}" refused the debug pod (${reason}${message !== '' ? `: ${message}` : ''}). Free resources on the node or pick a pod on another node.`,
          { ...details, serverMessage: `${reason}: ${message}` },
        ),
      };
    }
    return {
      kind: 'failed',
      error: new DebugPodError('pod-failed', `The debug pod on node "${nodeName}" ended before it was usable (${reason}${message !== '' ? `: ${message}` : ''}).`, {
        ...details,
        serverMessage: `${reason}: ${message}`,
      }),
    };
  }
  if (status?.state?.terminated !== undefined) {
    const terminated = status.state.terminated;
    return {
      kind: 'failed',
      error: new DebugPodError('pod-failed', `The debug container on node "${nodeName}" exited (${terminated.reason ?? `exit code ${terminated.exitCode}`}).`, {
        ...details,
        serverMessage: terminated.message ?? terminated.reason,
      }),
    };
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      kind: 'failed',
      error: new DebugPodError('unschedulable', `The debug pod cannot be placed on node "${nodeName}": ${scheduled.message ?? 'unschedulable'}.`, { ...details, serverMessage: scheduled.message }),
    };
  }
  if (status === undefined) {
    return { kind: 'waiting', stage: 'scheduling', state: `${phase}, waiting for the kubelet` };
  }
  return { kind: 'waiting', stage: 'starting', state: `${phase}${waiting?.reason !== undefined ? `, ${waiting.reason}` : ''}` };
}

function imagePullError(reason: string, serverMessage: string | undefined, details: DebugPodErrorDetails): DebugPodError {
  const image = details.image ?? '';
  const registry = imageRegistry(image);
  return new DebugPodError(
    'image-pull',
    `Node "${details.nodeName ?? ''}" could not pull the debug image "${image}" from registry ${registry} (${reason}${serverMessage ? `: ${serverMessage}` : ''}). ` +
      `Choose an image the node can pull in the setting ${SETTING_IMAGE} (CLI: --image), for example a copy in a registry your nodes reach; ` +
      `if that registry needs credentials, name a pull secret in ${SETTING_PULL_SECRETS}.`,
    { ...details, serverMessage: serverMessage ?? reason },
  );
}

/** The registry host an image reference pulls from (`docker.io` when none is named). */
export function imageRegistry(image: string): string {
  const slash = image.indexOf('/');
  if (slash === -1) {
    return 'docker.io';
  }
  const first = image.slice(0, slash);
  return first.includes('.') || first.includes(':') || first === 'localhost' ? first : 'docker.io';
}

/** Turns a failed pod create into the matching typed error. */
export function createError(error: unknown, context: DebugPodErrorDetails): DebugPodError {
  const failure = apiFailure(error);
  const namespace = context.namespace ?? '';
  const base: DebugPodErrorDetails = { ...context, serverMessage: failure.message, httpStatus: failure.httpStatus };
  if (failure.httpStatus === 403 && /violates PodSecurity/i.test(failure.message)) {
    const match = /violates PodSecurity "([a-z]+)(?::[^"]*)?"/i.exec(failure.message);
    const level = match?.[1] ?? 'baseline';
    return new DebugPodError(
      'pod-security',
      `Namespace "${namespace}" enforces the Pod Security level "${level}" (namespace label pod-security.kubernetes.io/enforce=${level}), which forbids what a node debug pod needs: host namespaces, a privileged container and a hostPath volume. ` +
        `Choose a namespace that allows privileged pods in the setting ${SETTING_NAMESPACE} (CLI: --namespace-debug), for example one labelled pod-security.kubernetes.io/enforce=privileged, or ask an administrator for one.`,
      { ...base, level },
    );
  }
  if (failure.httpStatus === 403) {
    const action = forbiddenAction(failure.message);
    const verb = action.verb ?? 'create';
    const resource = action.resource ?? 'pods';
    return new DebugPodError(
      'forbidden',
      `Your Kubernetes user may not ${verb} ${resource} in namespace "${namespace}" (RBAC refused "${verb}" on "${resource}"). ` +
        `Ask an administrator for that permission, or choose a namespace where you have it in the setting ${SETTING_NAMESPACE} (CLI: --namespace-debug).`,
      { ...base, verb, resource },
    );
  }
  if (failure.httpStatus === 401) {
    return new DebugPodError('unauthorized', 'The API server did not accept your credentials (401 Unauthorized). Log in to the cluster again (refresh your kubeconfig) and retry.', base);
  }
  if (failure.httpStatus === 404) {
    return new DebugPodError(
      'namespace-not-found',
      `Namespace "${namespace}" does not exist, so no debug pod can be created there. Set an existing namespace in ${SETTING_NAMESPACE} (CLI: --namespace-debug).`,
      base,
    );
  }
  return new DebugPodError('api', `Creating the debug pod failed: ${failure.message}`, base);
}

function sweepReason(pod: V1Pod, now: Date): string | undefined {
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    return `ended (${phase})`;
  }
  const expiry = debugPodExpiry(pod);
  if (expiry !== undefined && expiry.getTime() <= now.getTime()) {
    return `expired at ${expiry.toISOString()}`;
  }
  if (expiry === undefined) {
    // Without an expiry we cannot tell; fall back to the deadline counted from creation.
    const created = pod.metadata?.creationTimestamp;
    const deadline = pod.spec?.activeDeadlineSeconds;
    if (created !== undefined && deadline !== undefined && new Date(created).getTime() + deadline * 1000 <= now.getTime()) {
      return 'past its deadline';
    }
  }
  return undefined;
}

function isRunning(pod: V1Pod): boolean {
  const status = pod.status?.containerStatuses?.find((item) => item.name === DEBUG_CONTAINER_NAME);
  return pod.status?.phase === 'Running' && status?.state?.running !== undefined;
}

function cancelledError(nodeName: string, context: DebugPodErrorDetails = {}): DebugPodError {
  return new DebugPodError('cancelled', `Cancelled while getting the debug pod on node "${nodeName}" ready.`, { ...context, nodeName });
}

function throwIfAborted(signal: AbortSignal | undefined, nodeName: string, context: DebugPodErrorDetails = {}): void {
  if (signal?.aborted === true) {
    throw cancelledError(nodeName, context);
  }
}

/** Settles with `promise`, or rejects as cancelled as soon as `signal` aborts. */
async function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, nodeName: string): Promise<T> {
  throwIfAborted(signal, nodeName);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(cancelledError(nodeName));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    aborted.catch(() => undefined);
    if (onAbort !== undefined) {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The full node name a debug pod was made for (the label may be shortened). */
export function debugPodNodeName(pod: V1Pod): string | undefined {
  return pod.spec?.nodeName ?? pod.metadata?.annotations?.[NODE_ANNOTATION];
}

/**
 * Deletes every debug pod of this tool, any owner, expired or not (the CLI's `cleanup`).
 * Cluster-wide when allowed, else in `fallbackNamespace`.
 */
export async function removeAllDebugPods(kubeConfig: KubeConfig, fallbackNamespace: string, logger: Logger = silentLogger): Promise<SweepResult> {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const log = taggedLogger(logger, 'DebugPod');
  const problems: string[] = [];
  let pods: V1Pod[];
  try {
    pods = (await api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR })).items;
  } catch (error) {
    problems.push(`could not list debug pods in all namespaces (${apiFailure(error).message}); looked only in ${fallbackNamespace}`);
    try {
      pods = (await api.listNamespacedPod({ namespace: fallbackNamespace, labelSelector: MANAGED_SELECTOR })).items;
    } catch (inner) {
      problems.push(`could not list debug pods in ${fallbackNamespace}: ${apiFailure(inner).message}`);
      return { deleted: [], problems };
    }
  }
  const deleted: { namespace: string; name: string; reason: string }[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name;
    const namespace = pod.metadata?.namespace;
    if (name === undefined || namespace === undefined) {
      continue;
    }
    try {
      await api.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0, propagationPolicy: 'Background' });
      deleted.push({ namespace, name, reason: 'cleanup' });
      log.info(`deleted debug pod ${namespace}/${name} (cleanup)`);
    } catch (error) {
      if (httpStatusOf(error) === 404) {
        continue;
      }
      problems.push(`could not delete ${namespace}/${name}: ${apiFailure(error).message}`);
    }
  }
  return { deleted, problems };
}

/**
 * The live model of one cluster context: client-node informers (list + watch) for namespaces,
 * nodes, pods and services feed a `ClusterIndex`; changes are coalesced into one event per
 * `coalesceMs`; the connection state is explicit, failures are classified and retried with
 * backoff. No `vscode` import.
 */

import { CoreV1Api, makeInformer } from '@kubernetes/client-node';
import type { Informer, KubeConfig, KubernetesListObject, ObjectCache } from '@kubernetes/client-node';

import { Emitter } from '../util/event.js';
import type { Disposable, Event } from '../util/event.js';
import type { Logger } from '../util/log.js';
import { ChangeAccumulator, ClusterIndex } from './clusterIndex.js';
import type { ClusterChange, ResourceKind, ResourceTypes } from './clusterIndex.js';
import { CancelledError, classifyError, TimeoutError } from './errors.js';
import type { ClusterProblem } from './errors.js';
import { contextNamespace, credentialExpiry } from './kubeconfig.js';

/** What the model is connected to. */
export interface ClusterTarget {
  /** A kubeconfig whose current context is `contextName`. */
  readonly kubeConfig: KubeConfig;
  readonly contextName: string;
}

/** A resource the user may not list in full, and what is shown instead. */
export interface Limitation {
  readonly resource: ResourceKind;
  readonly problem: ClusterProblem;
  /** The one namespace the resource is watched in instead, or undefined when not shown at all. */
  readonly namespace: string | undefined;
}

/** The connection state of the model. */
export type ConnectionState =
  | { readonly phase: 'idle' }
  | {
      readonly phase: 'connecting';
      readonly context: string;
      readonly server: string | undefined;
      readonly attempt: number;
    }
  | {
      readonly phase: 'ready';
      readonly context: string;
      readonly server: string | undefined;
      readonly limitations: readonly Limitation[];
      /** Set while a watch has failed after the first list; the data shown may be stale. */
      readonly lost: ClusterProblem | undefined;
    }
  | {
      readonly phase: 'error';
      readonly context: string | undefined;
      readonly server: string | undefined;
      readonly problem: ClusterProblem;
      /** Epoch milliseconds of the next automatic attempt, if one is scheduled. */
      readonly retryAt: number | undefined;
      readonly attempt: number;
    };

/** Exponential backoff bounds. */
export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Tunables of `ClusterModel`; the defaults suit a real cluster. */
export interface ClusterModelOptions {
  readonly log: Logger;
  /** Changes within this window are reported as one event. */
  readonly coalesceMs?: number;
  /** Time limit of one list page. */
  readonly listTimeoutMs?: number;
  /** `limit` of list requests; lists are paged like kubectl's. */
  readonly pageSize?: number;
  /** Backoff of whole-session reconnects (cluster unreachable, bad credentials ...). */
  readonly sessionBackoff?: BackoffOptions;
  /** Backoff of single watches that broke after the first list. */
  readonly watchBackoff?: BackoffOptions;
}

const allKinds: readonly ResourceKind[] = ['namespaces', 'nodes', 'pods', 'services'];

/**
 * Delay before retry number `attempt` (1-based): doubles from `initialMs` up to `maxMs`, with
 * ±20 % jitter so that many clients do not retry in step.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const base = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  const jitter = 0.8 + 0.4 * random();
  return Math.round(Math.min(options.maxMs, base * jitter));
}

/** The live cluster model. Start it with `start(target)`; `dispose()` stops every watch. */
export class ClusterModel implements Disposable {
  private readonly changes = new ChangeAccumulator();
  /** The objects; read it only from the UI thread, between change events. */
  readonly index = new ClusterIndex(this.changes);

  private readonly changeEmitter = new Emitter<ClusterChange>();
  private readonly stateEmitter = new Emitter<ConnectionState>();
  /** Coalesced changes of the objects. */
  readonly onDidChange: Event<ClusterChange> = this.changeEmitter.event;
  /** Every change of `state`. */
  readonly onDidChangeState: Event<ConnectionState> = this.stateEmitter.event;

  private currentState: ConnectionState = { phase: 'idle' };
  private session: Session | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly options: Required<ClusterModelOptions>;

  constructor(options: ClusterModelOptions) {
    this.options = {
      coalesceMs: 100,
      listTimeoutMs: 30_000,
      pageSize: 500,
      sessionBackoff: { initialMs: 2_000, maxMs: 60_000 },
      watchBackoff: { initialMs: 1_000, maxMs: 30_000 },
      ...options,
    };
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.currentState;
  }

  /** The target of the running session, if any. */
  get target(): ClusterTarget | undefined {
    return this.session?.target;
  }

  /**
   * Connects to `target`, replacing any previous session (its watches stop, its objects are
   * forgotten). Returns at once; follow `onDidChangeState`.
   */
  start(target: ClusterTarget): void {
    this.stopSession();
    this.index.clear();
    this.scheduleFlush();
    const session = new Session(this, target, this.options);
    this.session = session;
    void session.connect(1);
  }

  /** Stops watching and forgets the objects; the state becomes `idle`, or `error` with `problem`. */
  stop(problem?: ClusterProblem): void {
    this.stopSession();
    this.index.clear();
    this.scheduleFlush();
    this.setState(
      problem === undefined
        ? { phase: 'idle' }
        : { phase: 'error', context: undefined, server: undefined, problem, retryAt: undefined, attempt: 0 },
    );
  }

  /** Retries now whatever is failing (the session or single broken watches), resetting backoff. */
  retry(): void {
    this.session?.retryNow();
  }

  /** Lists everything again from scratch on the same target. */
  restart(): void {
    const target = this.session?.target;
    if (target !== undefined) {
      this.start(target);
    }
  }

  /** Whether `kind` can be shown in `namespace` (or cluster-wide when omitted); the problem if not. */
  accessProblem(kind: ResourceKind, namespace?: string): ClusterProblem | undefined {
    const state = this.currentState;
    if (state.phase !== 'ready') {
      return undefined;
    }
    const limitation = state.limitations.find((entry) => entry.resource === kind);
    if (limitation === undefined) {
      return undefined;
    }
    if (limitation.namespace !== undefined && limitation.namespace === namespace) {
      return undefined;
    }
    return limitation.problem;
  }

  dispose(): void {
    this.stopSession();
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    this.changeEmitter.dispose();
    this.stateEmitter.dispose();
  }

  /** @internal Called by sessions. */
  setState(state: ConnectionState): void {
    this.currentState = state;
    this.stateEmitter.fire(state, (error) => this.options.log.error(`[ClusterModel] state listener failed: ${String(error)}`));
  }

  /** @internal Called by sessions for every informer event. */
  scheduleFlush(): void {
    if (this.flushTimer !== undefined) {
      return;
    }
    this.flushTimer = setTimeout(() => this.flushChanges(), this.options.coalesceMs);
  }

  /** Reports pending changes now instead of at the end of the coalescing window. */
  flushChanges(): void {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const change = this.changes.take();
    if (change !== undefined) {
      this.changeEmitter.fire(change, (error) => this.options.log.error(`[ClusterModel] change listener failed: ${String(error)}`));
    }
  }

  /** @internal */
  isCurrent(session: Session): boolean {
    return this.session === session;
  }

  private stopSession(): void {
    const session = this.session;
    this.session = undefined;
    session?.stop();
  }
}

interface ResourceSpec<K extends ResourceKind> {
  readonly kind: K;
  readonly namespaced: boolean;
  path(namespace: string | undefined): string;
  list(api: CoreV1Api, namespace: string | undefined, page: { limit: number; _continue?: string }): Promise<KubernetesListObject<ResourceTypes[K]>>;
}

const specs: { [K in ResourceKind]: ResourceSpec<K> } = {
  namespaces: {
    kind: 'namespaces',
    namespaced: false,
    path: () => '/api/v1/namespaces',
    list: (api, _namespace, page) => api.listNamespace(page),
  },
  nodes: {
    kind: 'nodes',
    namespaced: false,
    path: () => '/api/v1/nodes',
    list: (api, _namespace, page) => api.listNode(page),
  },
  pods: {
    kind: 'pods',
    namespaced: true,
    path: (namespace) => (namespace === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`),
    list: (api, namespace, page) =>
      namespace === undefined ? api.listPodForAllNamespaces(page) : api.listNamespacedPod({ namespace, ...page }),
  },
  services: {
    kind: 'services',
    namespaced: true,
    path: (namespace) =>
      namespace === undefined ? '/api/v1/services' : `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`,
    list: (api, namespace, page) =>
      namespace === undefined ? api.listServiceForAllNamespaces(page) : api.listNamespacedService({ namespace, ...page }),
  },
};

/** One connection to one context; replaced on restart and context switch. */
class Session {
  private stopped = false;
  private readonly api: CoreV1Api;
  private readonly watches = new Map<ResourceKind, ResourceWatch<ResourceKind>>();
  private readonly lost = new Map<ResourceKind, ClusterProblem>();
  private limitations: Limitation[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private attempt = 1;
  private readonly log: Logger;
  private readonly server: string | undefined;
  private lastLoggedProblem = '';
  /** Set once the first lists are done and the session published `ready`. */
  private connected = false;

  constructor(
    private readonly model: ClusterModel,
    readonly target: ClusterTarget,
    private readonly options: Required<ClusterModelOptions>,
  ) {
    this.api = target.kubeConfig.makeApiClient(CoreV1Api);
    this.log = options.log;
    this.server = target.kubeConfig.getCurrentCluster()?.server;
  }

  get isStopped(): boolean {
    return this.stopped || !this.model.isCurrent(this);
  }

  /**
   * Lists everything and opens the watches. An automatic retry (`quiet`) keeps showing the
   * error until it succeeds or fails anew, so the view does not flicker on every attempt.
   */
  async connect(attempt: number, quiet = false): Promise<void> {
    this.attempt = attempt;
    this.connected = false;
    this.lost.clear();
    if (!quiet || this.model.state.phase !== 'error') {
      this.model.setState({ phase: 'connecting', context: this.target.contextName, server: this.server, attempt });
    }
    this.log.info(`[ClusterModel] connecting to context "${this.target.contextName}" (${this.server ?? 'no server'}), attempt ${attempt}`);
    const started = Date.now();

    const results = await Promise.all(allKinds.map(async (kind) => [kind, await this.startWatch(kind, undefined)] as const));
    if (this.isStopped) {
      return;
    }
    const problems = new Map<ResourceKind, ClusterProblem>();
    for (const [kind, problem] of results) {
      if (problem !== undefined) {
        problems.set(kind, problem);
      }
    }

    // A problem other than "forbidden" means the cluster cannot be used at all.
    const fatal = [...problems.values()].find((problem) => problem.kind !== 'forbidden');
    if (fatal !== undefined) {
      this.fail(fatal);
      return;
    }

    const scopeNamespace = contextNamespace(this.target.kubeConfig);
    const limitations: Limitation[] = [];
    for (const kind of ['pods', 'services'] as const) {
      const problem = problems.get(kind);
      if (problem === undefined) {
        continue;
      }
      // Not allowed across namespaces: fall back to the context's namespace, like kubectl.
      this.log.info(`[ClusterModel] cannot list ${kind} in all namespaces (${problem.message}); watching namespace "${scopeNamespace}" only`);
      const scoped = await this.startWatch(kind, scopeNamespace);
      if (this.isStopped) {
        return;
      }
      if (scoped !== undefined && scoped.kind !== 'forbidden') {
        this.fail(scoped);
        return;
      }
      limitations.push({ resource: kind, problem: scoped ?? problem, namespace: scoped === undefined ? scopeNamespace : undefined });
    }
    for (const kind of ['namespaces', 'nodes'] as const) {
      const problem = problems.get(kind);
      if (problem !== undefined) {
        limitations.push({ resource: kind, problem, namespace: undefined });
      }
    }
    if (limitations.some((limitation) => limitation.resource === 'namespaces' || limitation.namespace !== undefined)) {
      this.model.index.pinNamespace(scopeNamespace);
      this.model.scheduleFlush();
    }
    const nothingVisible = limitations.some((l) => l.resource === 'pods' && l.namespace === undefined) &&
      limitations.some((l) => l.resource === 'services' && l.namespace === undefined);
    if (nothingVisible) {
      const podsProblem = limitations.find((l) => l.resource === 'pods')?.problem;
      if (podsProblem !== undefined) {
        this.fail(podsProblem);
        return;
      }
    }

    this.limitations = limitations;
    this.connected = true;
    this.attempt = 1;
    this.lastLoggedProblem = '';
    const counts = this.model.index.counts();
    this.log.info(
      `[ClusterModel] ready: ${counts.namespaces} namespaces, ${counts.nodes} nodes, ${counts.pods} pods, ${counts.services} services in ${Date.now() - started} ms` +
        (limitations.length > 0 ? `; limited: ${limitations.map((l) => `${l.resource}${l.namespace === undefined ? ' hidden' : ` in ${l.namespace}`}`).join(', ')}` : ''),
    );
    this.publishReady();
  }

  /** Starts (or restarts) the informer of `kind`; resolves with the problem of its first list, if any. */
  private async startWatch(kind: ResourceKind, namespace: string | undefined): Promise<ClusterProblem | undefined> {
    this.watches.get(kind)?.stop();
    const watch = new ResourceWatch(this, kind, namespace, this.api, this.options);
    this.watches.set(kind, watch);
    return watch.start();
  }

  private fail(problem: ClusterProblem): void {
    for (const watch of this.watches.values()) {
      watch.stop();
    }
    this.watches.clear();
    this.model.index.clear();
    this.model.scheduleFlush();
    const delay = backoffDelay(this.attempt, this.options.sessionBackoff);
    const retryAt = Date.now() + delay;
    const key = `${problem.kind}:${problem.message}`;
    // One warning per distinct problem, not one per retry.
    if (key !== this.lastLoggedProblem) {
      this.log.warn(`[ClusterModel] context "${this.target.contextName}": ${problem.message} — ${problem.detail}`);
      this.lastLoggedProblem = key;
    } else {
      this.log.debug(`[ClusterModel] attempt ${this.attempt} failed again: ${problem.message}`);
    }
    this.log.debug(`[ClusterModel] next attempt in ${delay} ms`);
    this.model.setState({
      phase: 'error',
      context: this.target.contextName,
      server: this.server,
      problem,
      retryAt,
      attempt: this.attempt,
    });
    const next = this.attempt + 1;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.isStopped) {
        void this.connect(next, true);
      }
    }, delay);
  }

  retryNow(): void {
    if (this.isStopped) {
      return;
    }
    const state = this.model.state;
    if (state.phase === 'error') {
      if (this.retryTimer !== undefined) {
        clearTimeout(this.retryTimer);
        this.retryTimer = undefined;
      }
      this.log.info('[ClusterModel] retry requested');
      void this.connect(1);
      return;
    }
    for (const watch of this.watches.values()) {
      watch.retryNow();
    }
  }

  /** @internal A watch broke after its first list. */
  watchLost(kind: ResourceKind, problem: ClusterProblem): void {
    if (this.isStopped) {
      return;
    }
    const had = this.lost.get(kind);
    this.lost.set(kind, problem);
    if (had === undefined || had.message !== problem.message) {
      this.log.warn(`[ClusterModel] watch of ${kind} failed: ${problem.message} — ${problem.detail}`);
      this.publishReady();
    }
  }

  /** @internal A broken watch works again. */
  watchRecovered(kind: ResourceKind): void {
    if (this.isStopped || !this.lost.delete(kind)) {
      return;
    }
    this.log.info(`[ClusterModel] watch of ${kind} reconnected`);
    this.publishReady();
  }

  private publishReady(): void {
    if (this.isStopped) {
      return;
    }
    if (!this.connected) {
      return;
    }
    this.model.setState({
      phase: 'ready',
      context: this.target.contextName,
      server: this.server,
      limitations: this.limitations,
      lost: this.lost.values().next().value,
    });
  }

  /** @internal */
  record(kind: ResourceKind, action: 'upsert' | 'remove', object: ResourceTypes[ResourceKind]): void {
    if (this.isStopped) {
      return;
    }
    if (action === 'upsert') {
      this.model.index.upsert(kind, object);
    } else {
      this.model.index.remove(kind, object);
    }
    this.model.scheduleFlush();
  }

  /** @internal */
  classify(error: unknown): ClusterProblem {
    return classifyError(error, { credentialExpiresAt: credentialExpiry(this.target.kubeConfig) });
  }

  get kubeConfig(): KubeConfig {
    return this.target.kubeConfig;
  }

  get logger(): Logger {
    return this.log;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    for (const watch of this.watches.values()) {
      watch.stop();
    }
    this.watches.clear();
  }
}

/** One informer with its restart policy. */
class ResourceWatch<K extends ResourceKind> {
  private readonly informer: Informer<ResourceTypes[K]> & ObjectCache<ResourceTypes[K]>;
  private stopped = false;
  private starting = false;
  private startProblem: ClusterProblem | undefined;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private everListed = false;

  constructor(
    private readonly session: Session,
    private readonly kind: K,
    private readonly namespace: string | undefined,
    api: CoreV1Api,
    private readonly options: Required<ClusterModelOptions>,
  ) {
    const spec = specs[kind] as unknown as ResourceSpec<K>;
    this.informer = makeInformer<ResourceTypes[K]>(session.kubeConfig, spec.path(namespace), () => this.listAll(spec, api));
    const upsert = (object: ResourceTypes[K]): void => {
      if (!this.stopped) {
        this.session.record(kind, 'upsert', object);
      }
    };
    this.informer.on('add', upsert);
    this.informer.on('update', upsert);
    this.informer.on('delete', (object) => {
      if (!this.stopped) {
        this.session.record(kind, 'remove', object);
      }
    });
    this.informer.on('error', (error: unknown) => this.onError(error));
  }

  /** First list + watch; resolves with the problem if the list or the watch request failed. */
  async start(): Promise<ClusterProblem | undefined> {
    this.starting = true;
    this.startProblem = undefined;
    try {
      await this.informer.start();
    } catch (error) {
      this.startProblem ??= this.session.classify(error);
    } finally {
      this.starting = false;
    }
    if (this.startProblem === undefined) {
      this.everListed = true;
    }
    return this.stopped ? undefined : this.startProblem;
  }

  /** Pages through the list like kubectl (`limit` + `continue`), each page with a time limit. */
  private async listAll(spec: ResourceSpec<K>, api: CoreV1Api): Promise<KubernetesListObject<ResourceTypes[K]>> {
    const items: Array<ResourceTypes[K]> = [];
    let continueToken: string | undefined;
    let resourceVersion: string | undefined;
    do {
      const page = await withTimeout(
        spec.list(api, this.namespace, {
          limit: this.options.pageSize,
          ...(continueToken === undefined ? {} : { _continue: continueToken }),
        }),
        this.options.listTimeoutMs,
        `list ${this.kind}`,
      );
      if (this.stopped || this.session.isStopped) {
        // Keeps ListWatch from opening a watch for a session that is gone.
        throw new CancelledError('session stopped');
      }
      items.push(...(page.items ?? []));
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      const next = page.metadata?._continue;
      continueToken = typeof next === 'string' && next.length > 0 ? next : undefined;
    } while (continueToken !== undefined);
    this.session.logger.debug(`[ClusterModel] listed ${items.length} ${this.kind}${this.namespace === undefined ? '' : ` in ${this.namespace}`}`);
    return { metadata: { resourceVersion }, items };
  }

  private onError(error: unknown): void {
    if (this.stopped || this.session.isStopped || error instanceof CancelledError) {
      return;
    }
    const problem = this.session.classify(error);
    if (this.starting) {
      this.startProblem ??= problem;
      return;
    }
    if (!this.everListed) {
      return;
    }
    // ListWatch does not restart after an error; do it with backoff.
    this.failures += 1;
    this.session.watchLost(this.kind, problem);
    this.scheduleRestart(backoffDelay(this.failures, this.options.watchBackoff));
  }

  private scheduleRestart(delay: number): void {
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
    }
    this.session.logger.debug(`[ClusterModel] restarting watch of ${this.kind} in ${delay} ms`);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.restart();
    }, delay);
  }

  private async restart(): Promise<void> {
    if (this.stopped || this.session.isStopped) {
      return;
    }
    const problem = await this.start();
    if (this.stopped || this.session.isStopped) {
      return;
    }
    if (problem === undefined) {
      this.failures = 0;
      this.session.watchRecovered(this.kind);
    } else {
      this.failures += 1;
      this.session.watchLost(this.kind, problem);
      this.scheduleRestart(backoffDelay(this.failures, this.options.watchBackoff));
    }
  }

  retryNow(): void {
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.failures = 0;
      void this.restart();
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    void this.informer.stop().catch(() => undefined);
  }
}

function withTimeout<T>(promise: Promise<T>, milliseconds: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(what, milliseconds)), milliseconds);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

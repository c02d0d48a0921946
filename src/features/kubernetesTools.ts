/**
 * Microsoft's Kubernetes extension (ms-kubernetes-tools.vscode-kubernetes-tools), when it is
 * installed: our pod and service commands run on its Cluster Explorer nodes (resolved through
 * its `clusterExplorer` API), and our tree follows the kubeconfig and context it selects (its
 * `configuration` API). It is optional: without it nothing here does more than log one line.
 *
 * Command handlers narrow their argument with {@link kubernetesToolsPod} /
 * {@link kubernetesToolsService} / {@link kubernetesToolsNode} (or the lower-level
 * {@link resolveKubernetesToolsTarget}), after their own `instanceof` checks.
 */

import * as os from 'node:os';

import * as vscode from 'vscode';
import type { API, ClusterExplorerV1, ConfigurationV1 } from 'vscode-kubernetes-tools-api';

import type { ClusterModel } from '../kube/clusterModel.js';
import type { ContextSession } from '../kube/contextSession.js';
import { ClusterError, KubeNetError, NotConnectedError, TimeoutError } from '../kube/errors.js';
import { resolveKubeconfigPaths } from '../kube/kubeconfig.js';
import { summarizeNode, summarizePod, summarizeService } from '../kube/objects.js';
import type { NodeSummary, PodSummary, ServiceSummary } from '../kube/objects.js';
import { contextOfEvent, kubeconfigOfPath, kubernetesToolsExtensionId, targetOfExplorerNode } from './kubernetesToolsTargets.js';
import type { KubernetesToolsTarget } from './kubernetesToolsTargets.js';
import { plainText } from './markdown.js';

export type { KubernetesToolsTarget } from './kubernetesToolsTargets.js';

/** How long a command waits for the Kubernetes extension's API (it activates on first use). */
const apiTimeoutMs = 30_000;
/** How long a command from its explorer waits for our model to connect. */
const modelTimeoutMs = 30_000;
/** How long a command waits for a just-created object to reach our model's watch. */
const objectTimeoutMs = 5_000;

/** What the integration needs. */
export interface KubernetesToolsServices {
  readonly log: vscode.LogOutputChannel;
  readonly track: <T extends vscode.Disposable>(disposable: T) => T;
  readonly session: ContextSession;
  readonly model: ClusterModel;
}

/** A Cluster Explorer node that cannot be used here; the message is for the user. */
export class KubernetesToolsError extends KubeNetError {
  override readonly name = 'KubernetesToolsError';
  constructor(
    readonly code: 'contextMismatch' | 'notFound',
    message: string,
  ) {
    super(message);
  }

  static override is(value: unknown): value is KubernetesToolsError {
    return value instanceof KubernetesToolsError;
  }
}

/** The bridge of this window (one per extension host), set by {@link registerKubernetesTools}. */
let activeBridge: KubernetesToolsBridge | undefined;

/** Starts following the Kubernetes extension, now if it is installed and whenever it gets installed. */
export function registerKubernetesTools(services: KubernetesToolsServices): void {
  const bridge = services.track(new KubernetesToolsBridge(services));
  activeBridge = bridge;
  services.track({ dispose: () => (activeBridge === bridge ? (activeBridge = undefined) : undefined) });
  bridge.start();
}

/**
 * The pod, service or node a command argument names when it is a node of the Kubernetes
 * extension's Cluster Explorer; undefined for anything else (our own tree nodes, URIs, nothing)
 * and when that extension is not installed.
 */
export async function resolveKubernetesToolsTarget(arg: unknown): Promise<KubernetesToolsTarget | undefined> {
  if (typeof arg !== 'object' || arg === null || activeBridge === undefined) {
    return undefined;
  }
  return activeBridge.resolve(arg);
}

/**
 * The pod a Cluster Explorer pod node names, as our model knows it; undefined when `arg` is not
 * one. Waits (bounded) for the model to connect. Throws `KubernetesToolsError` when the two
 * extensions show different contexts or the pod is not in ours.
 */
export async function kubernetesToolsPod(arg: unknown, model: ClusterModel): Promise<PodSummary | undefined> {
  const target = await resolveKubernetesToolsTarget(arg);
  if (target?.kind !== 'pod') {
    return undefined;
  }
  const pod = await findInModel(model, vscode.l10n.t('Pod {0}', `${target.namespace}/${target.name}`), () => model.index.pod(target.namespace, target.name));
  return summarizePod(pod);
}

/** Like {@link kubernetesToolsPod}, for a Cluster Explorer service node. */
export async function kubernetesToolsService(arg: unknown, model: ClusterModel): Promise<ServiceSummary | undefined> {
  const target = await resolveKubernetesToolsTarget(arg);
  if (target?.kind !== 'service') {
    return undefined;
  }
  const service = await findInModel(model, vscode.l10n.t('Service {0}', `${target.namespace}/${target.name}`), () =>
    model.index.service(target.namespace, target.name),
  );
  return summarizeService(service);
}

/** Like {@link kubernetesToolsPod}, for a Cluster Explorer node (a cluster node) node. */
export async function kubernetesToolsNode(arg: unknown, model: ClusterModel): Promise<NodeSummary | undefined> {
  const target = await resolveKubernetesToolsTarget(arg);
  if (target?.kind !== 'node') {
    return undefined;
  }
  const node = await findInModel(model, vscode.l10n.t('Node {0}', target.name), () => model.index.node(target.name));
  return summarizeNode(node);
}

async function findInModel<T>(model: ClusterModel, what: string, lookup: () => T | undefined): Promise<T> {
  activeBridge?.checkSameContext();
  await whenReady(model);
  const found = lookup() ?? (await nextMatch(model, lookup));
  if (found === undefined) {
    const state = model.state;
    const context = state.phase === 'ready' ? state.context : '?';
    throw new KubernetesToolsError('notFound', vscode.l10n.t('{0} is not in context {1} that Kubernetes Network shows.', plainText(what), plainText(context)));
  }
  return found;
}

/** Resolves once the model is ready; throws its problem when it failed, `TimeoutError` after a while. */
async function whenReady(model: ClusterModel): Promise<void> {
  const settled = (): boolean => {
    const state = model.state;
    if (state.phase === 'error') {
      throw new ClusterError(state.problem);
    }
    return state.phase === 'ready';
  };
  if (settled()) {
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(model.state.phase === 'idle' ? new NotConnectedError() : new TimeoutError(vscode.l10n.t('Connecting to the cluster'), modelTimeoutMs));
    }, modelTimeoutMs);
    const subscription = model.onDidChangeState(() => {
      try {
        if (!settled()) {
          return;
        }
        resolve();
      } catch (error) {
        reject(error);
      }
      clearTimeout(timer);
      subscription.dispose();
    });
  });
}

/** Waits a little for `lookup` to find something after the model's next changes. */
function nextMatch<T>(model: ClusterModel, lookup: () => T | undefined): Promise<T | undefined> {
  return new Promise((resolve) => {
    const finish = (value: T | undefined): void => {
      clearTimeout(timer);
      subscription.dispose();
      resolve(value);
    };
    const timer = setTimeout(() => finish(undefined), objectTimeoutMs);
    const subscription = model.onDidChange(() => {
      const found = lookup();
      if (found !== undefined) {
        finish(found);
      }
    });
  });
}

/**
 * vscode-kubernetes-tools-api, loaded on first use: its module asks VS Code to activate the
 * Kubernetes extension as soon as it is evaluated, which must not happen when that extension
 * is not installed (and costs nothing to put off until we know it is).
 */
function loadApiLibrary(): typeof import('vscode-kubernetes-tools-api') {
  // A plain require: webpack bundles the module, and evaluates it only when this runs.
  return require('vscode-kubernetes-tools-api') as typeof import('vscode-kubernetes-tools-api');
}

/** Holds what the Kubernetes extension's API gave us and follows its events. */
class KubernetesToolsBridge implements vscode.Disposable {
  private explorer: ClusterExplorerV1 | undefined;
  /** Set while connected or connecting to the extension's API. */
  private connecting: Promise<void> | undefined;
  private readonly apiSubscriptions: vscode.Disposable[] = [];
  private readonly subscriptions: vscode.Disposable[] = [];
  /** The path list we follow, as the extension gave it. */
  private followedPaths: string | undefined;
  /** The last context the extension announced (`onDidChangeContext`), for its kubeconfig. */
  private announcedContext: string | undefined;
  private generation = 0;
  private disposed = false;

  constructor(private readonly services: KubernetesToolsServices) {}

  start(): void {
    this.check(true);
    this.subscriptions.push(vscode.extensions.onDidChange(() => this.check(false)));
  }

  /** Connects when the extension is (now) installed, lets go when it is gone. */
  private check(first: boolean): void {
    const installed = vscode.extensions.getExtension(kubernetesToolsExtensionId) !== undefined;
    if (installed && this.connecting === undefined) {
      const generation = ++this.generation;
      this.connecting = this.connect(generation).catch((error: unknown) => {
        this.services.log.warn(`[KubernetesTools] could not use the Kubernetes extension's API: ${error instanceof Error ? error.message : String(error)}`);
      });
    } else if (!installed && this.connecting !== undefined) {
      this.services.log.info('[KubernetesTools] the Kubernetes extension is gone; using the kubeconfig on our own');
      this.letGo();
    } else if (!installed && first) {
      this.services.log.info(`[KubernetesTools] ${kubernetesToolsExtensionId} is not installed; working on our own`);
    }
  }

  private async connect(generation: number): Promise<void> {
    const log = this.services.log;
    const library = loadApiLibrary();
    const [explorer, configuration] = await Promise.all([library.extension.clusterExplorer.v1, library.extension.configuration.v1_1]);
    if (this.disposed || generation !== this.generation) {
      return;
    }
    if (explorer.available) {
      this.explorer = explorer.api;
    } else {
      log.info(`[KubernetesTools] Cluster Explorer API v1 not available (${explorer.reason}); its nodes fall back to our pickers`);
    }
    let configurationApi: ConfigurationV1 | undefined;
    if (configuration.available) {
      configurationApi = configuration.api;
      this.apiSubscriptions.push(
        configuration.api.onDidChangeKubeconfigPath((path) => this.follow(path, 'changed')),
        configuration.api.onDidChangeContext((context) => void this.contextChanged(context)),
      );
    } else {
      const older: API<ConfigurationV1> = await library.extension.configuration.v1;
      if (older.available) {
        configurationApi = older.api;
      }
      log.info(`[KubernetesTools] configuration API v1_1 not available (${configuration.reason}); ${older.available ? 'reading its kubeconfig once (v1)' : 'not following its kubeconfig'}`);
    }
    if (configurationApi !== undefined) {
      this.follow(configurationApi.getKubeconfigPath(), 'initial');
      // Our tree shows what its explorer shows: its kubeconfig's current context, not a
      // context remembered from an earlier choice in our view.
      const status = this.services.session.status;
      const context = this.kubernetesToolsContext();
      if (context !== undefined && status.kind === 'active' && status.context !== context) {
        log.info(`[KubernetesTools] switching to the Kubernetes extension's context "${context}" (was "${status.context}")`);
        await this.services.session.switchContext(context);
      }
    }
    log.info(`[KubernetesTools] using the Kubernetes extension's API: Cluster Explorer ${this.explorer === undefined ? 'no' : 'v1'}, configuration ${configuration.available ? 'v1_1' : configurationApi === undefined ? 'no' : 'v1'}`);
  }

  private follow(path: unknown, why: 'initial' | 'changed'): void {
    const kubeconfig = kubeconfigOfPath(path);
    if (kubeconfig.kind !== 'host') {
      this.services.log.info(`[KubernetesTools] not following the Kubernetes extension's kubeconfig: ${kubeconfig.reason}`);
      this.followedPaths = undefined;
      this.services.session.followKubeconfig(undefined);
      return;
    }
    if (kubeconfig.paths !== this.followedPaths) {
      this.announcedContext = undefined;
    }
    this.followedPaths = kubeconfig.paths;
    this.services.log.info(`[KubernetesTools] following the Kubernetes extension's kubeconfig (${why}): ${kubeconfig.paths}`);
    this.services.session.followKubeconfig(kubeconfig.paths);
  }

  private async contextChanged(value: unknown): Promise<void> {
    const context = contextOfEvent(value);
    if (context === undefined || this.disposed) {
      return;
    }
    this.announcedContext = context;
    const session = this.services.session;
    // The extension writes its choice to the kubeconfig's current-context: read it now rather
    // than when the file watcher gets to it.
    session.reload();
    const status = session.status;
    if (status.kind === 'active' && status.context === context) {
      this.services.log.info(`[KubernetesTools] the Kubernetes extension selected context "${context}"`);
      return;
    }
    if (!session.contexts().some((candidate) => candidate.name === context)) {
      this.services.log.info(`[KubernetesTools] the Kubernetes extension selected context "${context}", which our kubeconfig does not define`);
      return;
    }
    this.services.log.info(`[KubernetesTools] the Kubernetes extension selected context "${context}"; switching to it`);
    try {
      await session.switchContext(context);
    } catch (error) {
      this.services.log.warn(`[KubernetesTools] could not switch to context "${context}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The context the extension's explorer shows, when our session reads its kubeconfig. */
  private kubernetesToolsContext(): string | undefined {
    if (this.followedPaths === undefined) {
      return undefined;
    }
    const theirs = resolveKubeconfigPaths({ kubeconfigEnv: this.followedPaths, homeDir: os.homedir() }).paths;
    const ours = this.services.session.paths;
    if (theirs.length !== ours.length || theirs.some((file, position) => file !== ours[position])) {
      return undefined;
    }
    return this.announcedContext ?? this.services.session.fileCurrentContext;
  }

  /** Throws when the extension's explorer and our view show different contexts. */
  checkSameContext(): void {
    const theirs = this.kubernetesToolsContext();
    const status = this.services.session.status;
    if (theirs !== undefined && status.kind === 'active' && status.context !== theirs) {
      throw new KubernetesToolsError(
        'contextMismatch',
        vscode.l10n.t(
          'The Kubernetes extension shows context {0} and Kubernetes Network shows context {1}. Switch one of them so that both show the same cluster.',
          plainText(theirs),
          plainText(status.context),
        ),
      );
    }
  }

  async resolve(arg: object): Promise<KubernetesToolsTarget | undefined> {
    const connecting = this.connecting;
    if (connecting === undefined) {
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      connecting.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), apiTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!waited) {
      this.services.log.warn(`[KubernetesTools] the Kubernetes extension's API did not answer within ${apiTimeoutMs / 1000} s`);
      return undefined;
    }
    let node: unknown;
    try {
      node = this.explorer?.resolveCommandTarget(arg);
    } catch (error) {
      this.services.log.warn(`[KubernetesTools] resolveCommandTarget failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
    const target = targetOfExplorerNode(node);
    if (node !== undefined) {
      this.services.log.debug(`[KubernetesTools] explorer node ${target === undefined ? '(not usable)' : JSON.stringify(target)}`);
    }
    return target;
  }

  private letGo(): void {
    this.generation += 1;
    this.connecting = undefined;
    this.explorer = undefined;
    this.followedPaths = undefined;
    this.announcedContext = undefined;
    for (const subscription of this.apiSubscriptions.splice(0)) {
      subscription.dispose();
    }
    this.services.session.followKubeconfig(undefined);
  }

  dispose(): void {
    this.disposed = true;
    for (const subscription of [...this.apiSubscriptions.splice(0), ...this.subscriptions.splice(0)]) {
      subscription.dispose();
    }
  }
}

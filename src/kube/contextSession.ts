/**
 * Follows the kubeconfig: which files (setting, KUBECONFIG, ~/.kube/config), which context
 * (the user's remembered choice or the files' current-context), and restarts the cluster model
 * when what it depends on changes. No `vscode` import: settings and workspace memory come in
 * through small interfaces.
 */

import type { KubeConfig } from '@kubernetes/client-node';

import { Emitter } from '../util/event.js';
import type { Disposable, Event } from '../util/event.js';
import { taggedLogger } from '../util/log.js';
import type { Logger } from '../util/log.js';
import type { ClusterModel } from './clusterModel.js';
import { KubeconfigError } from './errors.js';
import {
  chooseContext,
  configForContext,
  contextFingerprint,
  contextNamespace,
  listContexts,
  loadKubeconfig,
  resolveKubeconfigPaths,
} from './kubeconfig.js';
import type { ContextSummary, KubeconfigPathInputs, KubeconfigSource, LoadedKubeconfig, RememberedContext } from './kubeconfig.js';
import { KubeconfigWatcher } from './kubeconfigWatcher.js';

/** Where the remembered context choice is kept (the workspace state in VS Code). */
export interface ContextMemory {
  get(): RememberedContext | undefined;
  set(value: RememberedContext | undefined): void | PromiseLike<void>;
}

/** What the kubeconfig allows the view to show. */
export type KubeconfigStatus =
  | { readonly kind: 'loading' }
  | { readonly kind: 'noConfig'; readonly paths: readonly string[]; readonly source: KubeconfigSource }
  | { readonly kind: 'invalidConfig'; readonly message: string; readonly paths: readonly string[] }
  | { readonly kind: 'noContext'; readonly contexts: number; readonly files: readonly string[] }
  | {
      readonly kind: 'active';
      readonly context: string;
      readonly contexts: number;
      readonly namespace: string;
      readonly user: string | undefined;
      readonly server: string | undefined;
      readonly files: readonly string[];
    };

/** Options of `ContextSession`. */
export interface ContextSessionOptions {
  readonly model: ClusterModel;
  readonly memory: ContextMemory;
  readonly log: Logger;
  readonly homeDir: string;
  /** Watch the kubeconfig files (off in tests that do not need it). */
  readonly watchFiles?: boolean;
}

/** The inputs that come from settings and the environment. */
export type ContextSessionInputs = Omit<KubeconfigPathInputs, 'homeDir'>;

/** Keeps the cluster model on the right context of the right kubeconfig. */
export class ContextSession implements Disposable {
  private inputs: ContextSessionInputs = {};
  /** A `KUBECONFIG`-style path list another tool selected (see `followKubeconfig`). */
  private followed: string | undefined;
  private loaded: LoadedKubeconfig | undefined;
  private watcher: KubeconfigWatcher | undefined;
  private watchedPaths = '';
  private runningFingerprint: string | undefined;
  private currentStatus: KubeconfigStatus = { kind: 'loading' };
  private readonly statusEmitter = new Emitter<KubeconfigStatus>();
  /** Fires after every reload that changed the status. */
  readonly onDidChangeStatus: Event<KubeconfigStatus> = this.statusEmitter.event;

  constructor(private readonly options: ContextSessionOptions) {}

  /** The current status. */
  get status(): KubeconfigStatus {
    return this.currentStatus;
  }

  /** The kubeconfig files in use (after `configure`). */
  get paths(): readonly string[] {
    return resolveKubeconfigPaths(this.pathInputs()).paths;
  }

  /** Sets the inputs (setting, KUBECONFIG, workspace folder) and reloads. */
  configure(inputs: ContextSessionInputs): void {
    this.inputs = inputs;
    this.reload();
  }

  /**
   * Follows the kubeconfig another tool selects (the Kubernetes extension's): its path list takes
   * the place of `KUBECONFIG` and ~/.kube/config, while the `kubeNet.kubeconfig` setting still
   * wins. `undefined` stops following. Reloads when the list changed.
   */
  followKubeconfig(paths: string | undefined): void {
    if (paths === this.followed) {
      return;
    }
    this.followed = paths;
    this.reload();
  }

  private pathInputs(): KubeconfigPathInputs {
    return {
      ...this.inputs,
      ...(this.followed === undefined ? {} : { kubeconfigEnv: this.followed }),
      homeDir: this.options.homeDir,
    };
  }

  /**
   * Reads the kubeconfig again and restarts the model if the chosen context, its cluster or its
   * user changed, or if `force` is set, or if the model is in an error state (the user may
   * have fixed the cause).
   */
  reload(force = false): void {
    const { paths, source } = resolveKubeconfigPaths(this.pathInputs());
    this.aimWatcher(paths);
    let loaded: LoadedKubeconfig;
    try {
      loaded = loadKubeconfig(paths);
    } catch (error) {
      this.loaded = undefined;
      this.runningFingerprint = undefined;
      if (error instanceof KubeconfigError && error.code === 'noConfig') {
        this.options.log.info(`[Kubeconfig] no kubeconfig (${source}): ${paths.join(', ')}`);
        this.options.model.stop({ kind: 'noConfig', message: error.message, detail: paths.join('\n') });
        this.setStatus({ kind: 'noConfig', paths, source });
      } else {
        const message = error instanceof Error ? error.message : String(error);
        this.options.log.warn(`[Kubeconfig] ${message}`);
        this.options.model.stop({ kind: 'noConfig', message, detail: paths.join('\n') });
        this.setStatus({ kind: 'invalidConfig', message, paths });
      }
      return;
    }
    this.loaded = loaded;
    for (const warning of loaded.warnings) {
      this.options.log.warn(`[Kubeconfig] ${warning}`);
    }
    const names = loaded.config.getContexts().map((context) => context.name);
    const chosen = chooseContext(names, loaded.currentContext, this.options.memory.get());
    if (chosen === undefined) {
      this.runningFingerprint = undefined;
      this.options.log.info(`[Kubeconfig] no current context among ${names.length} contexts`);
      this.options.model.stop();
      this.setStatus({ kind: 'noContext', contexts: names.length, files: loaded.files });
      return;
    }

    let target: KubeConfig;
    try {
      target = configForContext(loaded.config, chosen);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.runningFingerprint = undefined;
      this.options.log.warn(`[Kubeconfig] ${message}`);
      this.options.model.stop({ kind: 'noConfig', message, detail: loaded.files.join('\n') });
      this.setStatus({ kind: 'invalidConfig', message, paths: loaded.files });
      return;
    }

    const fingerprint = `${loaded.files.join('\n')}\n${contextFingerprint(loaded.config, chosen)}`;
    const modelState = this.options.model.state.phase;
    if (force || fingerprint !== this.runningFingerprint || modelState === 'error' || modelState === 'idle') {
      this.runningFingerprint = fingerprint;
      this.options.log.info(`[Kubeconfig] using context "${chosen}" from ${loaded.files.join(', ')}`);
      this.options.model.start({ kubeConfig: target, contextName: chosen });
    }
    const context = target.getContextObject(chosen);
    this.setStatus({
      kind: 'active',
      context: chosen,
      contexts: names.length,
      namespace: contextNamespace(target),
      user: context?.user,
      server: target.getCurrentCluster()?.server,
      files: loaded.files,
    });
  }

  /** The contexts of the loaded kubeconfig. */
  contexts(): ContextSummary[] {
    return this.loaded === undefined ? [] : listContexts(this.loaded.config);
  }

  /** The kubeconfig's own current-context. */
  get fileCurrentContext(): string | undefined {
    return this.loaded?.currentContext;
  }

  /**
   * Shows `contextName` from now on in this workspace (the kubeconfig file is not changed).
   * Choosing the file's own current-context forgets the override.
   */
  async switchContext(contextName: string): Promise<void> {
    const loaded = this.loaded;
    if (loaded === undefined || loaded.config.getContextObject(contextName) === null) {
      throw new KubeconfigError('noContext', `Context "${contextName}" is not defined in the kubeconfig`);
    }
    await this.options.memory.set(
      contextName === loaded.currentContext ? undefined : { context: contextName, fileCurrentContext: loaded.currentContext },
    );
    this.reload(true);
  }

  /**
   * The kubeconfig of the running session (current context set), for features that call the
   * API themselves; undefined when no context is active.
   */
  kubeConfig(): KubeConfig | undefined {
    return this.options.model.target?.kubeConfig;
  }

  private aimWatcher(paths: readonly string[]): void {
    if (this.options.watchFiles === false) {
      return;
    }
    const key = paths.join('\n');
    if (key === this.watchedPaths && this.watcher !== undefined) {
      return;
    }
    this.watcher?.dispose();
    this.watchedPaths = key;
    this.watcher = new KubeconfigWatcher(
      paths,
      () => {
        this.options.log.info('[Kubeconfig] kubeconfig changed on disk; reloading');
        this.reload();
      },
      { log: taggedLogger(this.options.log, 'Kubeconfig') },
    );
  }

  private setStatus(status: KubeconfigStatus): void {
    const changed = JSON.stringify(status) !== JSON.stringify(this.currentStatus);
    this.currentStatus = status;
    if (changed) {
      this.statusEmitter.fire(status, (error) => this.options.log.error(`[Kubeconfig] status listener failed: ${String(error)}`));
    }
  }

  dispose(): void {
    this.watcher?.dispose();
    this.watcher = undefined;
    this.statusEmitter.dispose();
  }
}

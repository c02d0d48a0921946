/**
 * The debug pods of this window: one `DebugPodManager` per cluster context (a new one when the
 * context changes; the old one is disposed, which deletes its pods), the consent modal
 * (remembered per cluster for the session), the start-up sweep of expired pods, the status bar
 * item, and the bounded clean-up on deactivate.
 */

import * as vscode from 'vscode';

import type { KubeConfig } from '@kubernetes/client-node';

import { createDiagnosticContext } from '../../diagnostics/context.js';
import type { DiagnosticContext } from '../../diagnostics/context.js';
import type { ClusterModel } from '../../kube/clusterModel.js';
import { NotConnectedError } from '../../kube/errors.js';
import { DebugPodManager } from '../../node/debugPodManager.js';
import type { ConsentRequest, DebugPodSettings } from '../../node/debugPodManager.js';
import { taggedLogger } from '../../node/logger.js';
import { NodeExec } from '../../node/nodeExec.js';
import { DebugPodNodeRunner } from '../../node/nodeRunner.js';
import { commandIds, contextKeys, statusBarIds } from '../commandIds.js';
import { plainText } from '../markdown.js';
import { localizedPrivileges } from './coreText.js';

/** Longest time deactivation waits for the debug pods to be deleted. */
const disposeBoundMs = 12_000;

/** The settings section of the debug pod (`kubeNet.debugPod.*`). */
export const debugPodSettingsSection = 'kubeNet.debugPod';

/** Reads `kubeNet.debugPod.*` now (called for every new pod, so changes apply to the next one). */
export function readDebugPodSettings(): Partial<DebugPodSettings> {
  const configuration = vscode.workspace.getConfiguration(debugPodSettingsSection);
  const settings: { -readonly [K in keyof DebugPodSettings]?: DebugPodSettings[K] } = {};
  const image = configuration.get<unknown>('image');
  if (typeof image === 'string' && image.trim() !== '') {
    settings.image = image.trim();
  }
  const namespace = configuration.get<unknown>('namespace');
  if (typeof namespace === 'string' && namespace.trim() !== '') {
    settings.namespace = namespace.trim();
  }
  const secrets = configuration.get<unknown>('imagePullSecrets');
  if (Array.isArray(secrets)) {
    settings.imagePullSecrets = secrets.filter((entry): entry is string => typeof entry === 'string' && entry.trim() !== '').map((entry) => entry.trim());
  }
  const lifetime = configuration.get<unknown>('lifetimeSeconds');
  if (typeof lifetime === 'number' && Number.isFinite(lifetime)) {
    settings.lifetimeSeconds = lifetime;
  }
  const idle = configuration.get<unknown>('idleTimeoutSeconds');
  if (typeof idle === 'number' && Number.isFinite(idle)) {
    settings.idleTimeoutSeconds = idle;
  }
  return settings;
}

/** What the diagnostic commands use for the cluster in view. */
export interface ClusterTools {
  readonly contextName: string;
  readonly server: string;
  readonly manager: DebugPodManager;
  readonly nodeExec: NodeExec;
  readonly runner: DebugPodNodeRunner;
  readonly context: DiagnosticContext;
}

interface Current extends ClusterTools {
  readonly key: string;
  readonly countSubscription: { dispose(): void };
}

/** Owns the debug pod managers of this window. */
export class DebugPods implements vscode.Disposable {
  private current: Current | undefined;
  /** API server URLs the user allowed debug pods on, for this session. */
  private readonly consented = new Set<string>();
  /** Servers swept for expired pods already in this session. */
  private readonly swept = new Set<string>();
  /** Managers being disposed (context switched away); deactivation waits for them too. */
  private readonly retiring = new Set<Promise<void>>();
  private readonly statusItem: vscode.StatusBarItem;
  private readonly subscriptions: vscode.Disposable[] = [];
  private disposing: Promise<void> | undefined;

  constructor(
    private readonly model: ClusterModel,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.statusItem = vscode.window.createStatusBarItem(statusBarIds.debugPods, vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = vscode.l10n.t('Kubernetes Network debug pods');
    this.statusItem.command = commandIds.removeDebugPods;
    this.subscriptions.push(this.statusItem, model.onDidChangeState(() => this.sync()));
    this.updateStatus();
  }

  /**
   * Follows the model's target: a different context (or server, or user) gets a new manager,
   * and the old one is disposed, deleting its pods. A cluster is swept for expired debug pods
   * the first time it is seen.
   */
  sync(): void {
    if (this.disposing !== undefined) {
      return;
    }
    const target = this.model.target;
    if (target === undefined) {
      // Keep the manager: its pods are removed when idle, and a reconnect reuses them.
      return;
    }
    const key = targetKey(target.kubeConfig, target.contextName);
    if (this.current?.key === key) {
      return;
    }
    this.retire();
    this.current = this.create(target.kubeConfig, target.contextName, key);
    this.updateStatus();
  }

  /** The tools for the cluster in view; throws `NotConnectedError` without one. */
  tools(): ClusterTools {
    this.sync();
    if (this.current === undefined || this.disposing !== undefined) {
      throw new NotConnectedError();
    }
    return this.current;
  }

  /** Deletes this window's debug pods on the cluster in view; resolves to how many went. */
  async removeAll(): Promise<number> {
    const current = this.current;
    if (current === undefined) {
      return 0;
    }
    return current.manager.removeAll();
  }

  /** How many debug pods this window has alive on the cluster in view. */
  get count(): number {
    return this.current?.manager.count ?? 0;
  }

  /** Deletes every debug pod of this window (bounded in time); later calls return the same promise. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      this.retire();
      for (const subscription of this.subscriptions.splice(0)) {
        subscription.dispose();
      }
      let timer: NodeJS.Timeout | undefined;
      const bound = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), disposeBoundMs);
      });
      const outcome = await Promise.race([Promise.allSettled([...this.retiring]).then(() => 'done' as const), bound]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        this.log.warn('[DebugPods] deleting the debug pods took too long; they stop by themselves at their deadline');
      }
    })();
    return this.disposing;
  }

  private create(kubeConfig: KubeConfig, contextName: string, key: string): Current {
    const server = kubeConfig.getCurrentCluster()?.server ?? '';
    const manager = new DebugPodManager({
      kubeConfig,
      consent: (request) => this.consent(request),
      settings: readDebugPodSettings,
      logger: this.log,
    });
    const nodeExec = new NodeExec(kubeConfig, taggedLogger(this.log, 'NodeExec'));
    const runner = new DebugPodNodeRunner(manager, nodeExec);
    const context = createDiagnosticContext(kubeConfig, runner, this.log);
    const countSubscription = manager.onDidChangeCount(() => this.updateStatus());
    this.log.info(`[DebugPods] debug pods for context "${contextName}" (owner ${manager.ownerId})`);
    if (!this.swept.has(server)) {
      this.swept.add(server);
      manager.sweepExpired().then(
        (result) => {
          for (const pod of result.deleted) {
            this.log.info(`[DebugPods] swept ${pod.namespace}/${pod.name}: ${pod.reason}`);
          }
        },
        (error: unknown) => this.log.error(`[DebugPods] sweeping expired debug pods failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    return { key, contextName, server, manager, nodeExec, runner, context, countSubscription };
  }

  /** Disposes the current manager in the background (its pods are deleted). */
  private retire(): void {
    const old = this.current;
    if (old === undefined) {
      return;
    }
    this.current = undefined;
    old.countSubscription.dispose();
    this.log.info(`[DebugPods] leaving context "${old.contextName}": removing its debug pods`);
    const disposal = old.manager.dispose().catch((error: unknown) => {
      this.log.error(`[DebugPods] removing the debug pods of "${old.contextName}" failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.retiring.add(disposal);
    void disposal.finally(() => this.retiring.delete(disposal));
    this.updateStatus();
  }

  private async consent(request: ConsentRequest): Promise<boolean> {
    if (request.server !== '' && this.consented.has(request.server)) {
      return true;
    }
    const minutes = Math.round(request.lifetimeSeconds / 60);
    const detail = [
      vscode.l10n.t('Context: {0}', plainText(request.context)),
      vscode.l10n.t('Cluster: {0}', plainText(request.server)),
      vscode.l10n.t('Node: {0}', plainText(request.nodeName)),
      vscode.l10n.t('Namespace: {0}', plainText(request.namespace)),
      vscode.l10n.t('Image: {0}', plainText(request.image)),
      vscode.l10n.t('Lifetime: at most {0} minutes, then it stops by itself; removed earlier when idle, on "Remove Debug Pods" and when VS Code closes.', minutes),
      '',
      vscode.l10n.t('The pod:'),
      ...localizedPrivileges(request.privileges, (message, ...args) => vscode.l10n.t(message, ...args)).map((privilege) => `• ${privilege}`),
      '',
      vscode.l10n.t('This is asked once per cluster in this session. Settings: kubeNet.debugPod.*'),
    ].join('\n');
    const create = vscode.l10n.t('Create Debug Pod');
    this.log.info(`[DebugPods] asking for consent: node ${request.nodeName}, namespace ${request.namespace}, image ${request.image}`);
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('Create a privileged debug pod on node {0}?', plainText(request.nodeName)),
      { modal: true, detail },
      create,
    );
    if (choice !== create) {
      this.log.info('[DebugPods] consent refused');
      return false;
    }
    if (request.server !== '') {
      this.consented.add(request.server);
    }
    return true;
  }

  private updateStatus(): void {
    const pods = this.current?.manager.pods() ?? [];
    void vscode.commands.executeCommand('setContext', contextKeys.hasDebugPods, pods.length > 0);
    if (pods.length === 0) {
      this.statusItem.hide();
      return;
    }
    this.statusItem.text = pods.length === 1 ? vscode.l10n.t('$(debug) 1 debug pod') : vscode.l10n.t('$(debug) {0} debug pods', pods.length);
    const lines = pods.map((pod) => `${plainText(pod.nodeName)} → ${plainText(`${pod.namespace}/${pod.podName}`)}`);
    this.statusItem.tooltip = [vscode.l10n.t('Debug pods of this window:'), ...lines, '', vscode.l10n.t('Click to remove them.')].join('\n');
    this.statusItem.show();
  }
}

function targetKey(kubeConfig: KubeConfig, contextName: string): string {
  return [contextName, kubeConfig.getCurrentCluster()?.server ?? '', kubeConfig.getCurrentUser()?.name ?? ''].join('\n');
}

/**
 * The "Cluster" tree view: a `TreeDataProvider` over the cluster model. Nodes and their
 * presentation come from `clusterNodes.ts`; this file only adapts them to VS Code and turns
 * model change events into the narrowest `onDidChangeTreeData` events it can.
 */

import * as vscode from 'vscode';

import type { ClusterChange } from '../kube/clusterIndex.js';
import type { ClusterModel, ConnectionState } from '../kube/clusterModel.js';
import type { ContextSession, KubeconfigStatus } from '../kube/contextSession.js';
import type { Logger } from '../util/log.js';
import { epochMilliseconds } from '../util/timing.js';
import { ClusterTreeBuilder } from './clusterNodes.js';
import type { ClusterTreeNode, ClusterTreeSettings, Presentation, Translate } from './clusterNodes.js';
import { contextKeys, viewIds } from './commandIds.js';

/** Above this many namespaces changed at once, refresh the whole list instead of each one. */
const maxSingleRefreshes = 50;

const t: Translate = (message, ...args) => vscode.l10n.t(message, ...args);

/** Reads the tree settings. */
export function readTreeSettings(): ClusterTreeSettings {
  const configuration = vscode.workspace.getConfiguration('kubeNet');
  return { hideSystemNamespaces: configuration.get<boolean>('namespaces.hideSystem', false) };
}

/** Provides the nodes of the "Cluster" view. */
export class ClusterTreeProvider implements vscode.TreeDataProvider<ClusterTreeNode>, vscode.Disposable {
  private readonly changeEmitter = new vscode.EventEmitter<ClusterTreeNode | undefined>();
  private firstClusterRows: ((rows: number) => void) | undefined;
  readonly onDidChangeTreeData = this.changeEmitter.event;
  readonly builder: ClusterTreeBuilder;

  constructor(
    private readonly model: ClusterModel,
    session: ContextSession,
  ) {
    this.builder = new ClusterTreeBuilder(model, t, readTreeSettings(), () => {
      const status = session.status;
      return status.kind === 'active'
        ? { user: status.user, namespace: status.namespace, contextCount: status.contexts }
        : { contextCount: status.kind === 'noContext' ? status.contexts : 0 };
    });
  }

  getTreeItem(element: ClusterTreeNode): vscode.TreeItem {
    return toTreeItem(element.id, element.present(t));
  }

  getChildren(element?: ClusterTreeNode): ClusterTreeNode[] {
    // Never throws and never shows a pop-up: problems are nodes (see clusterNodes.ts).
    const children = this.builder.children(element);
    // Below the context row, with the model ready: the rows now show the cluster's objects.
    if (this.firstClusterRows !== undefined && element !== undefined && children.length > 0 && this.model.state.phase === 'ready') {
      const listener = this.firstClusterRows;
      this.firstClusterRows = undefined;
      listener(children.length);
    }
    return children;
  }

  /**
   * Calls `listener` once, the first time the tree hands VS Code rows of a loaded cluster (for
   * the activation figure of `npm run bench`).
   */
  onFirstClusterRows(listener: (rows: number) => void): void {
    this.firstClusterRows = listener;
  }

  getParent(element: ClusterTreeNode): ClusterTreeNode | undefined {
    return element.parent;
  }

  /** Refreshes everything (state changed, context switched, settings changed). */
  refreshAll(): void {
    this.changeEmitter.fire(undefined);
  }

  /** Refreshes only what `change` touched. */
  refreshChange(change: ClusterChange): void {
    if (this.model.state.phase !== 'ready') {
      return;
    }
    const context = this.builder.currentContextNode;
    if (context === undefined || change.all) {
      this.refreshAll();
      return;
    }
    if (change.namespaceList || change.namespaces.size > maxSingleRefreshes) {
      // The context node's children are the namespace list; cached namespace nodes keep
      // their identity, so expanded namespaces stay expanded.
      this.changeEmitter.fire(context);
      return;
    }
    if (change.nodes && this.builder.currentNodesFolder !== undefined) {
      this.changeEmitter.fire(this.builder.currentNodesFolder);
    }
    for (const namespace of change.namespaces) {
      const node = this.builder.namespaceNode(namespace);
      if (node !== undefined) {
        this.changeEmitter.fire(node);
      }
    }
  }

  /** Applies new settings. */
  updateSettings(settings: ClusterTreeSettings): void {
    this.builder.updateSettings(settings);
    this.refreshAll();
  }

  dispose(): void {
    this.changeEmitter.dispose();
  }
}

function toTreeItem(id: string, presentation: Presentation): vscode.TreeItem {
  const collapsible = {
    none: vscode.TreeItemCollapsibleState.None,
    collapsed: vscode.TreeItemCollapsibleState.Collapsed,
    expanded: vscode.TreeItemCollapsibleState.Expanded,
  }[presentation.collapsible];
  const item = new vscode.TreeItem(presentation.label, collapsible);
  item.id = id;
  if (presentation.description !== undefined) {
    item.description = presentation.description;
  }
  if (presentation.tooltip !== undefined) {
    // Cluster text is escaped in clusterNodes.ts; never trust it with commands or HTML.
    const tooltip = new vscode.MarkdownString(presentation.tooltip, false);
    tooltip.isTrusted = false;
    tooltip.supportHtml = false;
    item.tooltip = tooltip;
  }
  if (presentation.icon !== undefined) {
    item.iconPath =
      presentation.icon.color === undefined
        ? new vscode.ThemeIcon(presentation.icon.id)
        : new vscode.ThemeIcon(presentation.icon.id, new vscode.ThemeColor(presentation.icon.color));
  }
  item.contextValue = presentation.contextValue;
  if (presentation.command !== undefined) {
    item.command = {
      command: presentation.command.command,
      title: presentation.command.title,
      ...(presentation.command.arguments === undefined ? {} : { arguments: [...presentation.command.arguments] }),
    };
  }
  return item;
}

/** The state name used in the `kubeNet.state` context key. */
export function viewState(status: KubeconfigStatus, state: ConnectionState): string {
  if (status.kind !== 'active') {
    return status.kind;
  }
  return state.phase === 'idle' ? 'connecting' : state.phase;
}

/** Creates the view and keeps it in step with the model. */
export function registerClusterTree(
  model: ClusterModel,
  session: ContextSession,
  log: Logger,
  track: <T extends vscode.Disposable>(disposable: T) => T,
): { provider: ClusterTreeProvider; view: vscode.TreeView<ClusterTreeNode> } {
  const provider = track(new ClusterTreeProvider(model, session));
  const view = track(
    vscode.window.createTreeView(viewIds.cluster, { treeDataProvider: provider, showCollapseAll: true }),
  );
  provider.onFirstClusterRows((rows) => {
    // Epoch milliseconds, comparable with "[Timing] activate" of extension.ts.
    log.info(`[Timing] tree: first ${rows} rows of the loaded cluster at ${epochMilliseconds().toFixed(1)}`);
  });

  const updateChrome = (): void => {
    const status = session.status;
    const state = model.state;
    void vscode.commands.executeCommand('setContext', contextKeys.state, viewState(status, state));
    void vscode.commands.executeCommand(
      'setContext',
      contextKeys.hasManyContexts,
      (status.kind === 'active' || status.kind === 'noContext') && status.contexts > 1,
    );
    view.message = viewMessage(status, state);
  };

  track(
    model.onDidChangeState(() => {
      updateChrome();
      provider.refreshAll();
    }),
  );
  track(model.onDidChange((change) => provider.refreshChange(change)));
  track(
    session.onDidChangeStatus(() => {
      updateChrome();
      provider.refreshAll();
    }),
  );
  track(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('kubeNet.namespaces.hideSystem')) {
        log.info('[ClusterTree] namespace filter changed');
        provider.updateSettings(readTreeSettings());
      }
    }),
  );
  updateChrome();
  return { provider, view };
}

/** The line above the tree: stale data and limited access, which nodes alone do not say. */
function viewMessage(status: KubeconfigStatus, state: ConnectionState): string | undefined {
  if (status.kind === 'invalidConfig') {
    return vscode.l10n.t('The kubeconfig cannot be used: {0}', status.message);
  }
  if (state.phase !== 'ready') {
    return undefined;
  }
  if (state.lost !== undefined) {
    return vscode.l10n.t('Connection lost ({0}); showing the last known state and retrying.', state.lost.code ?? state.lost.message);
  }
  const limited = state.limitations.find((limitation) => limitation.namespace !== undefined);
  if (limited !== undefined && limited.namespace !== undefined) {
    return vscode.l10n.t('Limited to namespace {0}: listing {1} in all namespaces is not allowed.', limited.namespace, limited.resource);
  }
  return undefined;
}

/**
 * Composition root: builds the services and lets each feature register itself. `activate`
 * only wires; connecting to the cluster happens in the background.
 */

import * as os from 'node:os';

import * as vscode from 'vscode';

import { ClusterModel } from './kube/clusterModel.js';
import { ContextSession } from './kube/contextSession.js';
import type { ContextMemory } from './kube/contextSession.js';
import type { RememberedContext } from './kube/kubeconfig.js';
import { registerClusterCommands } from './features/clusterCommands.js';
import { registerClusterTree } from './features/clusterTree.js';
import { registerDataPlaneCommands } from './features/dataPlane/dataPlaneCommands.js';
import { registerLogCommand } from './features/commands.js';
import { DebugPods } from './features/diagnostics/debugPods.js';
import { registerDiagnosticCommands } from './features/diagnostics/diagnosticCommands.js';
import { registerKubernetesTools } from './features/kubernetesTools.js';
import { ReportPanels } from './features/reportPanel.js';
import { registerRulesLanguages } from './features/rules/index.js';
import type { ReportHandle, ShowReportOptions } from './features/reportPanel.js';
import { registerWalkthrough } from './features/walkthrough.js';
import type { Report } from './protocol/report.js';
import { epochMilliseconds } from './util/timing.js';

/** What features get: build them from these, never from globals. */
export interface ExtensionServices {
  readonly context: vscode.ExtensionContext;
  readonly log: vscode.LogOutputChannel;
  /** Adds a disposable to the extension's subscriptions and returns it. */
  readonly track: <T extends vscode.Disposable>(disposable: T) => T;
  readonly model: ClusterModel;
  readonly session: ContextSession;
  readonly reports: ReportPanels;
}

/** Returned from `activate` (for other extensions and end-to-end tests). */
export interface KubeNetApi {
  showReport(report: Report, options?: ShowReportOptions): ReportHandle;
}

const rememberedContextKey = 'kubeNet.rememberedContext';

let activeModel: ClusterModel | undefined;
let activeDebugPods: DebugPods | undefined;

export function activate(context: vscode.ExtensionContext): KubeNetApi {
  const activateStartedAt = epochMilliseconds();
  const log = vscode.window.createOutputChannel('Kubernetes Network Inspector', { log: true });
  context.subscriptions.push(log);
  // The one funnel for disposables.
  const track = <T extends vscode.Disposable>(disposable: T): T => {
    context.subscriptions.push(disposable);
    return disposable;
  };
  const version = (context.extension.packageJSON as { version?: unknown }).version;
  log.info(`[Extension] Kubernetes Network Inspector ${String(version)} activating (VS Code ${vscode.version}, Node ${process.versions.node})`);
  // With "[Timing] tree: first … rows" (clusterTree.ts): activation to the tree's first real rows.
  log.info(`[Timing] activate started at ${activateStartedAt.toFixed(1)}`);

  const model = track(new ClusterModel({ log }));
  activeModel = model;
  const session = track(
    new ContextSession({ model, memory: workspaceMemory(context.workspaceState), log, homeDir: os.homedir() }),
  );
  const reports = track(new ReportPanels(context.extensionUri, log));
  const services: ExtensionServices = { context, log, track, model, session, reports };

  registerLogCommand(services);
  registerClusterTree(model, session, log, track);
  registerClusterCommands(services);
  const debugPods = track(new DebugPods(model, log));
  activeDebugPods = debugPods;
  registerDiagnosticCommands({ ...services, debugPods });
  const rules = registerRulesLanguages(context, log);
  registerDataPlaneCommands({ ...services, extensionUri: context.extensionUri, debugPods, rules });
  registerKubernetesTools(services);
  registerWalkthrough(services);

  track(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('kubeNet.kubeconfig')) {
        log.info('[Extension] kubeNet.kubeconfig changed');
        session.configure(sessionInputs());
      }
    }),
  );

  // Reading the kubeconfig is quick; connecting runs in the background and is followed
  // through the model's state, so activation never waits on the cluster.
  try {
    session.configure(sessionInputs());
  } catch (error) {
    log.error(`[Extension] could not load the kubeconfig: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
  // Sweeps the cluster's expired debug pods in the background.
  debugPods.sync();

  return { showReport: (report, options) => reports.showReport(report, options) };
}

export async function deactivate(): Promise<void> {
  // Stop the watches at once; the subscriptions are disposed after this returns.
  activeModel?.dispose();
  activeModel = undefined;
  // Delete this window's debug pods (bounded; what is left stops at its deadline).
  const debugPods = activeDebugPods;
  activeDebugPods = undefined;
  await debugPods?.dispose();
}

function sessionInputs(): { setting: string | string[] | undefined; kubeconfigEnv: string | undefined; baseDir: string | undefined } {
  const configured = vscode.workspace.getConfiguration('kubeNet').get<unknown>('kubeconfig');
  let setting: string | string[] | undefined;
  if (typeof configured === 'string') {
    setting = configured;
  } else if (Array.isArray(configured)) {
    setting = configured.filter((entry): entry is string => typeof entry === 'string');
  }
  const folder = vscode.workspace.workspaceFolders?.find((candidate) => candidate.uri.scheme === 'file');
  return { setting, kubeconfigEnv: process.env.KUBECONFIG, baseDir: folder?.uri.fsPath };
}

function workspaceMemory(state: vscode.Memento): ContextMemory {
  return {
    get: () => {
      const value = state.get<unknown>(rememberedContextKey);
      if (typeof value !== 'object' || value === null) {
        return undefined;
      }
      const { context, fileCurrentContext } = value as Record<string, unknown>;
      if (typeof context !== 'string') {
        return undefined;
      }
      const remembered: RememberedContext = {
        context,
        fileCurrentContext: typeof fileCurrentContext === 'string' ? fileCurrentContext : undefined,
      };
      return remembered;
    },
    set: (value) => state.update(rememberedContextKey, value),
  };
}

/**
 * Commands of the cluster view: refresh, retry, switch context, copy pod IP, copy ClusterIP.
 */

import * as vscode from 'vscode';

import type { ClusterModel } from '../kube/clusterModel.js';
import type { ContextSession } from '../kube/contextSession.js';
import { summarizePod, summarizeService } from '../kube/objects.js';
import type { PodSummary, ServiceSummary } from '../kube/objects.js';
import { PodNode, ServiceNode } from './clusterNodes.js';
import { commandIds } from './commandIds.js';
import { registerCommand } from './commands.js';
import type { CommandServices } from './commands.js';
import { kubernetesToolsPod, kubernetesToolsService } from './kubernetesTools.js';
import { plainText } from './markdown.js';
import { pickPod, pickService } from './pickers.js';

/** What the cluster commands need. */
export interface ClusterCommandServices extends CommandServices {
  readonly model: ClusterModel;
  readonly session: ContextSession;
}

/** Registers the cluster view's commands. */
export function registerClusterCommands(services: ClusterCommandServices): void {
  const { model, session, log } = services;

  registerCommand(
    commandIds.refresh,
    () => {
      log.info('[Commands] refresh: reloading the kubeconfig and listing again');
      session.reload(true);
    },
    services,
  );

  registerCommand(
    commandIds.retry,
    () => {
      const state = model.state;
      if (session.status.kind !== 'active' || state.phase === 'idle') {
        session.reload(true);
      } else if (state.phase === 'ready' && state.lost === undefined) {
        vscode.window.setStatusBarMessage(vscode.l10n.t('Connected to {0}; nothing to retry.', plainText(state.context)), 3000);
      } else {
        model.retry();
      }
    },
    services,
  );

  registerCommand(commandIds.switchContext, () => switchContext(session), services);

  registerCommand(
    commandIds.copyPodIp,
    async (arg: unknown) => {
      const pod =
        arg instanceof PodNode
          ? latestPod(model, arg)
          : ((await kubernetesToolsPod(arg, model)) ?? (await pickPod(model, (candidate) => candidate.podIP !== undefined)));
      if (pod.podIP === undefined) {
        void vscode.window.showInformationMessage(
          vscode.l10n.t('Pod {0} has no IP address yet.', plainText(`${pod.namespace}/${pod.name}`)),
        );
        return;
      }
      await copy(pod.podIP);
    },
    services,
  );

  registerCommand(
    commandIds.copyClusterIp,
    async (arg: unknown) => {
      const service =
        arg instanceof ServiceNode
          ? latestService(model, arg)
          : ((await kubernetesToolsService(arg, model)) ?? (await pickService(model, (candidate) => candidate.clusterIP !== undefined)));
      if (service.clusterIP === undefined) {
        void vscode.window.showInformationMessage(
          vscode.l10n.t('Service {0} has no ClusterIP.', plainText(`${service.namespace}/${service.name}`)),
        );
        return;
      }
      await copy(service.clusterIP);
    },
    services,
  );
}

/** The pod as the model knows it now (the tree node may be a few moments old). */
function latestPod(model: ClusterModel, node: PodNode): PodSummary {
  const pod = model.index.pod(node.namespace, node.name);
  return pod === undefined ? node.summary : summarizePod(pod);
}

function latestService(model: ClusterModel, node: ServiceNode): ServiceSummary {
  const service = model.index.service(node.namespace, node.name);
  return service === undefined ? node.summary : summarizeService(service);
}

async function copy(text: string): Promise<void> {
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(vscode.l10n.t('Copied {0}', plainText(text)), 3000);
}

interface ContextPick extends vscode.QuickPickItem {
  readonly context: string;
}

async function switchContext(session: ContextSession): Promise<void> {
  const contexts = session.contexts();
  if (contexts.length === 0) {
    const openSettings = vscode.l10n.t('Open Settings');
    const choice = await vscode.window.showWarningMessage(
      vscode.l10n.t('No contexts found in the kubeconfig ({0}).', session.paths.join(', ')),
      openSettings,
    );
    if (choice === openSettings) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'kubeNet.kubeconfig');
    }
    return;
  }
  const status = session.status;
  const current = status.kind === 'active' ? status.context : undefined;
  const items = contexts.map<ContextPick>((context) => ({
    label: plainText(context.name),
    description: plainText(
      [context.name === current ? vscode.l10n.t('(current)') : undefined, context.server].filter((part) => part !== undefined).join(' '),
    ),
    detail: plainText(
      [
        vscode.l10n.t('cluster {0}', context.cluster),
        vscode.l10n.t('user {0}', context.user),
        vscode.l10n.t('namespace {0}', context.namespace ?? 'default'),
        context.name === session.fileCurrentContext ? vscode.l10n.t('kubeconfig current-context') : undefined,
      ]
        .filter((part) => part !== undefined)
        .join(' · '),
    ),
    picked: context.name === current,
    context: context.name,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Switch Context'),
    placeHolder: vscode.l10n.t('Choose the context to show (the kubeconfig file is not changed)'),
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (picked === undefined || picked.context === current) {
    return;
  }
  await session.switchContext(picked.context);
}

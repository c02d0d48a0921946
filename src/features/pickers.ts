/**
 * Quick picks over the cluster model (namespace → pod, namespace → service), for commands run
 * from the palette instead of the tree. Other features reuse them.
 */

import * as vscode from 'vscode';

import type { ClusterModel } from '../kube/clusterModel.js';
import { CancelledError, NotConnectedError } from '../kube/errors.js';
import { formatServicePort, summarizeNode, summarizePod, summarizeService } from '../kube/objects.js';
import type { NodeSummary, PodSummary, ServiceSummary } from '../kube/objects.js';
import { plainText } from './markdown.js';

interface Picked<T> extends vscode.QuickPickItem {
  readonly value: T;
}

/** Throws `NotConnectedError` unless the model is ready. */
export function requireReady(model: ClusterModel): void {
  if (model.state.phase !== 'ready') {
    throw new NotConnectedError();
  }
}

/**
 * Asks for a namespace (among those that have a pod or service matching `hasItems`, when
 * given). Throws `CancelledError` when dismissed.
 */
export async function pickNamespace(model: ClusterModel, hasItems?: (namespace: string) => boolean): Promise<string> {
  requireReady(model);
  const items = model.index
    .namespaceNames()
    .filter((namespace) => hasItems === undefined || hasItems(namespace))
    .map<Picked<string>>((namespace) => ({
      label: plainText(namespace),
      description: vscode.l10n.t('pods: {0} · services: {1}', model.index.podCount(namespace), model.index.serviceCount(namespace)),
      value: namespace,
    }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Namespace'),
    placeHolder: vscode.l10n.t('Choose a namespace'),
    matchOnDescription: false,
  });
  if (picked === undefined) {
    throw new CancelledError();
  }
  return picked.value;
}

/** Asks for a namespace, then a pod in it (optionally only pods matching `filter`). */
export async function pickPod(model: ClusterModel, filter?: (pod: PodSummary) => boolean): Promise<PodSummary> {
  const accept = filter ?? (() => true);
  const namespace = await pickNamespace(model, (candidate) =>
    model.index.pods(candidate).some((pod) => accept(summarizePod(pod))),
  );
  const items = model.index
    .pods(namespace)
    .map(summarizePod)
    .filter(accept)
    .map<Picked<PodSummary>>((pod) => ({
      label: plainText(pod.name),
      description: plainText([pod.status, pod.podIP, pod.nodeName].filter((part) => part !== undefined).join(' · ')),
      value: pod,
    }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Pod in {0}', namespace),
    placeHolder: vscode.l10n.t('Choose a pod'),
    matchOnDescription: true,
  });
  if (picked === undefined) {
    throw new CancelledError();
  }
  return picked.value;
}

/** Asks for a namespace, then a service in it (optionally only services matching `filter`). */
export async function pickService(model: ClusterModel, filter?: (service: ServiceSummary) => boolean): Promise<ServiceSummary> {
  const accept = filter ?? (() => true);
  const namespace = await pickNamespace(model, (candidate) =>
    model.index.services(candidate).some((service) => accept(summarizeService(service))),
  );
  const items = model.index
    .services(namespace)
    .map(summarizeService)
    .filter(accept)
    .map<Picked<ServiceSummary>>((service) => ({
      label: plainText(service.name),
      description: plainText(
        [service.type, service.clusterIP, service.ports.map(formatServicePort).join(', ')].filter((part) => part).join(' · '),
      ),
      value: service,
    }));
  const picked = await vscode.window.showQuickPick(items, {
    title: vscode.l10n.t('Service in {0}', namespace),
    placeHolder: vscode.l10n.t('Choose a service'),
    matchOnDescription: true,
  });
  if (picked === undefined) {
    throw new CancelledError();
  }
  return picked.value;
}

/** How {@link pickNode} asks. */
export interface PickNodeOptions {
  readonly title?: string;
  readonly placeHolder?: string;
  /** Only nodes matching this (default: all). */
  readonly filter?: (node: NodeSummary) => boolean;
  /** A line under a node's name (cluster text is made plain here). */
  readonly detail?: (node: NodeSummary) => string | undefined;
}

/** Asks for a node, Ready nodes first. Throws `CancelledError` when dismissed. */
export async function pickNode(model: ClusterModel, options: PickNodeOptions = {}): Promise<NodeSummary> {
  requireReady(model);
  const accept = options.filter ?? (() => true);
  const nodes = model.index
    .nodes()
    .map(summarizeNode)
    .filter(accept)
    .sort((a, b) => Number(b.ready === true) - Number(a.ready === true) || a.name.localeCompare(b.name));
  const items = nodes.map<Picked<NodeSummary>>((node) => {
    const detail = options.detail?.(node);
    return {
      label: plainText(node.name),
      description: plainText([node.internalIP, node.ready === true ? 'Ready' : node.ready === false ? 'NotReady' : 'Unknown', node.roles.join(',') || undefined].filter((part) => part !== undefined).join(' · ')),
      ...(detail === undefined ? {} : { detail: plainText(detail) }),
      value: node,
    };
  });
  const picked = await vscode.window.showQuickPick(items, {
    title: options.title ?? vscode.l10n.t('Node'),
    placeHolder: options.placeHolder ?? vscode.l10n.t('Choose a node'),
    matchOnDescription: true,
  });
  if (picked === undefined) {
    throw new CancelledError();
  }
  return picked.value;
}

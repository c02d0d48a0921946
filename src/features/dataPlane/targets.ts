/**
 * What a data-plane command is for, narrowed from whatever VS Code passes: a node, pod or
 * service of our tree, one of the Kubernetes extension's Cluster Explorer, the plain object a
 * report button passes (`{ node }`, `{ namespace, name, node?, pickNode? }`), or nothing (then
 * a quick pick). Names from buttons are validated like names from the user.
 */

import * as vscode from 'vscode';

import { isValidNodeName } from '../../diagnostics/cluster.js';
import type { ServiceRef } from '../../diagnostics/cluster.js';
import type { ClusterModel } from '../../kube/clusterModel.js';
import { CancelledError } from '../../kube/errors.js';
import { summarizePod, summarizeService } from '../../kube/objects.js';
import type { NodeSummary, PodSummary, ServiceSummary } from '../../kube/objects.js';
import { NodeItemNode, PodNode, ServiceNode } from '../clusterNodes.js';
import { kubernetesToolsNode, kubernetesToolsPod, kubernetesToolsService } from '../kubernetesTools.js';
import { plainText } from '../markdown.js';
import { pickNode, pickPod, pickService, requireReady } from '../pickers.js';

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const podName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof vscode.Uri);
}

/** `{ node }` from a report button, when valid. */
export function nodeOfRecord(value: unknown): string | undefined {
  if (!isRecord(value) || value.namespace !== undefined || typeof value.node !== 'string') {
    return undefined;
  }
  return isValidNodeName(value.node) ? value.node : undefined;
}

/** `{ namespace, name, node?, pickNode? }` from a report button, when valid. */
export function objectOfRecord(value: unknown): { namespace: string; name: string; node: string | undefined; pickNode: boolean; kind: unknown } | undefined {
  if (!isRecord(value) || typeof value.namespace !== 'string' || typeof value.name !== 'string') {
    return undefined;
  }
  if (!dnsLabel.test(value.namespace) || !podName.test(value.name)) {
    return undefined;
  }
  const node = typeof value.node === 'string' && isValidNodeName(value.node) ? value.node : undefined;
  return { namespace: value.namespace, name: value.name, node, pickNode: value.pickNode === true, kind: value.kind };
}

/** The nodes a service's pods run on (from the model: pods matching its selector). */
export function nodesOfService(model: ClusterModel, service: Pick<ServiceSummary, 'namespace' | 'selector'>): Map<string, string[]> {
  const selector = Object.entries(service.selector);
  const byNode = new Map<string, string[]>();
  if (selector.length === 0) {
    return byNode;
  }
  for (const pod of model.index.pods(service.namespace)) {
    const labels = pod.metadata?.labels ?? {};
    const node = pod.spec?.nodeName;
    if (node === undefined || pod.status?.phase !== 'Running' || !selector.every(([key, value]) => labels[key] === value)) {
      continue;
    }
    const names = byNode.get(node) ?? [];
    names.push(pod.metadata?.name ?? '');
    byNode.set(node, names);
  }
  return byNode;
}

/** The node a command is for. */
export async function nodeArgument(arg: unknown, model: ClusterModel, title: string): Promise<string> {
  if (arg instanceof NodeItemNode) {
    return arg.name;
  }
  const fromRecord = nodeOfRecord(arg);
  if (fromRecord !== undefined) {
    return fromRecord;
  }
  if (typeof arg === 'string' && isValidNodeName(arg)) {
    return arg;
  }
  const explorerNode = await kubernetesToolsNode(arg, model);
  if (explorerNode !== undefined) {
    return explorerNode.name;
  }
  return (await pickNode(model, { title })).name;
}

/** A service a command is for, with the node a button named (or asks for one). */
export interface ServiceArgument {
  readonly ref: ServiceRef;
  /** From the model; undefined when the model does not have it (a button after a reload). */
  readonly summary: ServiceSummary | undefined;
  readonly node: string | undefined;
  /** The button asked to choose the node. */
  readonly pickNode: boolean;
}

/** The service a command is for (only services with a ClusterIP from the pickers). */
export async function serviceArgument(arg: unknown, model: ClusterModel): Promise<ServiceArgument> {
  if (arg instanceof ServiceNode) {
    const latest = model.index.service(arg.namespace, arg.name);
    const summary = latest === undefined ? arg.summary : summarizeService(latest);
    return { ref: { namespace: summary.namespace, name: summary.name }, summary, node: undefined, pickNode: false };
  }
  const fromRecord = objectOfRecord(arg);
  if (fromRecord !== undefined) {
    const latest = model.index.service(fromRecord.namespace, fromRecord.name);
    return {
      ref: { namespace: fromRecord.namespace, name: fromRecord.name },
      summary: latest === undefined ? undefined : summarizeService(latest),
      node: fromRecord.node,
      pickNode: fromRecord.pickNode,
    };
  }
  const explorerService = await kubernetesToolsService(arg, model);
  const summary = explorerService ?? (await pickService(model, (service) => service.clusterIP !== undefined));
  return { ref: { namespace: summary.namespace, name: summary.name }, summary, node: undefined, pickNode: false };
}

/** Asks for the node to look at a service from; nodes running its pods are marked. */
export async function pickNodeForService(model: ClusterModel, service: ServiceArgument, title: string, placeHolder: string): Promise<string> {
  const withPods = service.summary === undefined ? new Map<string, string[]>() : nodesOfService(model, service.summary);
  const node = await pickNode(model, {
    title,
    placeHolder,
    detail: (candidate: NodeSummary) => {
      const pods = withPods.get(candidate.name);
      return pods === undefined ? undefined : vscode.l10n.t('runs {0}', pods.slice(0, 4).join(', ') + (pods.length > 4 ? ', …' : ''));
    },
  });
  return node.name;
}

/** The first Ready node of the model (by name), for a default. */
export function firstReadyNode(model: ClusterModel): string | undefined {
  requireReady(model);
  const names = model.index
    .nodes()
    .filter((node) => (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True'))
    .map((node) => node.metadata?.name ?? '')
    .filter((name) => name !== '')
    .sort();
  return names[0];
}

/** What "Show Conntrack" is for. */
export type ConntrackArgument =
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'pod'; readonly pod: PodSummary | { readonly namespace: string; readonly name: string; readonly nodeName: undefined } }
  | { readonly kind: 'service'; readonly service: ServiceArgument };

interface KindPick extends vscode.QuickPickItem {
  readonly target: 'node' | 'pod' | 'service';
}

/**
 * Narrows "Show Conntrack"'s argument: a node, a pod (its IP), a service (its ClusterIP). From
 * the palette it asks which of the three first.
 */
export async function conntrackArgument(arg: unknown, model: ClusterModel): Promise<ConntrackArgument> {
  if (arg instanceof NodeItemNode) {
    return { kind: 'node', node: arg.name };
  }
  if (arg instanceof PodNode) {
    const latest = model.index.pod(arg.namespace, arg.name);
    return { kind: 'pod', pod: latest === undefined ? arg.summary : summarizePod(latest) };
  }
  if (arg instanceof ServiceNode) {
    return { kind: 'service', service: await serviceArgument(arg, model) };
  }
  const node = nodeOfRecord(arg);
  if (node !== undefined) {
    return { kind: 'node', node };
  }
  const object = objectOfRecord(arg);
  if (object !== undefined) {
    if (object.kind === 'pod') {
      const latest = model.index.pod(object.namespace, object.name);
      return { kind: 'pod', pod: latest === undefined ? { namespace: object.namespace, name: object.name, nodeName: undefined } : summarizePod(latest) };
    }
    return { kind: 'service', service: await serviceArgument(arg, model) };
  }
  const explorerNode = await kubernetesToolsNode(arg, model);
  if (explorerNode !== undefined) {
    return { kind: 'node', node: explorerNode.name };
  }
  const explorerPod = await kubernetesToolsPod(arg, model);
  if (explorerPod !== undefined) {
    return { kind: 'pod', pod: explorerPod };
  }
  const explorerService = await kubernetesToolsService(arg, model);
  if (explorerService !== undefined) {
    return { kind: 'service', service: { ref: { namespace: explorerService.namespace, name: explorerService.name }, summary: explorerService, node: undefined, pickNode: false } };
  }
  requireReady(model);
  const picked = await vscode.window.showQuickPick<KindPick>(
    [
      { label: vscode.l10n.t('$(vm) A node'), description: vscode.l10n.t("every connection the node's kernel tracks"), target: 'node' },
      { label: vscode.l10n.t('$(package) A pod'), description: vscode.l10n.t('connections from, to and answered by its IP'), target: 'pod' },
      { label: vscode.l10n.t('$(globe) A service'), description: vscode.l10n.t('connections to its ClusterIP, on the node of the clients'), target: 'service' },
    ],
    { title: vscode.l10n.t('Show Conntrack for'), placeHolder: vscode.l10n.t('Whose tracked connections to list') },
  );
  if (picked === undefined) {
    throw new CancelledError();
  }
  switch (picked.target) {
    case 'node':
      return { kind: 'node', node: (await pickNode(model, { title: vscode.l10n.t('Conntrack of node') })).name };
    case 'pod':
      return { kind: 'pod', pod: await pickPod(model, (pod) => pod.phase === 'Running' && pod.podIP !== undefined && pod.nodeName !== undefined) };
    case 'service': {
      const service = await pickService(model, (candidate) => candidate.clusterIP !== undefined);
      return { kind: 'service', service: { ref: { namespace: service.namespace, name: service.name }, summary: service, node: undefined, pickNode: false } };
    }
  }
}

/** `ns/name` made plain for titles. */
export function refText(ref: { readonly namespace: string; readonly name: string }): string {
  return plainText(`${ref.namespace}/${ref.name}`);
}

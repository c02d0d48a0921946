import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import type { V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

import {
  ActionNode,
  ClusterTreeBuilder,
  ContextNode,
  MessageNode,
  NamespaceNode,
  NodeItemNode,
  NodesFolderNode,
  PodNode,
  ResourceFolderNode,
  ServiceNode,
  ServicePortNode,
} from '../../../src/features/clusterNodes.js';
import type { ClusterTreeNode, ClusterView, Translate } from '../../../src/features/clusterNodes.js';
import { ClusterIndex } from '../../../src/kube/clusterIndex.js';
import type { ConnectionState, Limitation } from '../../../src/kube/clusterModel.js';
import type { ClusterProblem } from '../../../src/kube/errors.js';
import { namespaceObject, nodeObject, podObject, serviceObject } from '../kube/support/miniApiServer.js';

/** `vscode.l10n.t` without VS Code: fills `{0}`-style placeholders. */
const t: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (_match, position: string) => String(args[Number(position)]));

function repositoryRoot(): string {
  let directory = __dirname;
  while (!fs.existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error('package.json not found');
    }
    directory = parent;
  }
  return directory;
}

interface MenuEntry {
  command: string;
  when?: string;
}

const packageJson = JSON.parse(fs.readFileSync(path.join(repositoryRoot(), 'package.json'), 'utf8')) as {
  contributes: { menus: Record<string, MenuEntry[]> };
};

/** Commands whose view/item/context `when` clause accepts `contextValue` (only the viewItem regex is evaluated). */
function itemCommands(contextValue: string): string[] {
  const entries = packageJson.contributes.menus['view/item/context'] ?? [];
  const matching = entries.filter((entry) => {
    const match = /viewItem =~ \/(.+?)\/(?:\s|$)/.exec(entry.when ?? '');
    return match !== null && new RegExp(match[1] ?? '').test(contextValue);
  });
  return [...new Set(matching.map((entry) => entry.command))].sort();
}

class View implements ClusterView {
  readonly index = new ClusterIndex();
  state: ConnectionState = { phase: 'ready', context: 'lab', server: 'https://127.0.0.1:6443', limitations: [], lost: undefined };
  accessProblem(kind: Limitation['resource'], namespace?: string): ClusterProblem | undefined {
    if (this.state.phase !== 'ready') {
      return undefined;
    }
    const limitation = this.state.limitations.find((entry) => entry.resource === kind);
    if (limitation === undefined || (limitation.namespace !== undefined && limitation.namespace === namespace)) {
      return undefined;
    }
    return limitation.problem;
  }
}

function populated(): View {
  const view = new View();
  view.index.upsert('namespaces', namespaceObject('shop') as unknown as V1Namespace);
  view.index.upsert('namespaces', namespaceObject('kube-system') as unknown as V1Namespace);
  view.index.upsert('nodes', nodeObject('node-a', '198.18.0.11') as unknown as V1Node);
  view.index.upsert('nodes', nodeObject('node-b', '198.18.0.12', false) as unknown as V1Node);
  view.index.upsert('pods', podObject('shop', 'web-1', { podIP: '198.19.1.10', nodeName: 'node-a' }) as unknown as V1Pod);
  view.index.upsert('pods', podObject('shop', 'queued', { phase: 'Pending' }) as unknown as V1Pod);
  view.index.upsert('pods', podObject('kube-system', 'proxy', { podIP: '198.18.0.11', nodeName: 'node-a', hostNetwork: true }) as unknown as V1Pod);
  view.index.upsert('services', serviceObject('shop', 'web', '198.18.128.10') as unknown as V1Service);
  view.index.upsert('services', {
    metadata: { name: 'db', namespace: 'shop' },
    spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432, protocol: 'TCP' }] },
  } as V1Service);
  return view;
}

function find<T extends ClusterTreeNode>(nodes: ClusterTreeNode[], type: new (...args: never[]) => T, id: string): T {
  const node = nodes.find((candidate): candidate is T => candidate instanceof type && candidate.id === id);
  assert.ok(node !== undefined, `no ${type.name} with id ${id} among ${nodes.map((candidate) => candidate.id).join(', ')}`);
  return node;
}

describe('ClusterTreeBuilder', () => {
  it('builds context → Nodes + namespaces → Pods/Services folders → items, with stable ids', () => {
    const view = populated();
    const builder = new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 1 }));
    const [context] = builder.roots();
    assert.ok(context instanceof ContextNode);
    assert.equal(context.id, 'lab');
    const contextItem = context.present(t);
    assert.equal(contextItem.label, 'context: lab');
    assert.equal(contextItem.description, 'https://127.0.0.1:6443');
    assert.equal(contextItem.contextValue, 'context;ready;');

    const top = builder.children(context);
    assert.deepEqual(
      top.map((node) => node.id),
      ['lab/#nodes', 'lab/kube-system', 'lab/shop'],
    );
    const nodesFolder = find(top, NodesFolderNode, 'lab/#nodes');
    assert.equal(nodesFolder.present(t).label, 'Nodes');
    assert.equal(nodesFolder.present(t).description, '2');
    const nodes = builder.children(nodesFolder);
    const nodeA = find(nodes, NodeItemNode, 'lab/#nodes/node-a').present(t);
    assert.equal(nodeA.description, '198.18.0.11 · Ready');
    assert.equal(nodeA.contextValue, 'node;ready;hasIp;linux;');
    assert.equal(find(nodes, NodeItemNode, 'lab/#nodes/node-b').present(t).contextValue, 'node;notReady;hasIp;linux;');

    const shop = find(top, NamespaceNode, 'lab/shop');
    assert.equal(shop.present(t).description, '2 pods · 2 services');
    const [pods, services] = builder.children(shop);
    assert.ok(pods instanceof ResourceFolderNode && services instanceof ResourceFolderNode);
    assert.equal(pods.id, 'lab/shop/pods');
    assert.equal(pods.present(t).label, 'Pods');
    assert.equal(pods.present(t).description, '2');
    assert.equal(services.present(t).label, 'Services');
    assert.equal(services.present(t).description, '2');

    const podNodes = builder.children(pods);
    const web = find(podNodes, PodNode, 'lab/shop/pods/web-1').present(t);
    assert.equal(web.label, 'web-1');
    assert.equal(web.description, 'Running · 198.19.1.10 · node-a');
    assert.equal(web.contextValue, 'pod;running;ready;hasIp;hasNode;');
    assert.deepEqual(web.icon, { id: 'pass-filled', color: 'testing.iconPassed' });
    const queued = find(podNodes, PodNode, 'lab/shop/pods/queued').present(t);
    assert.equal(queued.description, 'ContainerCreating');
    assert.equal(queued.contextValue, 'pod;pending;');

    const serviceNodes = builder.children(services);
    const webService = find(serviceNodes, ServiceNode, 'lab/shop/services/web');
    assert.equal(webService.present(t).description, 'ClusterIP · 198.18.128.10 · 80/TCP→8080');
    assert.equal(webService.present(t).contextValue, 'service;clusterIP;hasClusterIp;');
    const db = find(serviceNodes, ServiceNode, 'lab/shop/services/db').present(t);
    assert.equal(db.description, 'ClusterIP · headless · 5432/TCP');
    assert.equal(db.contextValue, 'service;clusterIP;headless;');
    const ports = builder.children(webService);
    assert.ok(ports[0] instanceof ServicePortNode);
    assert.equal(ports[0].present(t).label, '80/TCP→8080');
    assert.equal(ports[0].present(t).description, 'http');
  });

  it('keeps namespace and folder nodes identical between calls, so events can name them', () => {
    const view = populated();
    const builder = new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 1 }));
    const [context] = builder.roots();
    assert.ok(context !== undefined);
    const first = builder.children(context);
    const second = builder.children(context);
    assert.equal(first[2], second[2]);
    assert.equal(builder.namespaceNode('shop'), first[2]);
    const shop = first[2];
    assert.ok(shop !== undefined);
    assert.equal(builder.children(shop)[0], builder.children(shop)[0]);
    assert.equal(builder.roots()[0], context);
  });

  it('hides system namespaces when asked', () => {
    const view = populated();
    const builder = new ClusterTreeBuilder(view, t, { hideSystemNamespaces: true }, () => ({ contextCount: 1 }));
    const [context] = builder.roots();
    assert.ok(context !== undefined);
    assert.deepEqual(
      builder.children(context).map((node) => node.id),
      ['lab/#nodes', 'lab/shop'],
    );
  });

  it('shows one error message with Retry (and Switch Context when there are others) instead of data', () => {
    const view = populated();
    view.state = {
      phase: 'error',
      context: 'lab',
      server: 'https://127.0.0.1:6443',
      problem: { kind: 'unreachable', message: 'Cannot reach the API server (ECONNREFUSED)', detail: 'connect ECONNREFUSED 127.0.0.1:6443', code: 'ECONNREFUSED' },
      retryAt: Date.now() + 2_000,
      attempt: 1,
    };
    const builder = new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 2 }));
    const [context] = builder.roots();
    assert.ok(context !== undefined);
    assert.equal(context.present(t).contextValue, 'context;error;');
    const children = builder.children(context);
    assert.deepEqual(
      children.map((node) => node.kind),
      ['message', 'action', 'action', 'action'],
    );
    const message = children[0];
    assert.ok(message instanceof MessageNode);
    assert.equal(message.present(t).label, 'Cannot reach the cluster: ECONNREFUSED');
    assert.equal(message.present(t).contextValue, 'message;error;');
    const retry = children[1];
    assert.ok(retry instanceof ActionNode);
    assert.equal(retry.present().command?.command, 'kubeNet.retry');
    assert.equal(retry.present().contextValue, 'action;retry;');
    assert.equal((children[2] as ActionNode).present().command?.command, 'kubeNet.switchContext');
    assert.equal((children[3] as ActionNode).present().command?.command, 'kubeNet.showLog');
  });

  it('has no root while there is no context (the welcome view shows)', () => {
    const view = populated();
    view.state = { phase: 'idle' };
    assert.deepEqual(new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 0 })).roots(), []);
    view.state = { phase: 'error', context: undefined, server: undefined, problem: { kind: 'noConfig', message: 'm', detail: 'd' }, retryAt: undefined, attempt: 0 };
    assert.deepEqual(new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 0 })).roots(), []);
  });

  it('marks forbidden resources and limits pods to the allowed namespace', () => {
    const view = populated();
    const forbidden: ClusterProblem = {
      kind: 'forbidden',
      message: 'Forbidden',
      detail: 'pods is forbidden',
      forbidden: { verb: 'list', resource: 'pods' },
    };
    view.state = {
      phase: 'ready',
      context: 'lab',
      server: undefined,
      lost: undefined,
      limitations: [
        { resource: 'pods', problem: forbidden, namespace: 'shop' },
        { resource: 'nodes', problem: { ...forbidden, forbidden: { verb: 'list', resource: 'nodes' } }, namespace: undefined },
      ],
    };
    const builder = new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 1 }));
    const [context] = builder.roots();
    assert.ok(context !== undefined);
    const top = builder.children(context);
    const nodesFolder = find(top, NodesFolderNode, 'lab/#nodes');
    assert.equal(nodesFolder.present(t).contextValue, 'nodes;forbidden;');
    const nodeMessages = builder.children(nodesFolder);
    assert.equal((nodeMessages[0] as MessageNode).present(t).label, 'Not allowed to list nodes in the cluster');

    const system = find(top, NamespaceNode, 'lab/kube-system');
    const [systemPods] = builder.children(system);
    assert.ok(systemPods instanceof ResourceFolderNode);
    assert.equal(systemPods.present(t).contextValue, 'pods;forbidden;');
    assert.ok(builder.children(systemPods)[0] instanceof MessageNode);

    const shop = find(top, NamespaceNode, 'lab/shop');
    const [shopPods] = builder.children(shop);
    assert.ok(shopPods instanceof ResourceFolderNode);
    assert.equal(shopPods.present(t).contextValue, 'pods;');
    assert.equal(builder.children(shopPods).length, 2);
  });

  it('escapes hostile cluster text in tooltips and strips invisible characters from labels', () => {
    const view = new View();
    const pod = podObject('shop', 'web-1', { podIP: '198.19.1.10', nodeName: 'node-a' }) as unknown as V1Pod;
    pod.metadata = { ...pod.metadata, labels: { note: '[run](command:workbench.action.terminal.new) <img src=x onerror=alert(1)>' } };
    view.index.upsert('pods', pod);
    view.index.upsert('pods', podObject('shop', 'web\u202Eexe.2', { podIP: '198.19.1.11' }) as unknown as V1Pod);
    const builder = new ClusterTreeBuilder(view, t, { hideSystemNamespaces: false }, () => ({ contextCount: 1 }));
    const [context] = builder.roots();
    assert.ok(context !== undefined);
    const shop = builder.children(context).find((node) => node instanceof NamespaceNode);
    assert.ok(shop !== undefined);
    const [pods] = builder.children(shop);
    assert.ok(pods !== undefined);
    const [podNode, spoofed] = builder.children(pods);
    assert.ok(podNode !== undefined && spoofed !== undefined);
    assert.equal(spoofed.present(t).label, 'web\uFFFDexe.2');
    const tooltip = podNode.present(t).tooltip ?? '';
    assert.ok(tooltip.includes('\\[run\\]\\(command\\:workbench\\.action\\.terminal\\.new\\)'));
    assert.ok(tooltip.includes('\\<img src\\=x onerror\\=alert\\(1\\)\\>'));
    // No unescaped link or tag opener is left.
    assert.doesNotMatch(tooltip, /(^|[^\\])\[run/);
    assert.doesNotMatch(tooltip, /(^|[^\\])<img/);
  });
});

describe('contextValue tokens and package.json menus', () => {
  it('offers Copy Pod IP only on pods with an IP, Copy ClusterIP only on services with one', () => {
    const podDiagnostics = ['kubeNet.digInPod', 'kubeNet.openPodNetnsTerminal', 'kubeNet.runInPodNetns', 'kubeNet.showVeth'];
    assert.deepEqual(itemCommands('pod;running;ready;hasIp;hasNode;'), ['kubeNet.copyPodIp', 'kubeNet.showConntrack', ...podDiagnostics].sort());
    assert.deepEqual(itemCommands('pod;running;hasNode;hostNetwork;'), podDiagnostics);
    assert.deepEqual(itemCommands('pod;pending;'), []);
    assert.deepEqual(itemCommands('pod;succeeded;hasNode;'), []);
    assert.deepEqual(itemCommands('pods;'), []);
    assert.deepEqual(
      itemCommands('service;clusterIP;hasClusterIp;'),
      ['kubeNet.copyClusterIp', 'kubeNet.ipvsBackends', 'kubeNet.showConntrack', 'kubeNet.showKubeServicesForService', 'kubeNet.traceService'].sort(),
    );
    // (Stop Conntrack Events too, while a stream runs: its `when` has a context key besides the item.)
    const nodeCommands = ['kubeNet.ipvsBackends', 'kubeNet.raiseConntrackMax', 'kubeNet.showConntrack', 'kubeNet.showDataPlane', 'kubeNet.showRules', 'kubeNet.stopConntrackEvents', 'kubeNet.streamConntrackEvents'];
    assert.deepEqual(itemCommands('node;ready;hasIp;linux;'), nodeCommands);
    assert.deepEqual(itemCommands('node;notReady;'), nodeCommands);
    assert.deepEqual(itemCommands('nodes;'), []);
    assert.deepEqual(itemCommands('service;clusterIP;headless;'), []);
    assert.deepEqual(itemCommands('services;'), []);
    assert.deepEqual(itemCommands('context;error;'), ['kubeNet.refresh', 'kubeNet.retry', 'kubeNet.switchContext']);
    assert.deepEqual(itemCommands('context;ready;'), ['kubeNet.refresh', 'kubeNet.switchContext']);
  });
});

/**
 * The nodes of the "Cluster" tree and how each presents itself, built from the cluster model.
 * Pure (no `vscode` import): `clusterTree.ts` turns a `Presentation` into a `vscode.TreeItem`,
 * and unit tests check ids, labels, contextValues and tooltips directly.
 *
 * contextValue tokens (matched in package.json with e.g. `viewItem =~ /\bpod;.*\bhasIp;/`):
 * - `context;ready;` | `context;connecting;` | `context;error;`
 * - `node;ready;|notReady;|unknown;` + `hasIp;` `unschedulable;` `linux;|windows;`
 * - `namespace;` + `system;` `terminating;`
 * - `pods;` / `services;` (the folders under a namespace) + `forbidden;`; `nodes;` + `forbidden;`
 * - `pod;<phase>;` (`pending` `running` `succeeded` `failed` `unknown`) + `ready;` `hasIp;` `hasNode;`
 *   `hostNetwork;` `terminating;`
 * - `service;<type>;` (`clusterIP` `nodePort` `loadBalancer` `externalName` `other`) + `hasClusterIp;` `headless;`
 * - `servicePort;`, `message;info;|warning;|error;`, `action;retry;|switchContext;|showLog;`
 */

import type { ClusterIndex, ResourceKind } from '../kube/clusterIndex.js';
import type { ConnectionState } from '../kube/clusterModel.js';
import type { ClusterProblem } from '../kube/errors.js';
import { formatServicePort, summarizeNamespace, summarizeNode, summarizePod, summarizeService } from '../kube/objects.js';
import type { NodeSummary, PodSummary, ServicePortSummary, ServiceSummary } from '../kube/objects.js';
import { commandIds } from './commandIds.js';
import { markdownTooltip, plainText } from './markdown.js';

/** `vscode.l10n.t` or a stand-in: `{0}`-style placeholders. */
export type Translate = (message: string, ...args: Array<string | number | boolean>) => string;

/** English: what `vscode.l10n.t` gives without a translation (`{0}`-style placeholders filled). */
export const englishTranslate: Translate = (message, ...args) =>
  message.replace(/\{(\d+)\}/g, (match, position: string) => (Number(position) < args.length ? String(args[Number(position)]) : match));

/** A codicon and an optional theme color id. */
export interface IconSpec {
  readonly id: string;
  readonly color?: string;
}

/** Everything `vscode.TreeItem` needs, without `vscode`. */
export interface Presentation {
  readonly label: string;
  readonly description?: string;
  /** Markdown, already escaped; render with `isTrusted` and `supportHtml` off. */
  readonly tooltip?: string;
  readonly icon?: IconSpec;
  readonly contextValue: string;
  readonly collapsible: 'none' | 'collapsed' | 'expanded';
  readonly command?: { readonly command: string; readonly title: string; readonly arguments?: readonly unknown[] };
}

/** The kinds of tree nodes. */
export type TreeNodeKind =
  | 'context'
  | 'nodesFolder'
  | 'node'
  | 'namespace'
  | 'podsFolder'
  | 'servicesFolder'
  | 'pod'
  | 'service'
  | 'servicePort'
  | 'message'
  | 'action';

/** What the tree needs from the model (`ClusterModel` satisfies it). */
export interface ClusterView {
  readonly state: ConnectionState;
  readonly index: ClusterIndex;
  accessProblem(kind: ResourceKind, namespace?: string): ClusterProblem | undefined;
}

/** Tree options that come from settings. */
export interface ClusterTreeSettings {
  /** Hide `kube-system`, `kube-public` and `kube-node-lease`. */
  readonly hideSystemNamespaces: boolean;
}

/** Namespaces hidden by `kubeNet.namespaces.hideSystem`. */
export const systemNamespaces: ReadonlySet<string> = new Set(['kube-system', 'kube-public', 'kube-node-lease']);

/** Base of every node: a stable id, a kind and its parent. */
export abstract class ClusterTreeNode {
  abstract readonly kind: TreeNodeKind;
  constructor(
    readonly id: string,
    readonly parent: ClusterTreeNode | undefined,
  ) {}
  abstract present(t: Translate): Presentation;
}

/** The root: the context in use. */
export class ContextNode extends ClusterTreeNode {
  readonly kind = 'context';
  constructor(
    readonly context: string,
    readonly server: string | undefined,
    readonly details: { readonly user?: string | undefined; readonly namespace?: string | undefined },
    private readonly view: ClusterView,
  ) {
    super(context, undefined);
  }

  present(t: Translate): Presentation {
    const phase = this.view.state.phase === 'idle' ? 'connecting' : this.view.state.phase;
    const counts = this.view.index.counts();
    return {
      label: t('context: {0}', plainText(this.context)),
      ...(this.server === undefined ? {} : { description: plainText(this.server) }),
      tooltip: markdownTooltip(t('Context {0}', this.context), [
        { key: t('Server'), value: this.server },
        { key: t('User'), value: this.details.user },
        { key: t('Namespace'), value: this.details.namespace },
        { key: t('State'), value: phase === 'ready' ? t('connected') : phase === 'connecting' ? t('connecting') : t('error') },
        ...(phase === 'ready'
          ? [
              { key: t('Namespaces'), value: counts.namespaces },
              { key: t('Nodes'), value: counts.nodes },
              { key: t('Pods'), value: counts.pods },
              { key: t('Services'), value: counts.services },
            ]
          : []),
      ]),
      icon: {
        id: phase === 'error' ? 'debug-disconnect' : 'server-environment',
        ...(phase === 'error' ? { color: 'problemsErrorIcon.foreground' } : {}),
      },
      contextValue: `context;${phase};`,
      collapsible: 'expanded',
    };
  }
}

/** The "Nodes" folder. */
export class NodesFolderNode extends ClusterTreeNode {
  readonly kind = 'nodesFolder';
  constructor(
    parent: ContextNode,
    private readonly view: ClusterView,
  ) {
    super(`${parent.id}/#nodes`, parent);
  }

  present(t: Translate): Presentation {
    const problem = this.view.accessProblem('nodes');
    const count = this.view.index.nodes().length;
    return {
      label: t('Nodes'),
      description: problem === undefined ? String(count) : t('not allowed'),
      icon: { id: 'server' },
      contextValue: problem === undefined ? 'nodes;' : 'nodes;forbidden;',
      collapsible: 'collapsed',
    };
  }
}

/** A Kubernetes node. */
export class NodeItemNode extends ClusterTreeNode {
  readonly kind = 'node';
  constructor(
    parent: NodesFolderNode,
    readonly summary: NodeSummary,
  ) {
    super(`${parent.id}/${summary.name}`, parent);
  }

  /** The node's name. */
  get name(): string {
    return this.summary.name;
  }

  present(t: Translate): Presentation {
    const node = this.summary;
    const readiness = node.ready === true ? 'Ready' : node.ready === false ? 'NotReady' : 'Unknown';
    const parts = [node.internalIP, readiness, node.unschedulable ? 'SchedulingDisabled' : undefined].filter(
      (part): part is string => part !== undefined,
    );
    const os = node.operatingSystem === 'windows' ? 'windows;' : node.operatingSystem === 'linux' ? 'linux;' : '';
    return {
      label: plainText(node.name),
      description: plainText(parts.join(' · ')),
      tooltip: markdownTooltip(t('Node {0}', node.name), [
        { key: t('Ready'), value: readiness },
        { key: t('Condition'), value: node.readyMessage },
        ...node.addresses.map((address) => ({ key: address.type, value: address.address })),
        { key: t('Roles'), value: node.roles.join(', ') },
        { key: t('Pod CIDRs'), value: node.podCIDRs.join(', ') },
        { key: t('OS image'), value: node.osImage },
        { key: t('Kernel'), value: node.kernelVersion },
        { key: t('Container runtime'), value: node.containerRuntime },
        { key: t('Kubelet'), value: node.kubeletVersion },
        { key: t('Unschedulable'), value: node.unschedulable ? t('yes') : undefined },
      ]),
      icon:
        node.ready === true
          ? { id: 'vm', color: 'testing.iconPassed' }
          : node.ready === false
            ? { id: 'vm', color: 'testing.iconFailed' }
            : { id: 'vm', color: 'problemsWarningIcon.foreground' },
      contextValue:
        `node;${node.ready === true ? 'ready' : node.ready === false ? 'notReady' : 'unknown'};` +
        (node.internalIP === undefined ? '' : 'hasIp;') +
        (node.unschedulable ? 'unschedulable;' : '') +
        os,
      collapsible: 'none',
    };
  }
}

/** A namespace. */
export class NamespaceNode extends ClusterTreeNode {
  readonly kind = 'namespace';
  constructor(
    parent: ContextNode,
    readonly namespace: string,
    private readonly view: ClusterView,
  ) {
    super(`${parent.id}/${namespace}`, parent);
  }

  present(t: Translate): Presentation {
    const summary = summarizeNamespace(this.view.index.namespace(this.namespace), this.namespace);
    const pods = this.view.index.podCount(this.namespace);
    const services = this.view.index.serviceCount(this.namespace);
    const podsAllowed = this.view.accessProblem('pods', this.namespace) === undefined;
    const servicesAllowed = this.view.accessProblem('services', this.namespace) === undefined;
    const counts = [
      podsAllowed ? (pods === 1 ? t('1 pod') : t('{0} pods', pods)) : undefined,
      servicesAllowed ? (services === 1 ? t('1 service') : t('{0} services', services)) : undefined,
      summary.phase === 'Terminating' ? 'Terminating' : undefined,
    ].filter((part): part is string => part !== undefined);
    const labels = Object.entries(summary.labels).slice(0, 20);
    return {
      label: plainText(this.namespace),
      description: counts.join(' · '),
      tooltip: markdownTooltip(t('Namespace {0}', this.namespace), [
        { key: t('Phase'), value: summary.phase },
        { key: t('Pods'), value: podsAllowed ? pods : t('not allowed') },
        { key: t('Services'), value: servicesAllowed ? services : t('not allowed') },
        ...labels.map(([key, value]) => ({ key, value })),
      ]),
      icon: { id: 'symbol-namespace', ...(summary.phase === 'Terminating' ? { color: 'disabledForeground' } : {}) },
      contextValue:
        'namespace;' + (systemNamespaces.has(this.namespace) ? 'system;' : '') + (summary.phase === 'Terminating' ? 'terminating;' : ''),
      collapsible: 'collapsed',
    };
  }
}

/** The "Pods" or "Services" folder under a namespace (the count is its description). */
export class ResourceFolderNode extends ClusterTreeNode {
  readonly kind: 'podsFolder' | 'servicesFolder';
  constructor(
    parent: NamespaceNode,
    readonly resource: 'pods' | 'services',
    private readonly view: ClusterView,
  ) {
    super(`${parent.id}/${resource}`, parent);
    this.kind = resource === 'pods' ? 'podsFolder' : 'servicesFolder';
  }

  /** The namespace this folder belongs to. */
  get namespace(): string {
    return (this.parent as NamespaceNode).namespace;
  }

  present(t: Translate): Presentation {
    const problem = this.view.accessProblem(this.resource, this.namespace);
    const count = this.resource === 'pods' ? this.view.index.podCount(this.namespace) : this.view.index.serviceCount(this.namespace);
    const title = this.resource === 'pods' ? t('Pods') : t('Services');
    return {
      label: title,
      description: problem === undefined ? String(count) : t('not allowed'),
      icon: { id: this.resource === 'pods' ? 'package' : 'globe' },
      contextValue: `${this.resource};${problem === undefined ? '' : 'forbidden;'}`,
      collapsible: problem === undefined && count === 0 ? 'none' : 'collapsed',
    };
  }
}

/** A pod. */
export class PodNode extends ClusterTreeNode {
  readonly kind = 'pod';
  constructor(
    parent: ResourceFolderNode,
    readonly summary: PodSummary,
  ) {
    super(`${parent.id}/${summary.name}`, parent);
  }

  get namespace(): string {
    return this.summary.namespace;
  }

  get name(): string {
    return this.summary.name;
  }

  present(t: Translate): Presentation {
    const pod = this.summary;
    const parts = [pod.status, pod.podIP, pod.nodeName].filter((part): part is string => part !== undefined);
    const allReady = pod.containers.length > 0 && pod.readyContainers === pod.containers.length;
    return {
      label: plainText(pod.name),
      description: plainText(parts.join(' · ')),
      tooltip: markdownTooltip(t('Pod {0}/{1}', pod.namespace, pod.name), [
        { key: t('Phase'), value: pod.phase },
        { key: t('Status'), value: pod.status === pod.phase ? undefined : pod.status },
        { key: t('Pod IP'), value: pod.podIPs.join(', ') || undefined },
        { key: t('Node'), value: pod.nodeName },
        { key: t('Host IP'), value: pod.hostIP },
        { key: t('Host network'), value: pod.hostNetwork ? t('yes') : undefined },
        { key: t('Ready'), value: `${pod.readyContainers}/${pod.containers.length}` },
        { key: t('Restarts'), value: pod.restarts > 0 ? pod.restarts : undefined },
        ...pod.containers.map((container) => ({
          key: t('Container {0}', container.name),
          value: [container.state, container.image, container.containerID].filter((part) => part !== undefined).join(' · '),
        })),
        { key: t('Created'), value: pod.createdAt },
        ...Object.entries(pod.labels)
          .slice(0, 20)
          .map(([key, value]) => ({ key, value })),
      ]),
      icon: podIcon(pod, allReady),
      contextValue:
        `pod;${pod.phase.toLowerCase()};` +
        (allReady ? 'ready;' : '') +
        (pod.podIP === undefined ? '' : 'hasIp;') +
        (pod.nodeName === undefined ? '' : 'hasNode;') +
        (pod.hostNetwork ? 'hostNetwork;' : '') +
        (pod.terminating ? 'terminating;' : ''),
      collapsible: 'none',
    };
  }
}

const troubledReasons = /BackOff|Err|Invalid|Error|OOMKilled|Evicted|Unschedulable|Failed/;

function podIcon(pod: PodSummary, allReady: boolean): IconSpec {
  if (pod.terminating) {
    return { id: 'trash', color: 'disabledForeground' };
  }
  if (troubledReasons.test(pod.status)) {
    return { id: 'warning', color: 'problemsWarningIcon.foreground' };
  }
  switch (pod.phase) {
    case 'Running':
      return allReady ? { id: 'pass-filled', color: 'testing.iconPassed' } : { id: 'circle-large-outline', color: 'problemsWarningIcon.foreground' };
    case 'Pending':
      return { id: 'clock', color: 'problemsWarningIcon.foreground' };
    case 'Succeeded':
      return { id: 'check', color: 'disabledForeground' };
    case 'Failed':
      return { id: 'error', color: 'testing.iconFailed' };
    default:
      return { id: 'question', color: 'problemsWarningIcon.foreground' };
  }
}

const serviceTypeTokens: Record<string, string> = {
  ClusterIP: 'clusterIP',
  NodePort: 'nodePort',
  LoadBalancer: 'loadBalancer',
  ExternalName: 'externalName',
};

/** A service. */
export class ServiceNode extends ClusterTreeNode {
  readonly kind = 'service';
  constructor(
    parent: ResourceFolderNode,
    readonly summary: ServiceSummary,
  ) {
    super(`${parent.id}/${summary.name}`, parent);
  }

  get namespace(): string {
    return this.summary.namespace;
  }

  get name(): string {
    return this.summary.name;
  }

  present(t: Translate): Presentation {
    const service = this.summary;
    const address = service.headless ? t('headless') : service.externalName ?? service.clusterIP;
    const ports = service.ports.map(formatServicePort);
    const shownPorts = ports.length > 4 ? `${ports.slice(0, 4).join(', ')}, …` : ports.join(', ');
    const parts = [service.type, address, shownPorts || undefined].filter((part): part is string => part !== undefined);
    const typeToken = serviceTypeTokens[service.type] ?? 'other';
    return {
      label: plainText(service.name),
      description: plainText(parts.join(' · ')),
      tooltip: markdownTooltip(t('Service {0}/{1}', service.namespace, service.name), [
        { key: t('Type'), value: service.type },
        { key: t('Cluster IP'), value: service.headless ? 'None' : service.clusterIPs.join(', ') || undefined },
        { key: t('External name'), value: service.externalName },
        { key: t('External IPs'), value: service.externalIPs.join(', ') || undefined },
        { key: t('Load balancer'), value: service.loadBalancerIngress.join(', ') || undefined },
        { key: t('Ports'), value: ports.join(', ') || undefined },
        {
          key: t('Selector'),
          value:
            Object.entries(service.selector)
              .map(([key, value]) => `${key}=${value}`)
              .join(', ') || undefined,
        },
        { key: t('Created'), value: service.createdAt },
      ]),
      icon: { id: 'globe' },
      contextValue:
        `service;${typeToken};` + (service.clusterIP === undefined ? '' : 'hasClusterIp;') + (service.headless ? 'headless;' : ''),
      collapsible: service.ports.length > 0 ? 'collapsed' : 'none',
    };
  }
}

/** One port of a service. */
export class ServicePortNode extends ClusterTreeNode {
  readonly kind = 'servicePort';
  constructor(
    parent: ServiceNode,
    position: number,
    readonly port: ServicePortSummary,
  ) {
    super(`${parent.id}/#port/${position}`, parent);
  }

  present(t: Translate): Presentation {
    const port = this.port;
    return {
      label: plainText(formatServicePort(port)),
      ...(port.name === undefined ? {} : { description: plainText(port.name) }),
      tooltip: markdownTooltip(t('Port {0}', port.name ?? String(port.port)), [
        { key: t('Port'), value: port.port },
        { key: t('Protocol'), value: port.protocol },
        { key: t('Target port'), value: port.targetPort },
        { key: t('Node port'), value: port.nodePort },
        { key: t('App protocol'), value: port.appProtocol },
      ]),
      icon: { id: 'plug' },
      contextValue: 'servicePort;',
      collapsible: 'none',
    };
  }
}

/** A line of text: an error, a warning or an empty-state note. */
export class MessageNode extends ClusterTreeNode {
  readonly kind = 'message';
  constructor(
    id: string,
    parent: ClusterTreeNode | undefined,
    readonly level: 'info' | 'warning' | 'error',
    readonly text: string,
    readonly detail: string | undefined,
  ) {
    super(id, parent);
  }

  present(t: Translate): Presentation {
    return {
      label: plainText(this.text),
      ...(this.detail === undefined ? {} : { description: plainText(this.detail, 200) }),
      tooltip: markdownTooltip(this.text, [{ key: t('Detail'), value: this.detail }]),
      icon:
        this.level === 'error'
          ? { id: 'error', color: 'problemsErrorIcon.foreground' }
          : this.level === 'warning'
            ? { id: 'warning', color: 'problemsWarningIcon.foreground' }
            : { id: 'info' },
      contextValue: `message;${this.level};`,
      collapsible: 'none',
    };
  }
}

/** A clickable line that runs a command (Retry, Switch Context, Show Log). */
export class ActionNode extends ClusterTreeNode {
  readonly kind = 'action';
  constructor(
    id: string,
    parent: ClusterTreeNode | undefined,
    readonly action: 'retry' | 'switchContext' | 'showLog',
    readonly text: string,
    readonly hint: string | undefined,
  ) {
    super(id, parent);
  }

  present(): Presentation {
    const commands = { retry: commandIds.retry, switchContext: commandIds.switchContext, showLog: commandIds.showLog } as const;
    const icons = { retry: 'refresh', switchContext: 'arrow-swap', showLog: 'output' } as const;
    return {
      label: plainText(this.text),
      ...(this.hint === undefined ? {} : { description: plainText(this.hint) }),
      icon: { id: icons[this.action] },
      contextValue: `action;${this.action};`,
      collapsible: 'none',
      command: { command: commands[this.action], title: this.text },
    };
  }
}

/** Turns a problem into one user sentence (the UI boundary for model errors). */
export function describeProblem(problem: ClusterProblem, t: Translate): string {
  switch (problem.kind) {
    case 'noConfig':
      return t('No usable kubeconfig: {0}', problem.message);
    case 'unreachable':
      return t('Cannot reach the cluster: {0}', problem.code ?? problem.message);
    case 'certificate':
      return t("The cluster's TLS certificate is not trusted ({0})", problem.code ?? '');
    case 'unauthorized':
      return t('The cluster rejected the credentials (401 Unauthorized)');
    case 'expired':
      return t('The credentials have expired; log in again');
    case 'forbidden': {
      const forbidden = problem.forbidden;
      if (forbidden?.verb !== undefined && forbidden.resource !== undefined) {
        return forbidden.namespace === undefined
          ? t('Not allowed to {0} {1} in the cluster', forbidden.verb, forbidden.resource)
          : t('Not allowed to {0} {1} in namespace {2}', forbidden.verb, forbidden.resource, forbidden.namespace);
      }
      return t('Not allowed (403 Forbidden)');
    }
    default:
      return t('Cluster error: {0}', problem.message);
  }
}

/**
 * Builds and caches the tree nodes. Folder-level nodes (context, Nodes, namespaces, Pods and
 * Services folders) keep their identity between calls, so change events can name them.
 */
export class ClusterTreeBuilder {
  private contextNode: ContextNode | undefined;
  private nodesFolder: NodesFolderNode | undefined;
  private readonly namespaceNodes = new Map<string, NamespaceNode>();
  private readonly folderNodes = new Map<string, ResourceFolderNode>();

  constructor(
    private readonly view: ClusterView,
    private readonly t: Translate,
    private settings: ClusterTreeSettings,
    /** Extra information for the context node and the error actions. */
    private readonly contextInfo: () => {
      readonly user?: string | undefined;
      readonly namespace?: string | undefined;
      readonly contextCount: number;
    },
  ) {}

  /** Changes settings; the caller refreshes the tree. */
  updateSettings(settings: ClusterTreeSettings): void {
    this.settings = settings;
  }

  /** Forgets all cached nodes (new context). */
  reset(): void {
    this.contextNode = undefined;
    this.nodesFolder = undefined;
    this.namespaceNodes.clear();
    this.folderNodes.clear();
  }

  /** The top level: the context node, or nothing (then the view's welcome content shows). */
  roots(): ClusterTreeNode[] {
    const state = this.view.state;
    if (state.phase === 'idle' || state.context === undefined) {
      return [];
    }
    return [this.context(state.context, state.server)];
  }

  /** The children of `node`. */
  children(node: ClusterTreeNode | undefined): ClusterTreeNode[] {
    if (node === undefined) {
      return this.roots();
    }
    if (node instanceof ContextNode) {
      return this.contextChildren(node);
    }
    if (node instanceof NodesFolderNode) {
      const problem = this.view.accessProblem('nodes');
      if (problem !== undefined) {
        return [new MessageNode(`${node.id}/#forbidden`, node, 'warning', describeProblem(problem, this.t), problem.detail)];
      }
      return this.view.index.nodes().map((object) => new NodeItemNode(node, summarizeNode(object)));
    }
    if (node instanceof NamespaceNode) {
      return [this.folder(node, 'pods'), this.folder(node, 'services')];
    }
    if (node instanceof ResourceFolderNode) {
      const problem = this.view.accessProblem(node.resource, node.namespace);
      if (problem !== undefined) {
        return [new MessageNode(`${node.id}/#forbidden`, node, 'warning', describeProblem(problem, this.t), problem.detail)];
      }
      if (node.resource === 'pods') {
        return this.view.index.pods(node.namespace).map((pod) => new PodNode(node, summarizePod(pod)));
      }
      return this.view.index.services(node.namespace).map((service) => new ServiceNode(node, summarizeService(service)));
    }
    if (node instanceof ServiceNode) {
      return node.summary.ports.map((port, position) => new ServicePortNode(node, position, port));
    }
    return [];
  }

  /** The cached namespace node, if the tree has shown it. */
  namespaceNode(namespace: string): NamespaceNode | undefined {
    return this.namespaceNodes.get(namespace);
  }

  /** The cached context node, if any. */
  get currentContextNode(): ContextNode | undefined {
    return this.contextNode;
  }

  /** The cached "Nodes" folder, if any. */
  get currentNodesFolder(): NodesFolderNode | undefined {
    return this.nodesFolder;
  }

  private context(name: string, server: string | undefined): ContextNode {
    const info = this.contextInfo();
    if (this.contextNode === undefined || this.contextNode.context !== name || this.contextNode.server !== server) {
      this.reset();
      this.contextNode = new ContextNode(name, server, { user: info.user, namespace: info.namespace }, this.view);
    }
    return this.contextNode;
  }

  private contextChildren(node: ContextNode): ClusterTreeNode[] {
    const state = this.view.state;
    const t = this.t;
    switch (state.phase) {
      case 'idle':
        return [];
      case 'connecting':
        return [
          new MessageNode(
            `${node.id}/#connecting`,
            node,
            'info',
            t('Connecting to {0}…', state.server ?? node.context),
            state.attempt > 1 ? t('attempt {0}', state.attempt) : undefined,
          ),
        ];
      case 'error': {
        const items: ClusterTreeNode[] = [
          new MessageNode(`${node.id}/#error`, node, 'error', describeProblem(state.problem, t), state.problem.detail),
          new ActionNode(
            `${node.id}/#retry`,
            node,
            'retry',
            t('Retry'),
            state.retryAt === undefined ? undefined : t('retrying automatically (attempt {0})', state.attempt + 1),
          ),
        ];
        if (this.contextInfo().contextCount > 1) {
          items.push(new ActionNode(`${node.id}/#switch`, node, 'switchContext', t('Switch Context…'), undefined));
        }
        items.push(new ActionNode(`${node.id}/#log`, node, 'showLog', t('Show Log'), undefined));
        return items;
      }
      case 'ready': {
        this.nodesFolder ??= new NodesFolderNode(node, this.view);
        const names = this.view.index
          .namespaceNames()
          .filter((name) => !(this.settings.hideSystemNamespaces && systemNamespaces.has(name)));
        const seen = new Set<string>();
        const namespaces = names.map((name) => {
          seen.add(name);
          let cached = this.namespaceNodes.get(name);
          if (cached === undefined) {
            cached = new NamespaceNode(node, name, this.view);
            this.namespaceNodes.set(name, cached);
          }
          return cached;
        });
        for (const name of [...this.namespaceNodes.keys()]) {
          if (!seen.has(name)) {
            this.namespaceNodes.delete(name);
            this.folderNodes.delete(`${name}/pods`);
            this.folderNodes.delete(`${name}/services`);
          }
        }
        const items: ClusterTreeNode[] = [this.nodesFolder, ...namespaces];
        if (namespaces.length === 0) {
          items.push(new MessageNode(`${node.id}/#empty`, node, 'info', t('No namespaces to show'), undefined));
        }
        return items;
      }
    }
  }

  private folder(parent: NamespaceNode, resource: 'pods' | 'services'): ResourceFolderNode {
    const key = `${parent.namespace}/${resource}`;
    let folder = this.folderNodes.get(key);
    if (folder === undefined || folder.parent !== parent) {
      folder = new ResourceFolderNode(parent, resource, this.view);
      this.folderNodes.set(key, folder);
    }
    return folder;
  }
}

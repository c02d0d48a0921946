/**
 * What Microsoft's Kubernetes extension hands us, read without trusting it: a Cluster Explorer
 * node (as its `clusterExplorer.resolveCommandTarget` returns it) becomes a pod, service or node
 * target, and its `configuration.getKubeconfigPath()` result becomes a path list. Pure (no
 * `vscode` import), so the shapes are unit-tested; `kubernetesTools.ts` talks to the extension.
 */

/**
 * The Kubernetes extension's id (`MS_KUBERNETES_EXTENSION_ID` of vscode-kubernetes-tools-api,
 * whose index module cannot be loaded without VS Code; a unit test checks they agree).
 */
export const kubernetesToolsExtensionId = 'ms-kubernetes-tools.vscode-kubernetes-tools';

/** A Cluster Explorer node we can run a command on. */
export type KubernetesToolsTarget =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'node'; readonly name: string };

/** An object name: an RFC 1123 subdomain (pods, nodes; service names are a subset). */
const objectName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A namespace name: an RFC 1123 label. */
const namespaceName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function isObjectName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253 && objectName.test(value);
}

function isNamespaceName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && namespaceName.test(value);
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * The target a resolved Cluster Explorer node names, or undefined for anything else (a folder,
 * a context, a kind we have no command for, a malformed or hostile name).
 *
 * A resource node is `{ nodeType: 'resource', resourceKind: { manifestKind, abbreviation },
 * name, namespace, metadata? }` (ClusterExplorerV1.ClusterExplorerResourceNode); the namespace
 * of a namespaced kind is taken from `metadata.namespace` when `namespace` is null.
 */
export function targetOfExplorerNode(node: unknown): KubernetesToolsTarget | undefined {
  const fields = record(node);
  if (fields?.nodeType !== 'resource') {
    return undefined;
  }
  const manifestKind = record(fields.resourceKind)?.manifestKind;
  const name = fields.name;
  if (!isObjectName(name)) {
    return undefined;
  }
  if (manifestKind === 'Node') {
    return { kind: 'node', name };
  }
  if (manifestKind !== 'Pod' && manifestKind !== 'Service') {
    return undefined;
  }
  const namespace = fields.namespace ?? record(fields.metadata)?.namespace;
  if (!isNamespaceName(namespace)) {
    return undefined;
  }
  return { kind: manifestKind === 'Pod' ? 'pod' : 'service', namespace, name };
}

/** The kubeconfig the Kubernetes extension uses, as far as we can follow it. */
export type KubernetesToolsKubeconfig =
  /** A path list in `KUBECONFIG` form (the extension passes `KUBECONFIG` through as it is). */
  | { readonly kind: 'host'; readonly paths: string }
  /** A path we cannot read (inside WSL), or an answer we do not understand. */
  | { readonly kind: 'unsupported'; readonly reason: string };

/** Reads a `ConfigurationV1.KubeconfigPath` (`{ pathType: 'host', hostPath }` or `{ pathType: 'wsl', wslPath }`). */
export function kubeconfigOfPath(value: unknown): KubernetesToolsKubeconfig {
  const fields = record(value);
  if (fields?.pathType === 'host' && typeof fields.hostPath === 'string' && fields.hostPath.trim() !== '' && !fields.hostPath.includes('\0')) {
    return { kind: 'host', paths: fields.hostPath };
  }
  if (fields?.pathType === 'wsl') {
    return { kind: 'unsupported', reason: 'the kubeconfig is inside WSL' };
  }
  return { kind: 'unsupported', reason: `an unknown kubeconfig path ${JSON.stringify(value)?.slice(0, 200) ?? String(value)}` };
}

/** The context name an `onDidChangeContext` event carries, if it is one. */
export function contextOfEvent(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' && value.length <= 253 ? value : undefined;
}

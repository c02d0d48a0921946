/**
 * The node and diagnostic layers (src/node, src/diagnostics) speak English and know nothing of
 * VS Code; their typed errors carry a stable `code` and, for the debug pod, structured
 * `details`. This is where their words become the user's language: errors by code and
 * details, debug pod progress by stage, the consent's list of privileges by entry. Pure (no
 * `vscode` import) so it is unit tested; `t` is `vscode.l10n.t` in the extension.
 *
 * What has no translation here keeps the core's English message (see {@link localizedErrorMessage}).
 */

import { DiagnosticError } from '../../diagnostics/context.js';
import { SETTING_IMAGE, SETTING_NAMESPACE, SETTING_PULL_SECRETS, imageRegistry } from '../../node/debugPodManager.js';
import type { DebugPodProgress } from '../../node/debugPodManager.js';
import { ContainerPidError, DebugPodError, NodeExecError } from '../../node/errors.js';
import type { Translate } from '../clusterNodes.js';

/** What the command knows that the core's error may not say: the pod it ran on (`ns/name`). */
export interface CoreErrorContext {
  readonly pod?: string;
}

/**
 * The user's sentence for an error of the node or diagnostic layer, or undefined when there is
 * no translation for it (then the core's English message is shown as it is).
 */
export function localizedErrorMessage(error: unknown, t: Translate, context: CoreErrorContext = {}): string | undefined {
  if (error instanceof DebugPodError) {
    return debugPodErrorText(error, t);
  }
  if (error instanceof NodeExecError) {
    return nodeExecErrorText(error, t);
  }
  if (error instanceof ContainerPidError) {
    return containerPidErrorText(error, t, context);
  }
  if (error instanceof DiagnosticError) {
    return diagnosticErrorText(error, t, context);
  }
  return undefined;
}

function debugPodErrorText(error: DebugPodError, t: Translate): string | undefined {
  const details = error.details;
  const node = details.nodeName;
  const namespace = details.namespace;
  const server = details.serverMessage?.trim() ?? '';
  switch (error.code) {
    case 'pod-security':
      if (namespace === undefined) {
        return undefined;
      }
      return t(
        'Namespace {0} enforces the Pod Security level "{1}" (label pod-security.kubernetes.io/enforce={1}), which forbids what a node debug pod needs: host namespaces, a privileged container and a hostPath volume. Choose a namespace that allows privileged pods in the setting {2}, for example one labelled pod-security.kubernetes.io/enforce=privileged, or ask an administrator for one.',
        namespace,
        details.level ?? 'baseline',
        SETTING_NAMESPACE,
      );
    case 'forbidden':
      if (namespace === undefined) {
        return undefined;
      }
      return t(
        'Your Kubernetes user may not {0} {1} in namespace {2} (RBAC refused "{0}" on "{1}"). Ask an administrator for that permission, or choose a namespace where you have it in the setting {3}.',
        details.verb ?? 'create',
        details.resource ?? 'pods',
        namespace,
        SETTING_NAMESPACE,
      );
    case 'unauthorized':
      return t('The API server did not accept your credentials (401 Unauthorized). Log in to the cluster again (refresh your kubeconfig) and retry.');
    case 'namespace-not-found':
      if (namespace === undefined) {
        return undefined;
      }
      return t('Namespace {0} does not exist, so no debug pod can be created there. Set an existing namespace in {1}.', namespace, SETTING_NAMESPACE);
    case 'image-pull': {
      if (node === undefined || details.image === undefined) {
        return undefined;
      }
      return t(
        'Node {0} could not pull the debug image {1} from registry {2} ({3}). Choose an image the node can pull in the setting {4}, for example a copy in a registry your nodes reach; if that registry needs credentials, name a pull secret in {5}.',
        node,
        details.image,
        imageRegistry(details.image),
        server === '' ? 'ErrImagePull' : server,
        SETTING_IMAGE,
        SETTING_PULL_SECRETS,
      );
    }
    case 'node-not-ready':
      if (node === undefined) {
        return undefined;
      }
      return server === ''
        ? t('Node {0} is NotReady, so its kubelet cannot start a debug pod. Check the node (kubectl describe node {0}) and try again once it is Ready.', node)
        : t('Node {0} is NotReady ({1}), so its kubelet cannot start a debug pod. Check the node (kubectl describe node {0}) and try again once it is Ready.', node, server);
    case 'node-not-found':
      return node === undefined || node === ''
        ? t('The pod is not scheduled to a node yet, so there is no node to debug.')
        : t('Node {0} does not exist (any more). Refresh the view and pick a pod on a live node.', node);
    case 'windows-node':
      if (node === undefined) {
        return undefined;
      }
      return t('Node {0} runs Windows. Node diagnostics need a Linux node (host network and PID namespaces, nsenter, iproute2); Windows nodes are not supported.', node);
    case 'unschedulable':
      if (node === undefined) {
        return undefined;
      }
      return server === ''
        ? t('The debug pod cannot run on node {0}. Free resources on the node or pick a pod on another node.', node)
        : t('The debug pod cannot run on node {0} ({1}). Free resources on the node or pick a pod on another node.', node, server);
    case 'pod-failed':
      if (node === undefined) {
        return undefined;
      }
      return server === ''
        ? t('The debug pod on node {0} stopped before it was usable.', node)
        : t('The debug pod on node {0} stopped before it was usable ({1}).', node, server);
    case 'pod-deleted':
      if (namespace === undefined || details.podName === undefined) {
        return undefined;
      }
      return t('The debug pod {0} was deleted while it was starting (by someone else or by a policy). Try again.', `${namespace}/${details.podName}`);
    case 'timeout':
      if (node === undefined) {
        return undefined;
      }
      return t(
        'The debug pod on node {0} was not running in time (last state: {1}). The node may be slow to pull {2}; try again, or raise the start timeout.',
        node,
        server === '' ? '?' : server,
        details.image ?? t('the image'),
      );
    case 'consent-denied':
      return t('No debug pod was created: permission was not given.');
    case 'cancelled':
      return t('Cancelled.');
    case 'api':
      // The API server's own words: they stay as the core put them.
      return undefined;
  }
}

function nodeExecErrorText(error: NodeExecError, t: Translate): string | undefined {
  const details = error.details;
  const server = details.serverMessage?.trim() ?? '';
  switch (error.code) {
    case 'forbidden':
      if (details.namespace === undefined) {
        return undefined;
      }
      return t('Your Kubernetes user may not run commands in pods of namespace {0} (RBAC refused "create" on "pods/exec"). Ask an administrator for that permission.', details.namespace);
    case 'timeout':
      return t('The command did not finish in time; it was stopped.');
    case 'closed':
      return t('The connection to the node closed before the command finished.');
    case 'cancelled':
      return t('The command was cancelled.');
    case 'failed':
      return server === '' ? undefined : t('The command could not run: {0}', server);
    case 'connect':
      if (server === '') {
        return undefined;
      }
      return details.httpStatus === undefined
        ? t('Could not open an exec connection to the debug pod: {0}', server)
        : t('The API server refused the exec (HTTP {0}): {1}', details.httpStatus, server);
  }
}

function containerPidErrorText(error: ContainerPidError, t: Translate, context: CoreErrorContext): string | undefined {
  const pod = context.pod;
  switch (error.code) {
    case 'pod-not-scheduled':
      return pod === undefined ? undefined : t('Pod {0} is not scheduled to a node yet.', pod);
    case 'no-container-id':
      return pod === undefined ? undefined : t('Pod {0} has no running container yet, so it has no process to enter.', pod);
    case 'not-found':
      return pod === undefined
        ? undefined
        : t("Could not find the process of pod {0}'s container on its node (tried crictl, the runtime's state files and /proc/*/cgroup). The container may have just restarted; try again.", pod);
    case 'container-not-found':
    case 'invalid-container-id':
      return undefined;
  }
}

function diagnosticErrorText(error: DiagnosticError, t: Translate, context: CoreErrorContext): string | undefined {
  const pod = context.pod;
  switch (error.code) {
    case 'pod-not-found':
      return pod === undefined ? undefined : t('Pod {0} does not exist (any more). Refresh the view and pick another pod.', pod);
    case 'pod-not-running':
      return pod === undefined ? undefined : t('Pod {0} is not running on a node, so it has no network namespace to inspect.', pod);
    case 'dns-service-not-found':
      return t('Found no cluster DNS service (kube-system/kube-dns, or a service labelled k8s-app=kube-dns) with a ClusterIP. Is CoreDNS installed under another name?');
    default:
      return undefined;
  }
}

/** A progress line of the debug pod (the notification's message), by its stage. */
export function localizedProgress(progress: DebugPodProgress, t: Translate): string {
  const node = progress.nodeName;
  switch (progress.stage) {
    case 'checking-node':
      return t('Checking node {0}…', node);
    case 'consent':
      return t('Waiting for your permission to create a debug pod…');
    case 'creating':
      return t('Creating a debug pod on {0}…', node);
    case 'scheduling':
      return t('Debug pod on {0}: waiting for the kubelet…', node);
    case 'starting': {
      // The core's line is `Debug pod on NODE: PHASE, REASON` (Kubernetes' own words).
      const prefix = `Debug pod on ${node}: `;
      const state = progress.message.startsWith(prefix) ? progress.message.slice(prefix.length) : '';
      return state === '' ? t('Debug pod on {0} is starting…', node) : t('Debug pod on {0} is starting ({1})…', node, state);
    }
    case 'running':
      return t('Debug pod on {0} is running', node);
    case 'reusing':
      return t('Using the debug pod on {0}', node);
  }
}

/**
 * The consent's list of what the debug pod may do (`DEBUG_POD_PRIVILEGES`), translated entry by
 * entry; an entry this version does not know (reworded in the core) stays as the core wrote it.
 */
export function localizedPrivileges(privileges: readonly string[], t: Translate): string[] {
  return privileges.map((privilege) => privilegeTranslation(privilege, t) ?? privilege);
}

/** The translation of one privilege line, matched by its exact English text. */
export function privilegeTranslation(privilege: string, t: Translate): string | undefined {
  switch (privilege) {
    case "runs in the node's network namespace (hostNetwork)":
      return t("runs in the node's network namespace (hostNetwork)");
    case 'sees every process on the node (hostPID)':
      return t('sees every process on the node (hostPID)');
    case 'runs a privileged container (full access to the node)':
      return t('runs a privileged container (full access to the node)');
    case "mounts the node's root filesystem at /host":
      return t("mounts the node's root filesystem at /host");
    case 'tolerates every taint on the node':
      return t('tolerates every taint on the node');
    default:
      return undefined;
  }
}

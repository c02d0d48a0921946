/**
 * The pod diagnostics as commands: Show veth, Dig in Pod Netns, Run in Pod Netns…, Open Pod
 * Netns Terminal, and Remove Debug Pods. Each runs from the tree's pod context menu or from the
 * palette (namespace → pod quick picks), under a cancellable progress notification, through
 * the one command wrapper; typed errors of the node and diagnostic layers become a message.
 */

import * as vscode from 'vscode';

import { DiagnosticError } from '../../diagnostics/context.js';
import type { PodRef } from '../../diagnostics/context.js';
import { digInPod, isValidDnsName } from '../../diagnostics/dig.js';
import { commandLine } from '../../diagnostics/manualCommands.js';
import { preparePodNetnsTerminal, runInNetns } from '../../diagnostics/netns.js';
import { showVeth } from '../../diagnostics/veth.js';
import type { ClusterModel } from '../../kube/clusterModel.js';
import { CancelledError, KubeNetError } from '../../kube/errors.js';
import { summarizePod, summarizeService } from '../../kube/objects.js';
import type { PodSummary } from '../../kube/objects.js';
import type { DebugPodProgress } from '../../node/debugPodManager.js';
import { ContainerPidError, DebugPodError, NodeExecError, isCancellation } from '../../node/errors.js';
import type { Report } from '../../protocol/report.js';
import { PodNode } from '../clusterNodes.js';
import type { Translate } from '../clusterNodes.js';
import { commandIds } from '../commandIds.js';
import { registerCommand } from '../commands.js';
import type { CommandServices } from '../commands.js';
import { kubernetesToolsPod } from '../kubernetesTools.js';
import { plainText } from '../markdown.js';
import { pickPod, requireReady } from '../pickers.js';
import type { ReportPanels } from '../reportPanel.js';
import { digReport, digReportKey } from '../reports/digReport.js';
import { vethReport, vethReportKey } from '../reports/vethReport.js';
import { localizedErrorMessage, localizedProgress } from './coreText.js';
import type { CoreErrorContext } from './coreText.js';
import type { DebugPods } from './debugPods.js';
import { openPodNetnsTerminal } from './podNetnsTerminal.js';
import { splitShellWords } from './shellWords.js';

const t: Translate = (message, ...args) => vscode.l10n.t(message, ...args);

/** How long "Run in Pod Netns" lets a command run. */
const netnsCommandTimeoutMs = 120_000;
/** What "Run in Pod Netns" keeps in memory (the output channel gets all of it as it streams). */
const netnsOutputBufferBytes = 256 * 1024;

/** What the diagnostic commands need. */
export interface DiagnosticCommandServices extends CommandServices {
  readonly model: ClusterModel;
  readonly reports: ReportPanels;
  readonly debugPods: DebugPods;
}

/** A failure of a diagnostic, as the command wrapper shows it (the core's message, its code). */
export class DiagnosticCommandError extends KubeNetError {
  override readonly name = 'DiagnosticCommandError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Turns the core's typed errors into what the command wrapper understands: cancellations and a
 * refused consent into a silent `CancelledError`, the rest into a message with its code, in the
 * display language where there is a translation (`context`: what the command ran on).
 */
export function toCommandError(error: unknown, context: CoreErrorContext = {}): unknown {
  if (isCancellation(error) || DebugPodError.is(error, 'consent-denied')) {
    return new CancelledError();
  }
  if (error instanceof DebugPodError || error instanceof NodeExecError || error instanceof ContainerPidError || error instanceof DiagnosticError) {
    const wrapped = new DiagnosticCommandError(error.code, localizedErrorMessage(error, t, context) ?? error.message, { cause: error });
    // The log shows where the core failed, not where it was translated.
    wrapped.stack = `${error.name} (${error.code}): ${error.stack ?? error.message}`;
    return wrapped;
  }
  return error;
}

/** Registers the diagnostic commands. */
export function registerDiagnosticCommands(services: DiagnosticCommandServices): void {
  const { model, reports, debugPods, log } = services;
  let netnsChannel: vscode.OutputChannel | undefined;
  let lastCommand = 'ip addr';
  // ReportPanels keeps reports in the column of the last one shown.
  const show = (report: Report, key: string): void => {
    reports.showReport(report, { key });
  };

  registerCommand(
    commandIds.showVeth,
    async (arg: unknown) => {
      const pod = await podArgument(arg, model);
      const tools = debugPods.tools();
      const ref = podRef(pod);
      const result = await withDiagnosticProgress(
        t('Show veth of {0}', plainText(`${ref.namespace}/${ref.name}`)),
        (signal, onProgress) => showVeth(tools.context, ref, { signal, onProgress }),
        { pod: `${ref.namespace}/${ref.name}` },
      );
      log.info(`[Diagnostics] veth of ${ref.namespace}/${ref.name}: pod ${result.podInterface?.name ?? '-'} ↔ node ${result.nodeInterface?.name ?? '-'}`);
      show(vethReport(result, t), vethReportKey(tools.contextName, ref.namespace, ref.name));
    },
    services,
  );

  registerCommand(
    commandIds.digInPod,
    async (arg: unknown) => {
      const pod = await podArgument(arg, model);
      const name = await pickDnsName(model, pod.namespace);
      const tools = debugPods.tools();
      const ref = podRef(pod);
      const result = await withDiagnosticProgress(
        t('Dig {0} in {1}', name, plainText(`${ref.namespace}/${ref.name}`)),
        (signal, onProgress) => digInPod(tools.context, ref, name, { signal, onProgress }),
        { pod: `${ref.namespace}/${ref.name}` },
      );
      log.info(`[Diagnostics] dig ${name} in ${ref.namespace}/${ref.name}: ${result.queries.map((query) => `${query.server} ${query.outcome}`).join(', ')}`);
      show(digReport(result, t), digReportKey(tools.contextName, ref.namespace, ref.name, name));
    },
    services,
  );

  registerCommand(
    commandIds.runInPodNetns,
    async (arg: unknown) => {
      const pod = await podArgument(arg, model);
      const line = await vscode.window.showInputBox({
        title: t('Run in the network namespace of {0}', plainText(`${pod.namespace}/${pod.name}`)),
        prompt: t("A command to run on the node inside the pod's network namespace, with the debug image's tools. Quotes group words; there is no shell (no pipes, variables or globs)."),
        placeHolder: 'ss -tlnp',
        value: lastCommand,
        ignoreFocusOut: true,
        validateInput: (value) => {
          const split = splitShellWords(value);
          if (!split.ok) {
            return t('Cannot split the command: {0}', split.error);
          }
          return split.words.length === 0 ? t('Enter a command, e.g. ip route') : undefined;
        },
      });
      if (line === undefined) {
        throw new CancelledError();
      }
      const split = splitShellWords(line);
      if (!split.ok || split.words.length === 0) {
        throw new CancelledError();
      }
      lastCommand = line;
      const argv = split.words;
      const tools = debugPods.tools();
      const ref = podRef(pod);
      netnsChannel ??= services.track(vscode.window.createOutputChannel(t('Kubernetes Network: Pod Netns')));
      const channel = netnsChannel;
      channel.show(true);
      channel.appendLine(`$ ${commandLine(...argv)}`);
      channel.appendLine(t('# in the network namespace of pod {0}/{1} on node {2}', ref.namespace, ref.name, pod.nodeName ?? '?'));
      const started = Date.now();
      try {
        const result = await withDiagnosticProgress(
          t('Run {0} in {1}', plainText(argv[0] ?? '', 60), plainText(`${ref.namespace}/${ref.name}`)),
          (signal, onProgress) =>
            runInNetns(tools.context, ref, argv, {
              signal,
              onProgress,
              timeoutMs: netnsCommandTimeoutMs,
              maxBufferBytes: netnsOutputBufferBytes,
              onStdout: (chunk) => channel.append(chunk),
              onStderr: (chunk) => channel.append(chunk),
            }),
          { pod: `${ref.namespace}/${ref.name}` },
        );
        const output = result.exec.stdout + result.exec.stderr;
        if (output !== '' && !output.endsWith('\n')) {
          channel.appendLine('');
        }
        channel.appendLine(
          t(
            '# exit code {0} · {1} s · PID {2} on node {3} (found by {4})',
            result.exec.exitCode,
            (result.exec.durationMs / 1000).toFixed(2),
            result.pid.pid,
            result.pod.nodeName ?? '?',
            result.pid.method,
          ),
        );
        channel.appendLine('');
        log.info(`[Diagnostics] ran ${JSON.stringify(argv)} in ${ref.namespace}/${ref.name}: exit ${result.exec.exitCode}`);
      } catch (error) {
        const seconds = ((Date.now() - started) / 1000).toFixed(2);
        channel.appendLine(
          error instanceof CancelledError
            ? t('# cancelled after {0} s', seconds)
            : t('# failed after {0} s: {1}', seconds, plainText(error instanceof Error ? error.message : String(error), 1000)),
        );
        channel.appendLine('');
        throw error;
      }
    },
    services,
  );

  registerCommand(
    commandIds.openPodNetnsTerminal,
    async (arg: unknown) => {
      const pod = await podArgument(arg, model);
      const tools = debugPods.tools();
      const ref = podRef(pod);
      const spec = await withDiagnosticProgress(
        t('Open a terminal in the network namespace of {0}', plainText(`${ref.namespace}/${ref.name}`)),
        (signal, onProgress) => preparePodNetnsTerminal({ ...tools.context, runner: tools.runner }, ref, { signal, onProgress }),
        { pod: `${ref.namespace}/${ref.name}` },
      );
      openPodNetnsTerminal(spec, tools.nodeExec, log);
    },
    services,
  );

  registerCommand(
    commandIds.removeDebugPods,
    async () => {
      const removed = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: t('Removing debug pods…') },
        () => debugPods.removeAll(),
      );
      const message = removed === 0 ? t('No debug pods to remove.') : removed === 1 ? t('Removed 1 debug pod.') : t('Removed {0} debug pods.', removed);
      log.info(`[Diagnostics] ${message}`);
      void vscode.window.showInformationMessage(message);
    },
    services,
  );
}

/**
 * Runs `work` under a cancellable progress notification: cancelling aborts the signal, the
 * debug pod's progress becomes the notification's message, and core errors are translated
 * (`context`: what the command runs on, for messages the core's error does not carry).
 */
export async function withDiagnosticProgress<T>(
  title: string,
  work: (signal: AbortSignal, onProgress: (progress: DebugPodProgress) => void) => Promise<T>,
  context: CoreErrorContext = {},
): Promise<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const controller = new AbortController();
    const subscription = token.onCancellationRequested(() => controller.abort());
    try {
      return await work(controller.signal, (update) => progress.report({ message: plainText(localizedProgress(update, t), 200) }));
    } catch (error) {
      throw toCommandError(error, context);
    } finally {
      subscription.dispose();
    }
  });
}

/** The pod a command is for: the tree's pod node, or one picked from running pods. */
async function podArgument(arg: unknown, model: ClusterModel): Promise<PodSummary> {
  if (arg instanceof PodNode) {
    const latest = model.index.pod(arg.namespace, arg.name);
    return latest === undefined ? arg.summary : summarizePod(latest);
  }
  // A pod node of the Kubernetes extension's Cluster Explorer (see features/kubernetesTools.ts).
  return (await kubernetesToolsPod(arg, model)) ?? pickPod(model, (pod) => pod.phase === 'Running' && pod.nodeName !== undefined && !pod.terminating);
}

function podRef(pod: PodSummary): PodRef {
  return { namespace: pod.namespace, name: pod.name };
}

interface NamePick extends vscode.QuickPickItem {
  readonly name: string | undefined;
}

/** Asks for the name to dig: one of the cluster's services, or one typed in. */
async function pickDnsName(model: ClusterModel, podNamespace: string): Promise<string> {
  requireReady(model);
  const namespaces = [...model.index.namespaceNames()].sort((a, b) => Number(b === podNamespace) - Number(a === podNamespace) || a.localeCompare(b));
  const services: NamePick[] = [];
  for (const namespace of namespaces) {
    for (const object of model.index.services(namespace)) {
      const service = summarizeService(object);
      const name = `${service.name}.${service.namespace}.svc.cluster.local`;
      if (!isValidDnsName(name)) {
        continue;
      }
      services.push({
        label: plainText(name),
        description: plainText(service.headless ? t('headless') : (service.externalName ?? service.clusterIP ?? service.type)),
        name,
      });
    }
  }
  const enter: NamePick = { label: t('$(edit) Enter a name…'), alwaysShow: true, name: undefined };
  const picked = await vscode.window.showQuickPick<NamePick>([enter, ...services], {
    title: t('Name to look up from inside the pod'),
    placeHolder: t('Choose a service, or enter any name'),
    matchOnDescription: true,
  });
  if (picked === undefined) {
    throw new CancelledError();
  }
  if (picked.name !== undefined) {
    return picked.name;
  }
  const typed = await vscode.window.showInputBox({
    title: t('Name to look up from inside the pod'),
    prompt: t('A DNS name, e.g. kubernetes.default.svc.cluster.local (dig does not apply the search list: use the full name)'),
    placeHolder: 'kubernetes.default.svc.cluster.local',
    ignoreFocusOut: true,
    validateInput: (value) => (isValidDnsName(value.trim()) ? undefined : t('Letters, digits, "-", "_" and dots only')),
  });
  if (typed === undefined) {
    throw new CancelledError();
  }
  return typed.trim();
}

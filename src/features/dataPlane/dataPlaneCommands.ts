/**
 * The data-plane commands: Show Data Plane, Show Conntrack (node, pod or service), Stream and
 * Stop Conntrack Events, Raise nf_conntrack_max…, Show iptables Rules (nftables in nftables
 * mode; both backends when both hold rules), Trace Service Path, KUBE-SERVICES for This
 * Service, IPVS Backends. Each narrows its argument (tree node, Cluster Explorer node, report
 * button, or a quick pick), runs the core diagnostic under a cancellable progress notification
 * through the one command wrapper, and shows the result as a report, the conntrack view, a
 * read-only document or an output channel.
 */

import * as vscode from 'vscode';

import { isValidNodeName } from '../../diagnostics/cluster.js';
import type { ServiceRef } from '../../diagnostics/cluster.js';
import { CONNTRACK_MAX_RANGE, conntrackForPod, conntrackForService, conntrackUsage, listConntrack, setConntrackMax } from '../../diagnostics/conntrack.js';
import type { ConntrackListing, ConntrackMaxChange, ConntrackUsage } from '../../diagnostics/conntrack.js';
import { detectDataPlane } from '../../diagnostics/dataPlane.js';
import { ipvsBackends } from '../../diagnostics/ipvs.js';
import { dumpRules, fetchRules, kubeServicesView } from '../../diagnostics/rules.js';
import type { DumpKind, RulesDump } from '../../diagnostics/rules.js';
import { traceService } from '../../diagnostics/trace.js';
import type { ClusterModel } from '../../kube/clusterModel.js';
import { CancelledError } from '../../kube/errors.js';
import type { ConntrackTarget } from '../../protocol/conntrack.js';
import type { Report } from '../../protocol/report.js';
import { NodeItemNode, PodNode, ServiceNode } from '../clusterNodes.js';
import type { Translate } from '../clusterNodes.js';
import { commandIds } from '../commandIds.js';
import { registerCommand, reportCommandError, userMessage } from '../commands.js';
import type { CommandServices } from '../commands.js';
import type { DebugPods } from '../diagnostics/debugPods.js';
import { DiagnosticCommandError, toCommandError, withDiagnosticProgress } from '../diagnostics/diagnosticCommands.js';
import { kubernetesToolsNode, kubernetesToolsService } from '../kubernetesTools.js';
import { plainText } from '../markdown.js';
import { pickNode, requireReady } from '../pickers.js';
import type { ReportPanels } from '../reportPanel.js';
import { conntrackMaxRefusedReport, conntrackMaxReport, conntrackMaxReportKey, conntrackViewKey, conntrackViewModel } from '../reports/conntrackReport.js';
import { dataPlaneReport, dataPlaneReportKey } from '../reports/dataPlaneReport.js';
import { ipvsReport, ipvsReportKey } from '../reports/ipvsReport.js';
import { localizeCoreSentence } from '../reports/coreSentences.js';
import { kubeServicesReport, kubeServicesReportKey, traceReport, traceReportKey } from '../reports/traceReport.js';
import type { RulesLanguages } from '../rules/index.js';
import { ConntrackEventStreams } from './conntrackEvents.js';
import { ConntrackPanels } from './conntrackPanel.js';
import type { ConntrackData } from './conntrackPanel.js';
import { OutputDocuments } from './outputDocuments.js';
import { conntrackArgument, firstReadyNode, nodeArgument, nodeOfRecord, nodesOfService, objectOfRecord, pickNodeForService, refText, serviceArgument } from './targets.js';
import type { ServiceArgument } from './targets.js';

const t: Translate = (message, ...args) => vscode.l10n.t(message, ...args);

/** What the data-plane commands need. */
export interface DataPlaneCommandServices extends CommandServices {
  readonly extensionUri: vscode.Uri;
  readonly model: ClusterModel;
  readonly reports: ReportPanels;
  readonly debugPods: DebugPods;
  readonly rules: RulesLanguages;
}

/** Registers the data-plane commands, the conntrack view and its documents. */
export function registerDataPlaneCommands(services: DataPlaneCommandServices): void {
  const { model, reports, debugPods, rules, log, track } = services;
  const outputs = track(new OutputDocuments(log));
  const streams = track(new ConntrackEventStreams(log));

  // ReportPanels keeps reports in the column of the last one shown.
  const show = (report: Report, key: string): void => {
    reports.showReport(report, { key });
  };

  const loadConntrack = async (target: ConntrackTarget): Promise<ConntrackData> => {
    const tools = debugPods.tools();
    const what = target.kind === 'node' ? plainText(target.node) : refText(target);
    return withDiagnosticProgress(t('Reading the conntrack table for {0}', what), async (signal, onProgress) => {
      const options = { signal, onProgress };
      let listing: ConntrackListing;
      switch (target.kind) {
        case 'node':
          listing = await listConntrack(tools.context, target.node, {}, options);
          break;
        case 'pod':
          listing = await conntrackForPod(tools.context, { namespace: target.namespace, name: target.name }, { ...options, node: target.node });
          break;
        case 'service':
          listing = await conntrackForService(tools.context, { namespace: target.namespace, name: target.name }, target.node, options);
          break;
      }
      let usage: ConntrackUsage | null = null;
      try {
        usage = await conntrackUsage(tools.context, target.node, options);
      } catch (error) {
        if (signal.aborted) {
          throw error;
        }
        // The listing stands on its own; the view says the usage is unknown.
        log.warn(`[Conntrack] usage of ${target.node} could not be read: ${error instanceof Error ? error.message : String(error)}`);
      }
      log.info(`[Conntrack] ${target.kind} ${what} on ${target.node}: ${listing.counts.total} entries${usage === null ? '' : `, usage ${usage.count ?? '?'}/${usage.max ?? '?'}`}`);
      return { view: conntrackViewModel(target, listing, usage, new Date(), t), entries: listing.entries, raw: listing.raw };
    });
  };

  const conntrackPanels = track(
    new ConntrackPanels({
      extensionUri: services.extensionUri,
      log,
      load: loadConntrack,
      openRaw: async (target, raw) => {
        const title = target.kind === 'node' ? 'conntrack -L' : `conntrack -L ${target.kind} ${target.namespace}_${target.name}`;
        await outputs.open(target.node, title, raw);
      },
      reportError: (error) => reportCommandError(commandIds.showConntrack, error, log),
      describeError: (error) => userMessage(error),
    }),
  );

  registerCommand(
    commandIds.showDataPlane,
    async (arg: unknown) => {
      const node = await nodeArgument(arg, model, t('Show the data plane of node'));
      const tools = debugPods.tools();
      const info = await withDiagnosticProgress(t('Data plane of {0}', plainText(node)), (signal, onProgress) => detectDataPlane(tools.context, node, { signal, onProgress }));
      log.info(`[DataPlane] ${node}: mode ${info.proxyMode} (${info.proxyModeSource}), chains in ${info.kubeChainsIn}`);
      show(dataPlaneReport(info, t), dataPlaneReportKey(tools.contextName, node));
    },
    services,
  );

  registerCommand(
    commandIds.showConntrack,
    async (arg: unknown) => {
      const target = await conntrackTarget(arg, model);
      const tools = debugPods.tools();
      const data = await loadConntrack(target);
      conntrackPanels.show(conntrackViewKey(tools.contextName, target), target, data);
    },
    services,
  );

  registerCommand(
    commandIds.streamConntrackEvents,
    async (arg: unknown) => {
      const node = await nodeArgument(arg, model, t('Stream the conntrack events of node'));
      const tools = debugPods.tools();
      await streams.start(tools.context, node);
    },
    services,
  );

  registerCommand(
    commandIds.stopConntrackEvents,
    async (arg: unknown) => {
      const running = streams.nodes;
      const named = nodeOfRecord(arg) ?? (arg instanceof NodeItemNode ? arg.name : undefined);
      if (running.length === 0) {
        void vscode.window.showInformationMessage(t('No conntrack events are streaming.'));
        return;
      }
      if (named !== undefined || running.length === 1) {
        streams.stop(named ?? running[0]);
        return;
      }
      const all = t('All nodes');
      const picked = await vscode.window.showQuickPick([all, ...running.map((node) => plainText(node))], { title: t('Stop the conntrack events of') });
      if (picked === undefined) {
        throw new CancelledError();
      }
      streams.stop(picked === all ? undefined : running.find((node) => plainText(node) === picked));
    },
    services,
  );

  registerCommand(
    commandIds.raiseConntrackMax,
    async (arg: unknown) => {
      const node = await nodeArgument(arg, model, t('Raise nf_conntrack_max on node'));
      const tools = debugPods.tools();
      const current = await withDiagnosticProgress(t('Reading nf_conntrack_max on {0}', plainText(node)), (signal, onProgress) =>
        setConntrackMax(tools.context, node, CONNTRACK_MAX_RANGE.min, { signal, onProgress, dryRun: true }),
      );
      const before = current.before ?? 0;
      const count = current.count ?? 0;
      const suggested = Math.min(CONNTRACK_MAX_RANGE.max, Math.max(CONNTRACK_MAX_RANGE.min, nextPowerOfTwo(Math.max(before, count) * 2)));
      const typed = await vscode.window.showInputBox({
        title: t('Raise nf_conntrack_max on node {0}', plainText(node)),
        prompt: t('Now {0}, with {1} connections tracked. The new limit (a whole number from {2} to {3}, above the current count):', before, count, CONNTRACK_MAX_RANGE.min, CONNTRACK_MAX_RANGE.max),
        value: String(suggested),
        ignoreFocusOut: true,
        validateInput: (value) => conntrackMaxProblem(value, count),
      });
      if (typed === undefined || conntrackMaxProblem(typed, count) !== undefined) {
        throw new CancelledError();
      }
      const value = Number(typed.trim());
      if (!current.writable) {
        // Nothing will change: say so, with the commands to run on the node itself.
        const preview = await withDiagnosticProgress(t('Reading nf_conntrack_max on {0}', plainText(node)), (signal, onProgress) =>
          setConntrackMax(tools.context, node, value, { signal, onProgress, dryRun: true }),
        );
        show(conntrackMaxRefusedReport(node, value, readOnlyText(node, value), preview, t), conntrackMaxReportKey(tools.contextName, node));
        return;
      }
      const set = t('Set nf_conntrack_max');
      const detail = [
        t('Node: {0}', plainText(node)),
        t('nf_conntrack_max now: {0}', before),
        t('New value: {0}', value),
        t('Connections tracked now: {0}', count),
        t('Each entry takes about 300 bytes of kernel memory: {0} entries are about {1} MB.', value, Math.round((value * 300) / (1024 * 1024))),
        '',
        t('The value lasts until the node reboots (and kube-proxy may set its own again when it restarts); the report then says how to keep it.'),
      ].join('\n');
      const choice = await vscode.window.showWarningMessage(t('Set nf_conntrack_max on node {0} to {1}?', plainText(node), value), { modal: true, detail }, set);
      if (choice !== set) {
        throw new CancelledError();
      }
      let change: ConntrackMaxChange;
      try {
        change = await withDiagnosticProgress(t('Setting nf_conntrack_max on {0} to {1}', plainText(node), value), (signal, onProgress) => setConntrackMax(tools.context, node, value, { signal, onProgress }));
      } catch (error) {
        if (error instanceof DiagnosticCommandError && error.code === 'not-permitted') {
          show(conntrackMaxRefusedReport(node, value, error.message, { ...current, persist: current.persist, manualCommands: current.manualCommands }, t), conntrackMaxReportKey(tools.contextName, node));
          return;
        }
        throw error;
      }
      log.info(`[Conntrack] nf_conntrack_max on ${node}: ${change.before ?? '?'} → ${change.after ?? '?'} (requested ${value})`);
      show(conntrackMaxReport(change, t), conntrackMaxReportKey(tools.contextName, node));
    },
    services,
  );

  registerCommand(
    commandIds.showRules,
    async (arg: unknown) => {
      const node = await nodeArgument(arg, model, t('Show the kube-proxy rules of node'));
      const tools = debugPods.tools();
      const result = await withDiagnosticProgress(t('Reading the rules of {0}', plainText(node)), (signal, onProgress) => fetchRules(tools.context, node, { signal, onProgress }));
      log.info(`[Rules] ${node}: mode ${result.proxyMode}, ${result.dumps.map((dump) => `${dump.backend} ${dump.summary.lines} lines`).join(', ') || 'no dumps'}`);
      if (result.dumps.length === 0) {
        show(dataPlaneReport(result.dataPlane, t), dataPlaneReportKey(tools.contextName, node));
        void vscode.window.showWarningMessage(plainText(result.notes.map((note) => localizeCoreSentence(note, t)).join(' ') || t('No kube-proxy rules were found on node {0}.', node), 1000));
        return;
      }
      for (const dump of result.dumps) {
        const kind = dumpKind(dump);
        await rules.openRulesDocument({
          node,
          backend: dump.backend,
          text: dump.text,
          title: dump.title.split(' — ')[0],
          refresh: async () => {
            try {
              const [again] = await dumpRules(debugPods.tools().context, node, [kind]);
              return again?.text ?? '';
            } catch (error) {
              throw toCommandError(error);
            }
          },
        });
      }
      if (result.notes.length > 0) {
        void vscode.window.showInformationMessage(plainText(result.notes.map((note) => localizeCoreSentence(note, t)).join(' '), 1000));
      }
    },
    services,
  );

  registerCommand(
    commandIds.traceService,
    async (arg: unknown) => {
      const service = await serviceArgument(arg, model);
      const node = service.pickNode
        ? await pickNodeForService(model, service, t('Trace {0} on node', refText(service.ref)), t('The node whose kube-proxy rules to follow'))
        : service.node;
      const tools = debugPods.tools();
      const trace = await withDiagnosticProgress(t('Tracing {0}', refText(service.ref)), (signal, onProgress) =>
        traceService(tools.context, service.ref, { signal, onProgress, ...(node === undefined ? {} : { node }) }),
      );
      log.info(`[Trace] ${service.ref.namespace}/${service.ref.name} on ${trace.node}: ${trace.ports.length} ports, ${trace.flags.length} findings`);
      show(traceReport(trace, t), traceReportKey(tools.contextName, service.ref.namespace, service.ref.name));
    },
    services,
  );

  registerCommand(
    commandIds.showKubeServicesForService,
    async (arg: unknown) => {
      const service = await serviceArgument(arg, model);
      const node = service.pickNode
        ? await pickNodeForService(model, service, t('KUBE-SERVICES of node'), t('The node whose rules to read'))
        : (service.node ?? defaultNodeForService(model, service));
      const tools = debugPods.tools();
      const view = await withDiagnosticProgress(t('KUBE-SERVICES for {0} on {1}', refText(service.ref), plainText(node)), (signal, onProgress) =>
        kubeServicesView(tools.context, node, service.ref, { signal, onProgress }),
      );
      show(kubeServicesReport(view, t), kubeServicesReportKey(tools.contextName, service.ref.namespace, service.ref.name));
    },
    services,
  );

  registerCommand(
    commandIds.ipvsBackends,
    async (arg: unknown) => {
      const target = await ipvsTarget(arg, model);
      const tools = debugPods.tools();
      const ref: ServiceRef | null = target.service?.ref ?? null;
      const result = await withDiagnosticProgress(
        ref === null ? t('IPVS backends on {0}', plainText(target.node)) : t('IPVS backends of {0} on {1}', refText(ref), plainText(target.node)),
        (signal, onProgress) => ipvsBackends(tools.context, target.node, { signal, onProgress, ...(ref === null ? {} : { service: ref }) }),
      );
      log.info(`[Ipvs] ${target.node}: ${result.kind === 'ipvs' ? `${result.virtualServers.length} virtual servers` : `not in IPVS mode (${result.mode})`}`);
      show(ipvsReport(result, t), ipvsReportKey(tools.contextName, target.node, ref));
    },
    services,
  );
}

/** The next power of two at or above `value` (at least 1). */
function nextPowerOfTwo(value: number): number {
  let power = 1;
  while (power < value && power < Number.MAX_SAFE_INTEGER / 2) {
    power *= 2;
  }
  return power;
}

/** Why `text` is not an acceptable nf_conntrack_max, or undefined. */
export function conntrackMaxProblem(text: string, count: number): string | undefined {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) {
    return vscode.l10n.t('A whole number, e.g. 262144');
  }
  const value = Number(trimmed);
  if (value < CONNTRACK_MAX_RANGE.min || value > CONNTRACK_MAX_RANGE.max) {
    return vscode.l10n.t('From {0} to {1}', CONNTRACK_MAX_RANGE.min, CONNTRACK_MAX_RANGE.max);
  }
  if (value <= count) {
    return vscode.l10n.t('Above the {0} connections tracked now, or new connections are dropped at once', count);
  }
  return undefined;
}

function readOnlyText(node: string, value: number): string {
  return vscode.l10n.t(
    "nf_conntrack_max is read-only from the debug pod on node {0}: the kernel lets only the host's initial network namespace change it. Set it to {1} on the node itself with the commands below.",
    node,
    value,
  );
}

function dumpKind(dump: RulesDump): DumpKind {
  if (dump.backend === 'nftables') {
    return dump.family === 'ip6' ? 'nftables-ip6' : 'nftables';
  }
  return dump.backend;
}

/** A node that runs one of the service's pods (by name), else the first Ready node. */
function defaultNodeForService(model: ClusterModel, service: ServiceArgument): string {
  const withPods = service.summary === undefined ? [] : [...nodesOfService(model, service.summary).keys()].sort();
  const node = withPods[0] ?? firstReadyNode(model);
  if (node === undefined) {
    throw new DiagnosticCommandError('node-not-found', t('The cluster has no Ready node.'));
  }
  return node;
}

/** "Show Conntrack"'s target, with the node whose table to read. */
async function conntrackTarget(arg: unknown, model: ClusterModel): Promise<ConntrackTarget> {
  const narrowed = await conntrackArgument(arg, model);
  switch (narrowed.kind) {
    case 'node':
      return { kind: 'node', node: narrowed.node };
    case 'pod': {
      const node = narrowed.pod.nodeName;
      if (node === undefined || !isValidNodeName(node)) {
        throw new DiagnosticCommandError('pod-not-running', t('Pod {0} is not on a node yet.', refText(narrowed.pod)));
      }
      return { kind: 'pod', namespace: narrowed.pod.namespace, name: narrowed.pod.name, node };
    }
    case 'service': {
      const service = narrowed.service;
      const node =
        service.node !== undefined && !service.pickNode
          ? service.node
          : await pickNodeForService(
              model,
              service,
              t('Conntrack of {0}: node', refText(service.ref)),
              t("Connections are tracked on the client's node: choose the node the clients of {0} run on", refText(service.ref)),
            );
      return { kind: 'service', namespace: service.ref.namespace, name: service.ref.name, node };
    }
  }
}

interface IpvsKindPick extends vscode.QuickPickItem {
  readonly target: 'node' | 'service';
}

/** "IPVS Backends" is for a node, or for a service on a node. */
async function ipvsTarget(arg: unknown, model: ClusterModel): Promise<{ node: string; service: ServiceArgument | null }> {
  if (arg instanceof NodeItemNode || nodeOfRecord(arg) !== undefined || typeof arg === 'string') {
    return { node: await nodeArgument(arg, model, t('IPVS backends of node')), service: null };
  }
  if (arg instanceof ServiceNode || objectOfRecord(arg) !== undefined) {
    return serviceOnNode(await serviceArgument(arg, model), model);
  }
  if (arg instanceof PodNode) {
    throw new CancelledError();
  }
  const explorerNode = await kubernetesToolsNode(arg, model);
  if (explorerNode !== undefined) {
    return { node: explorerNode.name, service: null };
  }
  const explorerService = await kubernetesToolsService(arg, model);
  if (explorerService !== undefined) {
    return serviceOnNode({ ref: { namespace: explorerService.namespace, name: explorerService.name }, summary: explorerService, node: undefined, pickNode: false }, model);
  }
  requireReady(model);
  const picked = await vscode.window.showQuickPick<IpvsKindPick>(
    [
      { label: t('$(vm) A node'), description: t('every IPVS virtual server of the node'), target: 'node' },
      { label: t('$(globe) A service'), description: t("its virtual servers and real servers, compared with its EndpointSlices"), target: 'service' },
    ],
    { title: t('IPVS Backends of') },
  );
  if (picked === undefined) {
    throw new CancelledError();
  }
  if (picked.target === 'node') {
    return { node: (await pickNode(model, { title: t('IPVS backends of node') })).name, service: null };
  }
  return serviceOnNode(await serviceArgument(undefined, model), model);
}

async function serviceOnNode(service: ServiceArgument, model: ClusterModel): Promise<{ node: string; service: ServiceArgument }> {
  const node = service.pickNode ? await pickNodeForService(model, service, t('IPVS backends of {0} on node', refText(service.ref)), t('The node whose IPVS table to read')) : (service.node ?? defaultNodeForService(model, service));
  return { node, service };
}

/**
 * Conntrack results → what the UI shows: a listing and the node's usage → the conntrack view's
 * model (src/protocol/conntrack.ts; the entries follow in chunks), and "Raise
 * nf_conntrack_max" → a report with the value before and after and how to keep it. Pure (no
 * `vscode` import); `t` is `vscode.l10n.t` in the extension.
 */

import type { ConntrackCounts, ConntrackListing, ConntrackMaxChange, ConntrackUsage } from '../../diagnostics/conntrack.js';
import type { ManualCommand } from '../../diagnostics/manualCommands.js';
import type { ConntrackLabels, ConntrackNotice, ConntrackTarget, ConntrackUsageView, ConntrackViewModel, CountList } from '../../protocol/conntrack.js';
import type { KeyValueItem, Report, ReportSection } from '../../protocol/report.js';
import type { Translate } from '../clusterNodes.js';
import { commandIds } from '../commandIds.js';
import { manualCommandSections, orMissing } from './common.js';
import { localizeCoreSentence } from './coreSentences.js';

/** Kernel log "table full" lines the view lists (the last ones). */
const shownTableFullLines = 20;

/** The panel key of a conntrack view (one per target). */
export function conntrackViewKey(context: string, target: ConntrackTarget): string {
  switch (target.kind) {
    case 'node':
      return `conntrack:${context}/node/${target.node}`;
    case 'pod':
      return `conntrack:${context}/pod/${target.namespace}/${target.name}`;
    case 'service':
      return `conntrack:${context}/service/${target.namespace}/${target.name}/${target.node}`;
  }
}

/** The view's words in the display language. */
export function conntrackLabels(t: Translate): ConntrackLabels {
  return {
    protocol: t('Protocol'),
    state: t('State'),
    timeout: t('Timeout'),
    source: t('Source'),
    destination: t('Destination'),
    replySource: t('Reply source'),
    replyDestination: t('Reply destination'),
    flags: t('Flags'),
    mark: t('Mark'),
    filterPlaceholder: t('Filter: address, port, address:port, state, flag… (all words must match)'),
    filterLabel: t('Filter the entries'),
    allProtocols: t('All protocols'),
    allStates: t('All states'),
    byState: t('By state'),
    byProtocol: t('By protocol'),
    byFlag: t('By flag'),
    showing: t('{0} of {1} entries'),
    loading: t('Receiving entries: {0} of {1}…'),
    usage: t('Table usage (nf_conntrack_count of nf_conntrack_max)'),
    usageValue: t('{0} of {1} ({2})'),
    usageUnknown: t('unknown: the nf_conntrack module may not be loaded'),
    nearLimit: t('Near the limit: at 100% the kernel drops packets of new connections.'),
    tableFull: t('Kernel log: "nf_conntrack: table full, dropping packet"'),
    noTableFull: t('No "table full" lines in the kernel log ({0}).'),
    kernelLogUnreadable: t('The kernel log could not be read: "table full" lines cannot be checked.'),
    drops: t('Dropped (conntrack -S drop + early_drop)'),
    buckets: t('Hash buckets'),
    openRaw: t('Open Raw Text'),
    refresh: t('Refresh'),
    copy: t('Copy'),
    commands: t('The same by hand'),
    noEntries: t('No tracked connections.'),
    noMatches: t('No entries match the filter.'),
    notInMemory: t('The entries are not kept after a reload. Refresh to read the table again.'),
    clearFilter: t('Clear filter'),
    sortBy: t('Sort by {0}'),
  };
}

function countList(counts: Record<string, number>): CountList {
  return Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function countsOf(counts: ConntrackCounts): ConntrackViewModel['counts'] {
  return { total: counts.total, byState: countList(counts.byState), byProtocol: countList(counts.byProtocol), byFlag: countList(counts.byFlag) };
}

/** The usage part of the view. */
export function usageView(usage: ConntrackUsage): ConntrackUsageView {
  const totals = usage.stats?.totals;
  const drops = totals === undefined ? null : (totals.drop ?? 0) + (totals.early_drop ?? 0);
  return {
    count: usage.count,
    max: usage.max,
    ratio: usage.ratio,
    buckets: usage.buckets,
    nearLimit: usage.nearLimit,
    tableFull: usage.tableFullEvents.slice(-shownTableFullLines).map((event) => ({ timestamp: event.timestamp, message: event.message })),
    tableFullTotal: usage.tableFullEvents.length,
    kernelLogSource: usage.kernelLogSource,
    drops,
  };
}

/** A command as a copyable block: its description as a comment (line breaks flattened), then the command. */
export function commandBlock(command: ManualCommand, t: Translate): string {
  return `# ${localizeCoreSentence(command.description, t).replace(/[\r\n\u2028\u2029]+/g, ' ')}\n${command.command}`;
}

function describeTarget(target: ConntrackTarget, t: Translate): { title: string; what: string } {
  switch (target.kind) {
    case 'node':
      return { title: t('Conntrack of {0}', target.node), what: t('every tracked connection of node {0}', target.node) };
    case 'pod':
      return { title: t('Conntrack of {0}', `${target.namespace}/${target.name}`), what: t('connections of pod {0} on node {1}', `${target.namespace}/${target.name}`, target.node) };
    case 'service':
      return { title: t('Conntrack of {0}', `${target.namespace}/${target.name}`), what: t('connections to service {0} tracked on node {1}', `${target.namespace}/${target.name}`, target.node) };
  }
}

/**
 * The view model of a listing and the node's usage (null when it could not be read), taken at
 * `takenAt`. The entries themselves are sent after it, in chunks.
 */
export function conntrackViewModel(target: ConntrackTarget, listing: ConntrackListing, usage: ConntrackUsage | null, takenAt: Date, t: Translate): ConntrackViewModel {
  const { title, what } = describeTarget(target, t);
  const notices: ConntrackNotice[] = [];
  for (const note of listing.notes) {
    notices.push({ level: 'info', text: localizeCoreSentence(note, t) });
  }
  for (const warning of usage?.warnings ?? []) {
    notices.push({ level: 'warning', text: localizeCoreSentence(warning, t) });
  }
  for (const problem of listing.problems.slice(0, 20)) {
    notices.push({ level: 'warning', text: problem });
  }
  if (listing.problems.length > 20) {
    notices.push({ level: 'warning', text: t('{0} more lines could not be read.', listing.problems.length - 20) });
  }
  const commands = [...listing.manualCommands];
  for (const command of usage?.manualCommands ?? []) {
    if (!commands.some((known) => known.command === command.command)) {
      commands.push(command);
    }
  }
  return {
    title,
    subtitle: t('{0} · read {1}', what, takenAt.toLocaleTimeString()),
    target,
    takenAt: takenAt.toISOString(),
    usage: usage === null ? null : usageView(usage),
    counts: countsOf(listing.counts),
    entries: listing.entries.length,
    truncated: listing.entriesTruncated,
    notices,
    commands: commands.map((command) => commandBlock(command, t)),
    commandsHeading: t('The same by hand (the first on your workstation, the rest on node {0} as root)', listing.node),
    rawAvailable: listing.raw !== '',
    labels: conntrackLabels(t),
  };
}

/** The panel key of a node's nf_conntrack_max report. */
export function conntrackMaxReportKey(context: string, node: string): string {
  return `conntrackMax:${context}/${node}`;
}

/** The report after "Raise nf_conntrack_max…": before, requested, after, and how to keep it. */
export function conntrackMaxReport(change: ConntrackMaxChange, t: Translate): Report {
  const sections: ReportSection[] = [];
  const applied = change.applied && change.after === change.requested;
  sections.push({
    kind: 'notice',
    level: applied ? 'info' : 'warning',
    text: applied
      ? t('nf_conntrack_max on node {0} is now {1} (it was {2}).', change.node, change.requested, orMissing(change.before))
      : change.applied
        ? t('nf_conntrack_max on node {0} was written with {1}, but the kernel reads back {2}.', change.node, change.requested, orMissing(change.after))
        : t('nf_conntrack_max on node {0} was not changed; it is {1}.', change.node, orMissing(change.before)),
  });
  for (const note of change.notes) {
    if (note !== change.persist.text) {
      sections.push({ kind: 'notice', level: 'info', text: localizeCoreSentence(note, t) });
    }
  }
  const items: KeyValueItem[] = [
    { key: t('Node'), value: change.node, emphasis: 'strong' },
    { key: t('Before'), value: orMissing(change.before) },
    { key: t('Requested'), value: String(change.requested) },
    { key: t('Now'), value: orMissing(change.after), ...(applied ? { emphasis: 'good' as const } : {}) },
    { key: t('Connections tracked'), value: orMissing(change.count) },
  ];
  sections.push({ kind: 'keyValue', heading: t('nf_conntrack_max'), items });
  sections.push({ kind: 'notice', level: 'warning', text: localizeCoreSentence(change.persist.text, t) });
  sections.push({ kind: 'code', heading: t('To keep it after a reboot: {0} on node {1}', change.persist.file, change.node), text: `${change.persist.line}\n` });
  sections.push({ kind: 'actions', actions: [{ label: t('Show Conntrack'), command: commandIds.showConntrack, args: [{ node: change.node }], icon: 'table' }] });
  sections.push(...manualCommandSections(change.manualCommands, change.node, t));
  return { title: t('nf_conntrack_max on {0}', change.node), subtitle: t('{0} → {1}', orMissing(change.before), orMissing(change.after ?? change.requested)), sections };
}

/** The report when nf_conntrack_max cannot be written from the debug pod: the commands to run on the node. */
export function conntrackMaxRefusedReport(node: string, value: number, reason: string, change: Pick<ConntrackMaxChange, 'before' | 'count' | 'persist' | 'manualCommands'>, t: Translate): Report {
  const sections: ReportSection[] = [
    { kind: 'notice', level: 'error', text: localizeCoreSentence(reason, t) },
    {
      kind: 'keyValue',
      heading: t('nf_conntrack_max'),
      items: [
        { key: t('Node'), value: node, emphasis: 'strong' },
        { key: t('Now'), value: orMissing(change.before) },
        { key: t('Requested'), value: String(value) },
        { key: t('Connections tracked'), value: orMissing(change.count) },
      ],
    },
    { kind: 'notice', level: 'warning', text: localizeCoreSentence(change.persist.text, t) },
    { kind: 'code', heading: t('To keep it after a reboot: {0} on node {1}', change.persist.file, node), text: `${change.persist.line}\n` },
    ...manualCommandSections(change.manualCommands, node, t),
  ];
  return { title: t('nf_conntrack_max on {0}', node), subtitle: t('not changed'), sections };
}

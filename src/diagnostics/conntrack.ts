/**
 * Connection tracking on a node: `conntrack -L` for the node, a pod (its IP) or a service (its
 * ClusterIP), read as it streams so that 262,144 entries stay cheap; `conntrack -E` events
 * until stopped; usage against `nf_conntrack_max` with the kernel's "table full" lines; and
 * raising `nf_conntrack_max`.
 */
import { isIP } from 'node:net';
import { parseConntrack, parseConntrackStats } from '../parsers/conntrack.js';
import type { ConntrackEntry, ConntrackStats } from '../parsers/conntrack.js';
import { parseKernelLog } from '../parsers/kernelLog.js';
import type { KernelLogEntry } from '../parsers/kernelLog.js';
import { isCancellation } from '../node/errors.js';
import { DiagnosticError, readPod, requireRunningOnNode, splitSections, summarizePod } from './context.js';
import type { DiagnosticContext, DiagnosticOptions, PodRef, PodSummary } from './context.js';
import { readService, requireNodeName } from './cluster.js';
import type { ServiceRef } from './cluster.js';
import { commandLine, kubectlDebugNodeCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';

/** Protocols `conntrack -p` accepts that this tool passes on. */
export const CONNTRACK_PROTOCOLS = ['tcp', 'udp', 'icmp', 'icmpv6', 'sctp', 'dccp', 'gre', 'udplite'] as const;
export type ConntrackProtocol = (typeof CONNTRACK_PROTOCOLS)[number];

/** Filters of one `conntrack -L`; all given ones must match. */
export interface ConntrackFilter {
  /** Original source (`-s`). */
  readonly src?: string;
  /** Original destination (`-d`): for a service, its ClusterIP. */
  readonly dst?: string;
  /** Reply source (`-r`): after DNAT, the endpoint that answers. */
  readonly replySrc?: string;
  readonly proto?: ConntrackProtocol;
}

/** Entries kept in memory by default (the issue's 262,144-entry table). */
export const DEFAULT_MAX_ENTRIES = 262_144;
/** Raw text kept for the document by default. */
export const DEFAULT_RAW_LIMIT_BYTES = 96 * 1024 * 1024;
/** Usage above this share of nf_conntrack_max is "near the limit". */
export const CONNTRACK_WARNING_RATIO = 0.8;
/** `setConntrackMax` accepts values in this range. */
export const CONNTRACK_MAX_RANGE = { min: 1024, max: 67_108_864 } as const;

/** Throws `invalid-input` unless the filter is made of IP addresses of one family and a known protocol. */
export function validateConntrackFilter(filter: ConntrackFilter): 'ipv4' | 'ipv6' {
  const families = new Set<number>();
  for (const [name, value] of [
    ['--src', filter.src],
    ['--dst', filter.dst],
    ['--reply-src', filter.replySrc],
  ] as const) {
    if (value === undefined) {
      continue;
    }
    const family = typeof value === 'string' ? isIP(value) : 0;
    if (family === 0) {
      throw new DiagnosticError('invalid-input', `${name} must be an IP address, got ${JSON.stringify(value)}.`);
    }
    families.add(family);
  }
  if (families.size > 1) {
    throw new DiagnosticError('invalid-input', 'The filter mixes IPv4 and IPv6 addresses; conntrack lists one family at a time.');
  }
  if (filter.proto !== undefined && !(CONNTRACK_PROTOCOLS as readonly string[]).includes(filter.proto)) {
    throw new DiagnosticError('invalid-input', `--proto must be one of ${CONNTRACK_PROTOCOLS.join(', ')}, got ${JSON.stringify(filter.proto)}.`);
  }
  return families.has(6) ? 'ipv6' : 'ipv4';
}

/** The `conntrack` arguments of one filter (for the manual commands, and what the script builds). */
export function conntrackListArgs(filter: ConntrackFilter): string[] {
  const family = validateConntrackFilter(filter);
  return [
    '-L',
    ...(family === 'ipv6' ? ['-f', 'ipv6'] : []),
    '-o',
    'extended',
    ...(filter.proto !== undefined ? ['-p', filter.proto] : []),
    ...(filter.src !== undefined ? ['-s', filter.src] : []),
    ...(filter.dst !== undefined ? ['-d', filter.dst] : []),
    ...(filter.replySrc !== undefined ? ['-r', filter.replySrc] : []),
  ];
}

/**
 * One `conntrack -L` per 5-word group (family, protocol, src, dst, reply source; `-` for
 * none), each in a marked section. The words become arguments inside a function, so nothing
 * is spliced into the text.
 */
export const CONNTRACK_LIST_SCRIPT = String.raw`if ! command -v conntrack >/dev/null 2>&1; then echo "conntrack is not in the debug image" >&2; exit 127; fi
list() {
  family="$1"; proto="$2"; src="$3"; dst="$4"; rsrc="$5"
  set -- -L -f "$family" -o extended
  if [ "$proto" != "-" ]; then set -- "$@" -p "$proto"; fi
  if [ "$src" != "-" ]; then set -- "$@" -s "$src"; fi
  if [ "$dst" != "-" ]; then set -- "$@" -d "$dst"; fi
  if [ "$rsrc" != "-" ]; then set -- "$@" -r "$rsrc"; fi
  conntrack "$@" 2>&1
}
n=0
while [ "$#" -ge 5 ]; do
  echo "@@kni:list=$n@@"
  list "$1" "$2" "$3" "$4" "$5"
  echo "@@kni:exit=$?@@"
  n=$((n + 1))
  shift 5
done
`;

/** The argv of {@link CONNTRACK_LIST_SCRIPT} for the filters (validated). */
export function conntrackListArgv(filters: readonly ConntrackFilter[]): string[] {
  if (filters.length === 0 || filters.length > 8) {
    throw new RangeError('between 1 and 8 conntrack filters');
  }
  const words: string[] = [];
  for (const filter of filters) {
    const family = validateConntrackFilter(filter);
    words.push(family, filter.proto ?? '-', filter.src ?? '-', filter.dst ?? '-', filter.replySrc ?? '-');
  }
  return ['sh', '-c', CONNTRACK_LIST_SCRIPT, 'kni-conntrack', ...words];
}

/** Counts over a set of entries. */
export interface ConntrackCounts {
  total: number;
  /** By TCP/SCTP/DCCP state; `-` for stateless protocols. */
  byState: Record<string, number>;
  byProtocol: Record<string, number>;
  /** ASSURED, UNREPLIED, OFFLOAD… */
  byFlag: Record<string, number>;
}

export function emptyCounts(): ConntrackCounts {
  return { total: 0, byState: {}, byProtocol: {}, byFlag: {} };
}

export function addToCounts(counts: ConntrackCounts, entry: ConntrackEntry): void {
  counts.total++;
  const state = entry.state ?? '-';
  counts.byState[state] = (counts.byState[state] ?? 0) + 1;
  counts.byProtocol[entry.protocol] = (counts.byProtocol[entry.protocol] ?? 0) + 1;
  for (const flag of entry.flags) {
    counts.byFlag[flag] = (counts.byFlag[flag] ?? 0) + 1;
  }
}

/** The identity of a connection: family, protocol and original tuple (and zone). */
export function conntrackKey(entry: ConntrackEntry): string {
  const o = entry.original;
  return `${entry.family ?? ''} ${entry.protocol} ${o.src} ${o.sport ?? ''} ${o.dst} ${o.dport ?? ''} ${o.extra?.id ?? ''} ${o.extra?.type ?? ''} ${entry.zone ?? ''}`;
}

const SUMMARY_LINE = /^conntrack v[\d.]+ \(conntrack-tools\): (\d+) flow entries have been shown\.$/;
const MARKER = /^@@kni:(.+)@@$/;

/**
 * Reads conntrack output as it arrives: complete lines are parsed in batches, marker lines
 * (`@@kni:…@@`) switch sections, entries are counted (all) and kept (up to `maxEntries`,
 * de-duplicated across sections), the raw text is kept up to `rawLimitBytes`.
 */
export class ConntrackCollector {
  readonly entries: ConntrackEntry[] = [];
  readonly counts = emptyCounts();
  readonly problems: string[] = [];
  /** The tool's own "N flow entries have been shown" count, summed over sections. */
  shownByTool: number | null = null;
  /** Exit code of each section, by section name. */
  readonly sectionExitCodes = new Map<string, number>();
  entriesTruncated = false;
  rawTruncated = false;
  private rawParts: string[] = [];
  private rawBytes = 0;
  private pending = '';
  private lineNumber = 0;
  private readonly seen = new Set<string>();
  private section: string | null = null;

  constructor(
    private readonly options: {
      readonly maxEntries?: number;
      readonly rawLimitBytes?: number;
      /** Called for each new entry, in order (events as they come). */
      readonly onEntry?: (entry: ConntrackEntry) => void;
      /** Keep duplicates (events repeat tuples on purpose). */
      readonly keepDuplicates?: boolean;
    } = {},
  ) {}

  /** Feeds a chunk of output. */
  push(chunk: string): void {
    const text = this.pending + chunk;
    const last = text.lastIndexOf('\n');
    if (last === -1) {
      this.pending = text;
      return;
    }
    this.pending = text.slice(last + 1);
    this.readLines(text.slice(0, last).split('\n'));
  }

  /** Feeds what is left (a last line without a line break). */
  end(): void {
    if (this.pending !== '') {
      const rest = this.pending;
      this.pending = '';
      this.readLines([rest]);
    }
  }

  /** The raw text kept (without section markers). */
  raw(): string {
    return this.rawParts.join('');
  }

  private keepRaw(line: string): void {
    const limit = this.options.rawLimitBytes ?? DEFAULT_RAW_LIMIT_BYTES;
    if (this.rawTruncated) {
      return;
    }
    const size = line.length + 1;
    if (this.rawBytes + size > limit) {
      this.rawTruncated = true;
      return;
    }
    this.rawParts.push(`${line}\n`);
    this.rawBytes += size;
  }

  private readLines(lines: readonly string[]): void {
    let batch: string[] = [];
    let batchStart = 0;
    const flush = (): void => {
      if (batch.length > 0) {
        this.readBatch(batch, batchStart);
        batch = [];
      }
    };
    for (const raw of lines) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      this.lineNumber++;
      const marker = MARKER.exec(line);
      if (marker !== null) {
        flush();
        const exit = /^exit=(\d+)$/.exec(marker[1]);
        if (exit !== null) {
          if (this.section !== null) {
            this.sectionExitCodes.set(this.section, Number(exit[1]));
          }
        } else {
          this.section = marker[1];
        }
        continue;
      }
      const summary = SUMMARY_LINE.exec(line.trim());
      if (summary !== null) {
        flush();
        this.shownByTool = (this.shownByTool ?? 0) + Number(summary[1]);
        continue;
      }
      if (line.trim() === '') {
        continue;
      }
      this.keepRaw(line);
      if (batch.length === 0) {
        batchStart = this.lineNumber;
      }
      batch.push(line);
      if (batch.length >= 4096) {
        flush();
      }
    }
    flush();
  }

  private readBatch(lines: readonly string[], firstLine: number): void {
    const parsed = parseConntrack(lines.join('\n'));
    for (const problem of parsed.problems) {
      if (this.problems.length < 50) {
        this.problems.push(`line ${firstLine + problem.line - 1}: ${problem.reason}: ${problem.text.slice(0, 200)}`);
      }
    }
    const maxEntries = this.options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    for (const entry of parsed.value) {
      entry.line = firstLine + entry.line - 1;
      if (!this.options.keepDuplicates) {
        const key = conntrackKey(entry);
        if (this.seen.has(key)) {
          continue;
        }
        this.seen.add(key);
      }
      addToCounts(this.counts, entry);
      if (this.entries.length < maxEntries) {
        this.entries.push(entry);
      } else {
        this.entriesTruncated = true;
      }
      this.options.onEntry?.(entry);
    }
  }
}

/** A conntrack listing on one node. */
export interface ConntrackListing {
  readonly node: string;
  readonly filters: ConntrackFilter[];
  /** The entries (up to the cap), de-duplicated across the filters. */
  readonly entries: ConntrackEntry[];
  /** Counts over every distinct entry read (also those past the cap). */
  readonly counts: ConntrackCounts;
  /** More entries than the cap: `entries` holds the first ones. */
  readonly entriesTruncated: boolean;
  /** conntrack's own count (summed over the filters; duplicates included). */
  readonly shownByTool: number | null;
  /** The output as printed (cluster text), for a document. */
  readonly raw: string;
  readonly rawTruncated: boolean;
  readonly problems: string[];
  readonly notes: string[];
  readonly manualCommands: ManualCommand[];
}

export interface ConntrackListOptions extends DiagnosticOptions {
  readonly maxEntries?: number;
  readonly rawLimitBytes?: number;
}

async function runListing(context: DiagnosticContext, node: string, filters: readonly ConntrackFilter[], options: ConntrackListOptions): Promise<ConntrackListing> {
  requireNodeName(node);
  const argv = conntrackListArgv(filters);
  const collector = new ConntrackCollector({ maxEntries: options.maxEntries, rawLimitBytes: options.rawLimitBytes });
  const result = await context.runner.run(node, argv, {
    signal: options.signal,
    onProgress: options.onProgress,
    timeoutMs: 180_000,
    // The collector keeps what is needed; the exec keeps only the start (for errors).
    maxBufferBytes: 1024 * 1024,
    onStdout: (chunk) => collector.push(chunk),
  });
  collector.end();
  if (result.exitCode === 127) {
    throw new DiagnosticError('tool-missing', `conntrack is not in the debug image ${context.runner.debugImage()}. Use an image with conntrack-tools (setting kubeNet.debugPod.image).`);
  }
  const notes: string[] = [];
  const problems = [...collector.problems];
  for (const [section, code] of collector.sectionExitCodes) {
    if (code !== 0) {
      problems.push(`conntrack (${section}) exited with ${code}: is the nf_conntrack module loaded on node ${node}?`);
    }
  }
  if (collector.sectionExitCodes.size < filters.length && result.exitCode !== 0) {
    throw new DiagnosticError('command-failed', `conntrack did not run on node ${node} (exit ${result.exitCode}): ${result.stderr.trim().slice(0, 500) || 'no output'}`);
  }
  if (collector.entriesTruncated) {
    notes.push(`More than ${options.maxEntries ?? DEFAULT_MAX_ENTRIES} entries: the first ones are listed, the counts cover all ${collector.counts.total}.`);
  }
  if (collector.rawTruncated) {
    notes.push('The raw output was larger than the memory cap; the document holds its start.');
  }
  const image = context.runner.debugImage();
  return {
    node,
    filters: [...filters],
    entries: collector.entries,
    counts: collector.counts,
    entriesTruncated: collector.entriesTruncated,
    shownByTool: collector.shownByTool,
    raw: collector.raw(),
    rawTruncated: collector.rawTruncated,
    problems,
    notes,
    manualCommands: [kubectlDebugNodeCommand(node, image), ...filters.map((filter) => ({ where: 'node' as const, description: describeFilter(filter), command: commandLine('conntrack', ...conntrackListArgs(filter)) }))],
  };
}

function describeFilter(filter: ConntrackFilter): string {
  const parts = [
    filter.src !== undefined ? `from ${filter.src}` : '',
    filter.dst !== undefined ? `to ${filter.dst}` : '',
    filter.replySrc !== undefined ? `answered by ${filter.replySrc}` : '',
    filter.proto !== undefined ? `(${filter.proto})` : '',
  ].filter((part) => part !== '');
  return parts.length === 0 ? 'Every tracked connection' : `Tracked connections ${parts.join(' ')}`;
}

/** `conntrack -L` on a node, optionally filtered by source, destination and protocol. */
export async function listConntrack(context: DiagnosticContext, node: string, filter: ConntrackFilter = {}, options: ConntrackListOptions = {}): Promise<ConntrackListing> {
  validateConntrackFilter(filter);
  return runListing(context, node, [filter], options);
}

/** Connections of a pod: from its IP, to its IP, or answered by it (after a service's DNAT). */
export async function conntrackForPod(context: DiagnosticContext, ref: PodRef, options: ConntrackListOptions & { readonly node?: string; readonly proto?: ConntrackProtocol } = {}): Promise<ConntrackListing & { readonly pod: PodSummary }> {
  const pod = await readPod(context, ref);
  const podNode = requireRunningOnNode(pod);
  const summary = summarizePod(pod);
  const addresses = summary.podIPs.filter((address) => isIP(address) !== 0).slice(0, 2);
  if (addresses.length === 0) {
    throw new DiagnosticError('pod-not-running', `Pod ${ref.namespace}/${ref.name} has no IP yet.`);
  }
  const filters: ConntrackFilter[] = addresses.flatMap((address) => [
    { src: address, proto: options.proto },
    { dst: address, proto: options.proto },
    { replySrc: address, proto: options.proto },
  ]);
  const node = options.node ?? podNode;
  const listing = await runListing(context, node, filters, options);
  const notes = [...listing.notes];
  notes.unshift(`Connections of pod ${ref.namespace}/${ref.name} (${addresses.join(', ')}) on node ${node}: from the pod, to it, and those a service DNATed to it (reply source).`);
  if (summary.hostNetwork) {
    notes.push('The pod uses the host network: its IP is the node\'s, so every connection of the node is listed.');
  }
  return { ...listing, pod: summary, notes };
}

/** Connections to a service's ClusterIP (original destination) as tracked on `node`, where the clients run. */
export async function conntrackForService(context: DiagnosticContext, ref: ServiceRef, node: string, options: ConntrackListOptions & { readonly proto?: ConntrackProtocol } = {}): Promise<ConntrackListing & { readonly clusterIPs: string[] }> {
  requireNodeName(node);
  const service = await readService(context, ref);
  const clusterIPs = (service.spec?.clusterIPs ?? [service.spec?.clusterIP ?? '']).filter((address) => isIP(address) !== 0);
  if (clusterIPs.length === 0) {
    throw new DiagnosticError('invalid-input', `Service ${ref.namespace}/${ref.name} has no ClusterIP (${service.spec?.clusterIP === 'None' ? 'headless' : service.spec?.type ?? 'no type'}); list the connections of its pods instead.`);
  }
  const listing = await runListing(context, node, clusterIPs.map((address) => ({ dst: address, proto: options.proto })), options);
  return {
    ...listing,
    clusterIPs,
    notes: [`Connections to ${ref.namespace}/${ref.name} (${clusterIPs.join(', ')}) tracked on node ${node}: the reply source of each is the endpoint kube-proxy chose (DNAT). Connections are tracked on the client's node.`, ...listing.notes],
  };
}

/** Usage of the connection-tracking table. */
export interface ConntrackUsage {
  readonly node: string;
  /** nf_conntrack_count; null when unreadable (module not loaded). */
  readonly count: number | null;
  readonly max: number | null;
  /** count / max. */
  readonly ratio: number | null;
  readonly buckets: number | null;
  /** At or above {@link CONNTRACK_WARNING_RATIO}. */
  readonly nearLimit: boolean;
  /** `conntrack -S` per-CPU statistics (drop, early_drop, insert_failed…); null when unavailable. */
  readonly stats: ConntrackStats | null;
  /** Kernel log lines saying "nf_conntrack: table full, dropping packet". */
  readonly tableFullEvents: KernelLogEntry[];
  /** Where the kernel log came from: `dmesg`, `journalctl`; null when it could not be read. */
  readonly kernelLogSource: string | null;
  /** Kernel log lines about conntrack that were read (at most the last 200). */
  readonly kernelLogLines: number;
  readonly warnings: string[];
  readonly manualCommands: ManualCommand[];
}

/**
 * Count, max and buckets from /proc/sys/net/netfilter, `conntrack -S`, and the kernel log's
 * conntrack lines (dmesg, else journalctl, else the node's journalctl under /host). One exec.
 */
export const CONNTRACK_USAGE_SCRIPT = String.raw`d="$1"
for name in count max buckets; do
  echo "@@kni:$name@@"; cat "$d/nf_conntrack_$name"; echo "@@kni:exit=$?@@"
done
echo "@@kni:stats@@"
if command -v conntrack >/dev/null 2>&1; then conntrack -S 2>&1; rc=$?; else rc=127; fi
echo "@@kni:exit=$rc@@"
src=none
out=$(dmesg --time-format iso 2>/dev/null); rc=$?
if [ "$rc" -eq 0 ]; then src=dmesg; else out=$(dmesg 2>&1); rc=$?; if [ "$rc" -eq 0 ]; then src=dmesg; fi; fi
if [ "$rc" -ne 0 ]; then
  err=$(printf '%s' "$out" | head -n 1)
  if command -v journalctl >/dev/null 2>&1 && out=$(journalctl -k --no-pager -q -o short-iso -n 50000 2>&1); then src=journalctl; rc=0
  elif [ -x /host/usr/bin/journalctl ] && out=$(chroot /host journalctl -k --no-pager -q -o short-iso -n 50000 2>&1); then src=host-journalctl; rc=0
  fi
fi
echo "@@kni:kernelLogSource@@"
echo "$src"
if [ "$rc" -ne 0 ]; then echo "$err"; fi
echo "@@kni:exit=$rc@@"
echo "@@kni:kernelLog@@"
if [ "$rc" -eq 0 ]; then printf '%s\n' "$out" | grep -i 'conntrack' | tail -n 200; fi
echo "@@kni:exit=0@@"
`;

/** Where the kernel keeps the conntrack sysctls. */
export const NETFILTER_SYSCTL_DIRECTORY = '/proc/sys/net/netfilter';

function requirePlainPath(path: string): string {
  if (!/^\/[A-Za-z0-9._/-]*$/.test(path) || path.split('/').includes('..')) {
    throw new RangeError(`not a plain absolute path: ${JSON.stringify(path)}`);
  }
  return path;
}

/** The argv of {@link CONNTRACK_USAGE_SCRIPT}; another directory than the kernel's is for tests. */
export function conntrackUsageArgv(directory: string = NETFILTER_SYSCTL_DIRECTORY): string[] {
  return ['sh', '-c', CONNTRACK_USAGE_SCRIPT, 'kni-conntrack-usage', requirePlainPath(directory)];
}

function sectionNumber(text: string | undefined, exitCode: number | null | undefined): number | null {
  if (text === undefined || exitCode !== 0) {
    return null;
  }
  const value = text.trim();
  return /^\d+$/.test(value) ? Number(value) : null;
}

/** Reads the output of {@link CONNTRACK_USAGE_SCRIPT}. Pure. */
export function interpretConntrackUsage(node: string, stdout: string): Omit<ConntrackUsage, 'manualCommands'> {
  const sections = splitSections(stdout);
  const get = (name: string) => sections.find((section) => section.name === name);
  const count = sectionNumber(get('count')?.text, get('count')?.exitCode);
  const max = sectionNumber(get('max')?.text, get('max')?.exitCode);
  const buckets = sectionNumber(get('buckets')?.text, get('buckets')?.exitCode);
  const warnings: string[] = [];
  if (count === null || max === null) {
    warnings.push(`/proc/sys/net/netfilter/nf_conntrack_count or _max could not be read on node ${node}: the nf_conntrack module may not be loaded.`);
  }
  const ratio = count !== null && max !== null && max > 0 ? count / max : null;
  const nearLimit = ratio !== null && ratio >= CONNTRACK_WARNING_RATIO;
  if (nearLimit && ratio !== null) {
    warnings.push(`The connection-tracking table of node ${node} is ${Math.round(ratio * 1000) / 10}% full (${count} of ${max}): at 100% the kernel drops packets of new connections ("nf_conntrack: table full, dropping packet").`);
  }
  let stats: ConntrackStats | null = null;
  const statsSection = get('stats');
  if (statsSection?.exitCode === 0) {
    stats = parseConntrackStats(statsSection.text).value;
  } else if (statsSection?.exitCode === 127) {
    warnings.push('conntrack is not in the debug image: no per-CPU statistics.');
  }
  const sourceSection = get('kernelLogSource');
  const sourceLines = (sourceSection?.text ?? '').split('\n');
  const kernelLogSource = sourceSection?.exitCode === 0 && sourceLines[0] !== 'none' ? sourceLines[0] : null;
  if (kernelLogSource === null) {
    warnings.push(`The kernel log of node ${node} could not be read (${sourceLines.slice(1).join(' ').trim() || 'dmesg and journalctl failed'}): "table full" events cannot be checked.`);
  }
  const logText = get('kernelLog')?.text ?? '';
  const entries = parseKernelLog(logText).value;
  const tableFullEvents = entries.filter((entry) => entry.conntrackTableFull);
  if (tableFullEvents.length > 0) {
    warnings.push(`The kernel of node ${node} logged "nf_conntrack: table full, dropping packet" ${tableFullEvents.length} time(s)${tableFullEvents[tableFullEvents.length - 1].timestamp !== null ? `, last at ${tableFullEvents[tableFullEvents.length - 1].timestamp}` : ''}: packets were dropped.`);
  }
  const drops = stats === null ? 0 : (stats.totals.drop ?? 0) + (stats.totals.early_drop ?? 0);
  if (drops > 0) {
    warnings.push(`conntrack -S counts ${drops} dropped entries (drop + early_drop) since boot.`);
  }
  return { node, count, max, ratio, buckets, nearLimit, stats, tableFullEvents, kernelLogSource, kernelLogLines: entries.length, warnings };
}

/** "Conntrack usage" of a node. One exec. */
export async function conntrackUsage(context: DiagnosticContext, node: string, options: DiagnosticOptions = {}): Promise<ConntrackUsage> {
  requireNodeName(node);
  const result = await context.runner.run(node, conntrackUsageArgv(), { signal: options.signal, onProgress: options.onProgress, timeoutMs: 60_000, maxBufferBytes: 16 * 1024 * 1024 });
  if (result.stdout.trim() === '') {
    throw new DiagnosticError('command-failed', `The conntrack usage checks did not run on node ${node} (exit ${result.exitCode}): ${result.stderr.trim().slice(0, 500) || 'no output'}`);
  }
  const usage = interpretConntrackUsage(node, result.stdout);
  return {
    ...usage,
    manualCommands: [
      kubectlDebugNodeCommand(node, context.runner.debugImage()),
      { where: 'node', description: 'Entries now and the limit', command: commandLine('cat', '/proc/sys/net/netfilter/nf_conntrack_count', '/proc/sys/net/netfilter/nf_conntrack_max') },
      { where: 'node', description: 'Per-CPU statistics (drop, early_drop, insert_failed)', command: commandLine('conntrack', '-S') },
      { where: 'node', description: '"table full" in the kernel log', command: `${commandLine('dmesg', '-T')} | ${commandLine('grep', '-i', 'nf_conntrack: table full')}` },
    ],
  };
}

/** What raising (or lowering) nf_conntrack_max did. */
export interface ConntrackMaxChange {
  readonly node: string;
  readonly requested: number;
  readonly before: number | null;
  /** Read back after the write; null in a dry run. */
  readonly after: number | null;
  readonly count: number | null;
  /** The value was written. */
  readonly applied: boolean;
  readonly dryRun: boolean;
  /** The debug pod may write the value (false: the kernel keeps it read-only there). */
  readonly writable: boolean;
  /** How to make it survive a reboot. */
  readonly persist: { readonly file: string; readonly line: string; readonly text: string };
  readonly notes: string[];
  readonly manualCommands: ManualCommand[];
}

/**
 * Reads the current value and count, whether the file is writable, and (unless the second
 * argument is `dry`) writes the value, as `sysctl -w net.netfilter.nf_conntrack_max=N` does,
 * into the file under the given directory (the kernel's, or a test's): refused when it is
 * below the current count. Constant text; the value is a validated integer argument.
 */
export const CONNTRACK_MAX_SCRIPT = String.raw`value="$1"; mode="$2"; d="$3"; f="$d/nf_conntrack_max"
echo "@@kni:before@@"; cat "$f"; echo "@@kni:exit=$?@@"
echo "@@kni:count@@"; count=$(cat "$d/nf_conntrack_count"); rc=$?; echo "$count"; echo "@@kni:exit=$rc@@"
echo "@@kni:writable@@"; if [ -w "$f" ]; then echo yes; else echo no; fi; echo "@@kni:exit=0@@"
if [ "$mode" = "apply" ]; then
  if [ -n "$count" ] && [ "$value" -lt "$count" ]; then echo "@@kni:refused=below-count@@"; exit 3; fi
  if [ ! -w "$f" ]; then echo "@@kni:refused=read-only@@"; exit 4; fi
  echo "@@kni:write@@"
  printf '%s\n' "$value" > "$f"
  echo "@@kni:exit=$?@@"
  echo "@@kni:after@@"; cat "$f"; echo "@@kni:exit=$?@@"
fi
`;

/** Throws `invalid-input` unless `value` is an integer in {@link CONNTRACK_MAX_RANGE}. */
export function validateConntrackMax(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < CONNTRACK_MAX_RANGE.min || value > CONNTRACK_MAX_RANGE.max) {
    throw new DiagnosticError('invalid-input', `nf_conntrack_max must be a whole number between ${CONNTRACK_MAX_RANGE.min} and ${CONNTRACK_MAX_RANGE.max}, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** The argv of {@link CONNTRACK_MAX_SCRIPT}; another directory than the kernel's is for tests. */
export function conntrackMaxArgv(value: number, dryRun: boolean, directory: string = NETFILTER_SYSCTL_DIRECTORY): string[] {
  return ['sh', '-c', CONNTRACK_MAX_SCRIPT, 'kni-conntrack-max', String(validateConntrackMax(value)), dryRun ? 'dry' : 'apply', requirePlainPath(directory)];
}

/** The text that makes a value permanent on the node. */
export function conntrackMaxPersistence(value: number): ConntrackMaxChange['persist'] {
  const file = '/etc/sysctl.d/90-nf-conntrack-max.conf';
  const line = `net.netfilter.nf_conntrack_max = ${value}`;
  return {
    file,
    line,
    text:
      `The value lasts until the node reboots. To keep it, add "${line}" to ${file} on the node and run "sysctl --system". ` +
      'kube-proxy also sets nf_conntrack_max when it starts (from its conntrack.maxPerCore and conntrack.min settings, maxPerCore × CPUs), so raise those in its configuration too, or it may set its own value again.',
  };
}

/**
 * Sets `net.netfilter.nf_conntrack_max` on the node (the caller has confirmed node and value
 * with the user). `dryRun` only reads the current value and whether it may be written.
 */
export async function setConntrackMax(context: DiagnosticContext, node: string, value: number, options: DiagnosticOptions & { readonly dryRun?: boolean } = {}): Promise<ConntrackMaxChange> {
  requireNodeName(node);
  validateConntrackMax(value);
  const dryRun = options.dryRun === true;
  const result = await context.runner.run(node, conntrackMaxArgv(value, dryRun), { signal: options.signal, onProgress: options.onProgress, timeoutMs: 30_000 });
  const sections = splitSections(result.stdout);
  const get = (name: string) => sections.find((section) => section.name === name);
  const before = sectionNumber(get('before')?.text, get('before')?.exitCode);
  const count = sectionNumber(get('count')?.text, get('count')?.exitCode);
  const writable = get('writable')?.text.trim() === 'yes';
  const persist = conntrackMaxPersistence(value);
  const manualCommands: ManualCommand[] = [
    kubectlDebugNodeCommand(node, context.runner.debugImage()),
    { where: 'node', description: 'Set it now', command: commandLine('sysctl', '-w', `net.netfilter.nf_conntrack_max=${value}`) },
    { where: 'node', description: 'Keep it after a reboot', command: `echo ${commandLine(persist.line)} > ${commandLine(persist.file)} && ${commandLine('sysctl', '--system')}` },
  ];
  if (before === null) {
    throw new DiagnosticError('command-failed', `nf_conntrack_max could not be read on node ${node} (is the nf_conntrack module loaded?): ${result.stderr.trim().slice(0, 300)}`);
  }
  if (sections.some((section) => section.name === 'refused=below-count')) {
    throw new DiagnosticError('invalid-input', `${value} is below the ${count ?? '?'} connections tracked now on node ${node}: new connections would be dropped at once. Choose a value above the current count.`);
  }
  if (sections.some((section) => section.name === 'refused=read-only')) {
    throw new DiagnosticError(
      'not-permitted',
      `nf_conntrack_max is read-only from the debug pod on node ${node}: the kernel lets only the host's initial network namespace change it (a pod without the host network, or a nested/simulated node, cannot). Set it on the node itself: sysctl -w net.netfilter.nf_conntrack_max=${value}.`,
    );
  }
  const notes: string[] = [];
  if (dryRun) {
    notes.push(writable ? `nf_conntrack_max on node ${node} is ${before}; it can be set to ${value}.` : `nf_conntrack_max on node ${node} is ${before}, and it is read-only from the debug pod: setting it would be refused.`);
    return { node, requested: value, before, after: null, count, applied: false, dryRun, writable, persist, notes, manualCommands };
  }
  const write = get('write');
  const after = sectionNumber(get('after')?.text, get('after')?.exitCode);
  if (write === undefined || write.exitCode !== 0) {
    throw new DiagnosticError('command-failed', `Setting nf_conntrack_max to ${value} failed on node ${node}: ${(write?.text ?? result.stderr).trim().slice(0, 300) || `exit ${result.exitCode}`}`);
  }
  if (after !== value) {
    notes.push(`The kernel reads back ${after ?? 'nothing'} instead of ${value}.`);
  }
  notes.push(persist.text);
  return { node, requested: value, before, after, count, applied: true, dryRun, writable, persist, notes, manualCommands };
}

/** How a conntrack event stream ended. */
export interface ConntrackEventsResult {
  readonly node: string;
  readonly entries: number;
  readonly stoppedBy: 'aborted' | 'max-entries' | 'time-limit' | 'exited';
  readonly exitCode: number | null;
  readonly problems: string[];
  readonly manualCommands: ManualCommand[];
}

/**
 * `conntrack -E -o timestamp` under `timeout -s KILL`: the node stops it after the time limit
 * even if the stream's closing does not reach the process.
 */
export const CONNTRACK_EVENTS_SCRIPT = String.raw`limit="$1"; shift
if ! command -v conntrack >/dev/null 2>&1; then echo "conntrack is not in the debug image" >&2; exit 127; fi
if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL "$limit" conntrack -E -o timestamp "$@"; fi
exec conntrack -E -o timestamp "$@"
`;

export function conntrackEventsArgv(limitSeconds: number, filter: ConntrackFilter = {}): string[] {
  if (!Number.isInteger(limitSeconds) || limitSeconds < 1 || limitSeconds > 86_400) {
    throw new RangeError(`not a time limit in seconds: ${limitSeconds}`);
  }
  const family = validateConntrackFilter(filter);
  return [
    'sh',
    '-c',
    CONNTRACK_EVENTS_SCRIPT,
    'kni-conntrack-events',
    String(limitSeconds),
    ...(family === 'ipv6' ? ['-f', 'ipv6'] : []),
    ...(filter.proto !== undefined ? ['-p', filter.proto] : []),
    ...(filter.src !== undefined ? ['-s', filter.src] : []),
    ...(filter.dst !== undefined ? ['-d', filter.dst] : []),
    ...(filter.replySrc !== undefined ? ['-r', filter.replySrc] : []),
  ];
}

export interface ConntrackEventsOptions extends DiagnosticOptions {
  /** Each event, parsed, as it arrives. */
  readonly onEntry: (entry: ConntrackEntry) => void;
  /** Each raw line (for an output channel). */
  readonly onLine?: (line: string) => void;
  /** Stop after this many events (default 100,000). */
  readonly maxEntries?: number;
  /** Stop after this many seconds (default 600); enforced on the node too. */
  readonly maxSeconds?: number;
  readonly filter?: ConntrackFilter;
}

/** Streams `conntrack -E` events until `signal` aborts, `maxEntries` events or `maxSeconds` pass. */
export async function streamConntrackEvents(context: DiagnosticContext, node: string, options: ConntrackEventsOptions): Promise<ConntrackEventsResult> {
  requireNodeName(node);
  const maxEntries = options.maxEntries ?? 100_000;
  const maxSeconds = options.maxSeconds ?? 600;
  const argv = conntrackEventsArgv(maxSeconds, options.filter);
  const stop = new AbortController();
  let stoppedBy: ConntrackEventsResult['stoppedBy'] | null = null;
  let count = 0;
  const onAbort = (): void => {
    stoppedBy ??= 'aborted';
    stop.abort();
  };
  if (options.signal?.aborted) {
    onAbort();
  }
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const collector = new ConntrackCollector({
    maxEntries: 0,
    rawLimitBytes: 0,
    keepDuplicates: true,
    onEntry: (entry) => {
      if (stoppedBy !== null) {
        return;
      }
      count++;
      options.onEntry(entry);
      if (count >= maxEntries) {
        stoppedBy = 'max-entries';
        stop.abort();
      }
    },
  });
  const lineSplitter = options.onLine === undefined ? undefined : new LineSplitter(options.onLine);
  const manualCommands: ManualCommand[] = [kubectlDebugNodeCommand(node, context.runner.debugImage()), { where: 'node', description: 'Connection events as they happen (Ctrl-C stops)', command: commandLine('conntrack', '-E', '-o', 'timestamp', ...argv.slice(5)) }];
  let exitCode: number | null = null;
  try {
    const result = await context.runner.run(node, argv, {
      signal: stop.signal,
      onProgress: options.onProgress,
      timeoutMs: (maxSeconds + 30) * 1000,
      maxBufferBytes: 256 * 1024,
      onStdout: (chunk) => {
        if (stoppedBy === null) {
          lineSplitter?.push(chunk);
          collector.push(chunk);
        }
      },
    });
    exitCode = result.exitCode;
    if (result.exitCode === 127) {
      throw new DiagnosticError('tool-missing', `conntrack is not in the debug image ${context.runner.debugImage()}. Use an image with conntrack-tools (setting kubeNet.debugPod.image).`);
    }
    collector.end();
    stoppedBy ??= result.exitCode === 137 || result.exitCode === 124 ? 'time-limit' : 'exited';
  } catch (error) {
    if (!(stoppedBy !== null && isCancellation(error))) {
      throw error;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return { node, entries: count, stoppedBy: stoppedBy ?? 'exited', exitCode, problems: collector.problems, manualCommands };
}

/** Calls back once per complete line. */
class LineSplitter {
  private pending = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop() ?? '';
    for (const line of lines) {
      this.onLine(line);
    }
  }
}

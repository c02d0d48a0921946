/**
 * The CLI's data-plane commands: mode, rules, trace, ipvs, conntrack. Arguments are validated
 * before any cluster access; each command prints text or, with `--json`, its result.
 */
import { isIP } from 'node:net';
import type { DiagnosticContext } from '../diagnostics/context.js';
import { DiagnosticError } from '../diagnostics/context.js';
import type { DebugPodProgress } from '../node/debugPodManager.js';
import { parseServiceRef, requireNodeName } from '../diagnostics/cluster.js';
import { CONNTRACK_PROTOCOLS, conntrackForService, conntrackUsage, listConntrack, streamConntrackEvents, validateConntrackFilter } from '../diagnostics/conntrack.js';
import type { ConntrackFilter, ConntrackProtocol } from '../diagnostics/conntrack.js';
import { detectDataPlane } from '../diagnostics/dataPlane.js';
import { ipvsBackends } from '../diagnostics/ipvs.js';
import { fetchRules } from '../diagnostics/rules.js';
import { traceService } from '../diagnostics/trace.js';
import type { CliOptions, CommandName, ParsedCommand } from './args.js';
import { clean } from './format.js';
import { formatConntrack, formatConntrackEvent, formatConntrackUsage, formatDataPlane, formatIpvs, formatTrace } from './formatDataPlane.js';

export const DATA_PLANE_COMMANDS: readonly CommandName[] = ['conntrack', 'rules', 'trace', 'ipvs', 'mode'];

export function isDataPlaneCommand(command: CommandName): boolean {
  return DATA_PLANE_COMMANDS.includes(command);
}

/** Throws `invalid-input` for a bad node, service or filter, before the cluster is touched. */
export function validateDataPlaneArgs(parsed: ParsedCommand): void {
  const { command, args, options } = parsed;
  if (command === 'trace') {
    parseServiceRef(args[0]);
    if (options.node !== undefined) {
      requireNodeName(options.node);
    }
    return;
  }
  requireNodeName(args[0]);
  if (options.service !== undefined) {
    parseServiceRef(options.service);
  }
  if (command === 'conntrack') {
    conntrackFilter(options);
  }
}

function conntrackFilter(options: CliOptions): ConntrackFilter {
  const proto = options.proto?.toLowerCase();
  if (proto !== undefined && !(CONNTRACK_PROTOCOLS as readonly string[]).includes(proto)) {
    throw new DiagnosticError('invalid-input', `--proto must be one of ${CONNTRACK_PROTOCOLS.join(', ')}, got ${JSON.stringify(options.proto)}.`);
  }
  for (const [name, value] of [
    ['--src', options.src],
    ['--dst', options.dst],
  ] as const) {
    if (value !== undefined && isIP(value) === 0) {
      throw new DiagnosticError('invalid-input', `${name} must be an IP address, got ${JSON.stringify(value)}.`);
    }
  }
  const filter: ConntrackFilter = { src: options.src, dst: options.dst, proto: proto as ConntrackProtocol | undefined };
  validateConntrackFilter(filter);
  return filter;
}

export interface DataPlaneCommandIo {
  readonly write: (text: string) => void;
  /** Notes and progress that are not the result (stderr). */
  readonly writeError: (text: string) => void;
  readonly json: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DebugPodProgress) => void;
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Runs one data-plane command; returns the exit code. */
export async function runDataPlaneCommand(parsed: ParsedCommand, context: DiagnosticContext, io: DataPlaneCommandIo): Promise<number> {
  const { command, args, options } = parsed;
  const common = { signal: io.signal, onProgress: io.onProgress };
  switch (command) {
    case 'mode': {
      const info = await detectDataPlane(context, args[0], common);
      io.write(io.json ? json(info) : `${formatDataPlane(info)}\n`);
      return 0;
    }
    case 'rules': {
      const result = await fetchRules(context, args[0], common);
      if (io.json) {
        io.write(
          json({
            node: result.node,
            proxyMode: result.proxyMode,
            dataPlane: result.dataPlane,
            dumps: result.dumps.map(({ text: _text, ...rest }) => rest),
            notes: result.notes,
            manualCommands: result.manualCommands,
          }),
        );
        return 0;
      }
      for (const dump of result.dumps) {
        // A comment line both iptables-restore and nft accept, so the output stays loadable.
        if (result.dumps.length > 1) {
          io.write(`# ==== ${dump.title.replace(/[\r\n]/g, ' ')} ====\n`);
        }
        io.write(dump.text.endsWith('\n') ? dump.text : `${dump.text}\n`);
      }
      for (const note of result.notes) {
        io.writeError(`note: ${clean(note)}\n`);
      }
      return 0;
    }
    case 'trace': {
      const trace = await traceService(context, parseServiceRef(args[0]), { ...common, node: options.node });
      io.write(io.json ? json(trace) : `${formatTrace(trace)}\n`);
      return 0;
    }
    case 'ipvs': {
      const result = await ipvsBackends(context, args[0], { ...common, service: options.service !== undefined ? parseServiceRef(options.service) : undefined });
      io.write(io.json ? json(result) : `${formatIpvs(result)}\n`);
      return 0;
    }
    case 'conntrack': {
      const node = args[0];
      const filter = conntrackFilter(options);
      if (options.usage) {
        const usage = await conntrackUsage(context, node, common);
        io.write(io.json ? json(usage) : `${formatConntrackUsage(usage)}\n`);
        return 0;
      }
      if (options.events) {
        const result = await streamConntrackEvents(context, node, {
          ...common,
          filter,
          maxEntries: options.max ?? 100_000,
          maxSeconds: options.durationSeconds ?? 60,
          onEntry: (entry) => io.write(io.json ? `${JSON.stringify(entry)}\n` : `${formatConntrackEvent(entry)}\n`),
        });
        if (!io.json) {
          io.writeError(`${result.entries} event(s); stopped: ${result.stoppedBy}\n`);
        }
        return 0;
      }
      const listing =
        options.service !== undefined
          ? await conntrackForService(context, parseServiceRef(options.service), node, { ...common, proto: filter.proto, maxEntries: options.max })
          : await listConntrack(context, node, filter, { ...common, maxEntries: options.max });
      if (io.json) {
        const { raw: _raw, ...rest } = listing;
        io.write(json(rest));
      } else {
        io.write(`${formatConntrack(listing)}\n`);
      }
      return 0;
    }
    default:
      throw new DiagnosticError('invalid-input', `not a data-plane command: ${command}`);
  }
}

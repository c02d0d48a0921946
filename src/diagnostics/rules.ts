/**
 * kube-proxy's rules of a node as text and parsed: `iptables-save` of the backend that holds
 * the KUBE-* chains (both when both do), `nft list table ip kube-proxy` in nftables mode.
 * Also the `iptables -t nat -L KUBE-SERVICES -n` view of one service.
 */
import type { V1Service } from '@kubernetes/client-node';
import { parseIptablesList } from '../parsers/iptablesList.js';
import type { IptablesListRule } from '../parsers/iptablesList.js';
import { parseIptablesSave } from '../parsers/iptablesSave.js';
import type { IptablesSave } from '../parsers/iptablesSave.js';
import { parseServiceComment } from '../parsers/kubeProxyServices.js';
import { parseNft } from '../parsers/nft.js';
import type { NftRuleset } from '../parsers/nft.js';
import type { ParseProblem } from '../parsers/result.js';
import { DiagnosticError } from './context.js';
import type { DiagnosticContext, DiagnosticOptions, ScriptSection } from './context.js';
import { readService, requireNodeName } from './cluster.js';
import type { ServiceRef } from './cluster.js';
import { IPTABLES_SAVE_FUNCTIONS, detectDataPlane } from './dataPlane.js';
import type { DataPlaneInfo, ProxyMode } from './dataPlane.js';
import { commandLine, kubectlDebugNodeCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';

/** Where a dump came from. */
export type RulesBackend = 'iptables-nft' | 'iptables-legacy' | 'nftables';

/** What a dump holds, in numbers. */
export interface RulesSummary {
  readonly lines: number;
  readonly tables: { readonly name: string; readonly chains: number; readonly rules: number }[];
  /** KUBE-* chains (iptables) or chains of the kube-proxy table (nftables). */
  readonly kubeChains: number;
  /** Service ports kube-proxy programs. */
  readonly services: number;
  /** Endpoints over all service ports. */
  readonly endpoints: number;
  readonly problems: number;
}

interface DumpBase {
  /** A title naming node and backend, e.g. `iptables-save (nf_tables) — lab-worker`. */
  readonly title: string;
  /** The command, as run on the node. */
  readonly command: string;
  /** The dump as printed (cluster text). */
  readonly text: string;
  readonly exitCode: number | null;
  /** The output went past the memory cap; `text` holds only its start. */
  readonly truncated: boolean;
  readonly summary: RulesSummary;
  /** Lines the parser could not read. */
  readonly problems: ParseProblem[];
}

export interface IptablesDump extends DumpBase {
  readonly backend: 'iptables-nft' | 'iptables-legacy';
  readonly parsed: IptablesSave;
}

export interface NftablesDump extends DumpBase {
  readonly backend: 'nftables';
  readonly family: 'ip' | 'ip6';
  readonly parsed: NftRuleset;
}

export type RulesDump = IptablesDump | NftablesDump;

/** "Show rules" for a node. */
export interface RulesResult {
  readonly node: string;
  readonly proxyMode: ProxyMode;
  readonly dataPlane: DataPlaneInfo;
  readonly dumps: RulesDump[];
  readonly notes: string[];
  readonly manualCommands: ManualCommand[];
}

/** What {@link RULES_SCRIPT} can dump. */
export type DumpKind = 'iptables-nft' | 'iptables-legacy' | 'nftables' | 'nftables-ip6';

/**
 * Dumps each kind given as an argument (after the table: empty for all tables), each in its
 * own marked section with its exit code. Constant text; the kinds are validated words.
 */
export const RULES_SCRIPT = `${IPTABLES_SAVE_FUNCTIONS}table="$1"; shift
for kind in "$@"; do
  echo "@@kni:$kind@@"
  case "$kind" in
    iptables-nft) if [ -n "$table" ]; then save_nft -t "$table"; else save_nft; fi ;;
    iptables-legacy) if [ -n "$table" ]; then save_legacy -t "$table"; else save_legacy; fi ;;
    nftables) nft list table ip kube-proxy ;;
    nftables-ip6) nft list table ip6 kube-proxy ;;
    *) (exit 2) ;;
  esac
  rc=$?; echo; echo "@@kni:exit=$rc@@"
done
`;

const DUMP_KINDS: readonly DumpKind[] = ['iptables-nft', 'iptables-legacy', 'nftables', 'nftables-ip6'];
const TABLES = ['', 'nat', 'filter', 'mangle', 'raw'] as const;

/** The argv of {@link RULES_SCRIPT}. */
export function rulesArgv(kinds: readonly DumpKind[], table: (typeof TABLES)[number] = ''): string[] {
  if (kinds.length === 0 || kinds.some((kind) => !DUMP_KINDS.includes(kind))) {
    throw new RangeError(`unknown dump kinds ${JSON.stringify(kinds)}`);
  }
  if (!TABLES.includes(table)) {
    throw new RangeError(`unknown table ${JSON.stringify(table)}`);
  }
  return ['sh', '-c', RULES_SCRIPT, 'kni-rules', table, ...kinds];
}

/** Which dumps show kube-proxy's rules on a node with this data plane (never none when any rules exist). */
export function chooseDumps(dataPlane: DataPlaneInfo): { kinds: DumpKind[]; notes: string[] } {
  const kinds: DumpKind[] = [];
  const notes: string[] = [];
  if (dataPlane.nftKubeProxyTable) {
    if (dataPlane.nftTables.includes('ip kube-proxy')) {
      kinds.push('nftables');
    }
    if (dataPlane.nftTables.includes('ip6 kube-proxy')) {
      kinds.push('nftables-ip6');
    }
  }
  if (dataPlane.kubeChainsIn === 'nft' || dataPlane.kubeChainsIn === 'both') {
    kinds.push('iptables-nft');
  }
  if (dataPlane.kubeChainsIn === 'legacy' || dataPlane.kubeChainsIn === 'both') {
    kinds.push('iptables-legacy');
  }
  if (dataPlane.kubeChainsIn === 'both') {
    notes.push('Both iptables backends hold kube-proxy chains; both dumps are shown. The kernel evaluates both.');
  }
  if (dataPlane.nftKubeProxyTable && dataPlane.kubeChainsIn !== 'none') {
    notes.push('kube-proxy\'s nftables table and iptables kube-proxy chains both exist; the iptables ones are probably leftovers of the iptables mode.');
  }
  if (kinds.length === 0) {
    const { nft, legacy } = dataPlane.iptablesBackends;
    if (nft.tables.length > 0) {
      kinds.push('iptables-nft');
    } else if (legacy.tables.length > 0) {
      kinds.push('iptables-legacy');
    }
    notes.push(
      dataPlane.kubeProxyAbsent
        ? `kube-proxy is not running on node ${dataPlane.node}${dataPlane.replacedBy !== null ? ` (replaced by ${dataPlane.replacedBy})` : ''}: there are no kube-proxy rules.${kinds.length > 0 ? ' Shown is what iptables holds anyway.' : ''}`
        : `No kube-proxy rules were found on node ${dataPlane.node}.${kinds.length > 0 ? ' Shown is what iptables holds anyway.' : ''}`,
    );
  }
  return { kinds, notes };
}

function titleOf(kind: DumpKind, node: string): string {
  switch (kind) {
    case 'iptables-nft':
      return `iptables-save (nf_tables) — ${node}`;
    case 'iptables-legacy':
      return `iptables-save (legacy) — ${node}`;
    case 'nftables':
      return `nft list table ip kube-proxy — ${node}`;
    case 'nftables-ip6':
      return `nft list table ip6 kube-proxy — ${node}`;
  }
}

function commandOf(kind: DumpKind, table: string): string {
  switch (kind) {
    case 'iptables-nft':
      return commandLine('iptables-nft-save', ...(table !== '' ? ['-t', table] : []));
    case 'iptables-legacy':
      return commandLine('iptables-legacy-save', ...(table !== '' ? ['-t', table] : []));
    case 'nftables':
      return commandLine('nft', 'list', 'table', 'ip', 'kube-proxy');
    case 'nftables-ip6':
      return commandLine('nft', 'list', 'table', 'ip6', 'kube-proxy');
  }
}

function countLines(text: string): number {
  if (text === '') {
    return 0;
  }
  let count = 1;
  let index = text.indexOf('\n');
  while (index !== -1) {
    count++;
    index = text.indexOf('\n', index + 1);
  }
  return text.endsWith('\n') ? count - 1 : count;
}

/** Reads one dump section. Pure. */
export function readDump(kind: DumpKind, node: string, text: string, exitCode: number | null, truncated: boolean, table = ''): RulesDump {
  const base = { title: titleOf(kind, node), command: commandOf(kind, table), text, exitCode, truncated };
  if (kind === 'nftables' || kind === 'nftables-ip6') {
    const parsed = parseNft(text);
    const tables = parsed.value.tables;
    return {
      ...base,
      backend: 'nftables',
      family: kind === 'nftables' ? 'ip' : 'ip6',
      parsed: parsed.value,
      problems: parsed.problems,
      summary: {
        lines: countLines(text),
        tables: tables.map((item) => ({ name: `${item.family} ${item.name}`.trim(), chains: item.chains.length, rules: item.chains.reduce((sum, chain) => sum + chain.rules.length, 0) })),
        kubeChains: tables.filter((item) => item.name === 'kube-proxy').reduce((sum, item) => sum + item.chains.length, 0),
        services: parsed.value.services.length,
        endpoints: parsed.value.services.reduce((sum, service) => sum + service.endpoints.length, 0),
        problems: parsed.problems.length,
      },
    };
  }
  const parsed = parseIptablesSave(text);
  return {
    ...base,
    backend: kind,
    parsed: parsed.value,
    problems: parsed.problems,
    summary: {
      lines: countLines(text),
      tables: parsed.value.tables.map((item) => ({ name: item.name, chains: item.chains.length, rules: item.chains.reduce((sum, chain) => sum + chain.rules.length, 0) })),
      kubeChains: parsed.value.tables.reduce((sum, item) => sum + item.chains.filter((chain) => chain.name.startsWith('KUBE-')).length, 0),
      services: parsed.value.services.length,
      endpoints: parsed.value.services.reduce((sum, service) => sum + service.endpoints.length, 0),
      problems: parsed.problems.length,
    },
  };
}

/**
 * Like `splitSections`, but a section ends at its exit marker: what follows it (the final line
 * break) is not part of the dump.
 */
export function splitClosedSections(stdout: string): ScriptSection[] {
  const sections: { name: string; lines: string[]; exitCode: number | null; closed: boolean }[] = [];
  let current: (typeof sections)[number] | undefined;
  for (const line of stdout.split('\n')) {
    const marker = /^@@kni:(.+)@@$/.exec(line);
    if (marker === null) {
      if (current !== undefined && !current.closed) {
        current.lines.push(line);
      }
      continue;
    }
    const exit = /^exit=(\d+)$/.exec(marker[1]);
    if (exit !== null) {
      if (current !== undefined) {
        current.exitCode = Number(exit[1]);
        current.closed = true;
      }
      continue;
    }
    current = { name: marker[1], lines: [], exitCode: null, closed: false };
    sections.push(current);
  }
  return sections.map((section) => ({ name: section.name, text: section.lines.join('\n'), exitCode: section.exitCode }));
}

/** Runs {@link RULES_SCRIPT} for `kinds` on the node and reads each dump. */
export async function dumpRules(
  context: DiagnosticContext,
  node: string,
  kinds: readonly DumpKind[],
  options: DiagnosticOptions & { readonly table?: (typeof TABLES)[number]; readonly maxBufferBytes?: number } = {},
): Promise<RulesDump[]> {
  const table = options.table ?? '';
  const result = await context.runner.run(node, rulesArgv(kinds, table), {
    signal: options.signal,
    onProgress: options.onProgress,
    timeoutMs: 120_000,
    maxBufferBytes: options.maxBufferBytes ?? 128 * 1024 * 1024,
  });
  const sections = splitClosedSections(result.stdout);
  const dumps: RulesDump[] = [];
  for (const kind of kinds) {
    const section = sections.find((item) => item.name === kind);
    if (section === undefined) {
      if (result.truncated) {
        continue;
      }
      throw new DiagnosticError('command-failed', `The rules dump (${kind}) did not run on node ${node} (exit ${result.exitCode}): ${result.stderr.trim().slice(0, 500) || 'no output'}`);
    }
    if (section.exitCode === 127) {
      throw new DiagnosticError('tool-missing', `${commandOf(kind, table).split(' ')[0]} is not in the debug image ${context.runner.debugImage()}. Use an image with iptables and nftables (setting kubeNet.debugPod.image).`);
    }
    // The script adds one line break before the exit marker.
    const text = section.text.endsWith('\n') ? section.text.slice(0, -1) : section.text;
    const isLast = section === sections[sections.length - 1];
    dumps.push(readDump(kind, node, text, section.exitCode, result.truncated && isLast, table));
  }
  return dumps;
}

/** "Show rules" of a node: the dumps that hold kube-proxy's rules, chosen by its data plane. Two execs. */
export async function fetchRules(context: DiagnosticContext, node: string, options: DiagnosticOptions & { readonly dataPlane?: DataPlaneInfo; readonly maxBufferBytes?: number } = {}): Promise<RulesResult> {
  requireNodeName(node);
  const dataPlane = options.dataPlane ?? (await detectDataPlane(context, node, options));
  const { kinds, notes } = chooseDumps(dataPlane);
  const dumps = kinds.length === 0 ? [] : await dumpRules(context, node, kinds, options);
  for (const dump of dumps) {
    if (dump.truncated) {
      notes.push(`The ${dump.title} output was larger than the memory cap; only its start is shown.`);
    }
    if (dump.exitCode !== 0) {
      notes.push(`${dump.command} exited with ${dump.exitCode ?? 'no exit code'}.`);
    }
  }
  return {
    node,
    proxyMode: dataPlane.proxyMode,
    dataPlane,
    dumps,
    notes,
    manualCommands: [kubectlDebugNodeCommand(node, context.runner.debugImage()), ...kinds.map((kind) => ({ where: 'node' as const, description: titleOf(kind, node).split(' — ')[0], command: commandOf(kind, '') }))],
  };
}

/** `iptables -t nat -L KUBE-SERVICES -n` with the backend's own binary. */
export const KUBE_SERVICES_LIST_SCRIPT = String.raw`backend="$1"
if command -v "iptables-$backend" >/dev/null 2>&1; then exec "iptables-$backend" -t nat -L KUBE-SERVICES -n
elif command -v "xtables-$backend-multi" >/dev/null 2>&1; then exec "xtables-$backend-multi" iptables -t nat -L KUBE-SERVICES -n
else echo "no iptables-$backend in the debug image" >&2; exit 127; fi
`;

export function kubeServicesListArgv(backend: 'nft' | 'legacy'): string[] {
  if (backend !== 'nft' && backend !== 'legacy') {
    throw new RangeError(`unknown backend ${JSON.stringify(backend)}`);
  }
  return ['sh', '-c', KUBE_SERVICES_LIST_SCRIPT, 'kni-kube-services', backend];
}

/** One backend's KUBE-SERVICES lines for a service. */
export interface KubeServicesBackendView {
  readonly backend: RulesBackend;
  readonly command: string;
  /** The `Chain …` header and column header, then the service's rule lines (cluster text). */
  readonly text: string;
  readonly rules: IptablesListRule[];
}

/** "KUBE-SERVICES for this service". */
export interface KubeServicesView {
  readonly node: string;
  readonly service: ServiceRef;
  readonly proxyMode: ProxyMode;
  readonly addresses: string[];
  readonly views: KubeServicesBackendView[];
  readonly notes: string[];
  readonly manualCommands: ManualCommand[];
}

/** The service's own addresses: ClusterIPs, external IPs, load-balancer ingress IPs. */
export function serviceAddresses(service: V1Service): string[] {
  const addresses = new Set<string>();
  for (const address of [service.spec?.clusterIP, ...(service.spec?.clusterIPs ?? []), ...(service.spec?.externalIPs ?? []), ...(service.status?.loadBalancer?.ingress ?? []).map((item) => item.ip)]) {
    if (address !== undefined && address !== '' && address !== 'None') {
      addresses.add(address);
    }
  }
  return [...addresses];
}

/**
 * Keeps the lines of `iptables -t nat -L KUBE-SERVICES -n` that belong to the service: its
 * comment names it, or its destination is one of its addresses. Pure.
 */
export function filterKubeServicesList(text: string, ref: ServiceRef, addresses: readonly string[]): { text: string; rules: IptablesListRule[] } {
  const parsed = parseIptablesList(text).value;
  const wanted = `${ref.namespace}/${ref.name}`;
  const keep = new Set<number>();
  const rules: IptablesListRule[] = [];
  for (const chain of parsed.chains) {
    for (const rule of chain.rules) {
      const destination = rule.destination.replace(/\/(32|128)$/, '');
      if (parseServiceComment(rule.comment)?.service === wanted || addresses.includes(destination)) {
        keep.add(rule.line);
        rules.push(rule);
      }
    }
  }
  const lines = text.split('\n');
  const out: string[] = [];
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.startsWith('Chain ') || /^\s*(num\s+)?(pkts\s+bytes\s+)?target\s+prot\s+opt\s/.test(line) || keep.has(lineNumber)) {
      out.push(line);
    }
  });
  return { text: out.join('\n'), rules };
}

/**
 * "KUBE-SERVICES for this service" on a node: in iptables mode the service's lines of
 * `iptables -t nat -L KUBE-SERVICES -n`; in nftables mode its elements of the `service-ips`
 * and `no-endpoint-services` maps.
 */
export async function kubeServicesView(context: DiagnosticContext, node: string, ref: ServiceRef, options: DiagnosticOptions & { readonly dataPlane?: DataPlaneInfo } = {}): Promise<KubeServicesView> {
  requireNodeName(node);
  const service = await readService(context, ref);
  const addresses = serviceAddresses(service);
  const dataPlane = options.dataPlane ?? (await detectDataPlane(context, node, options));
  const views: KubeServicesBackendView[] = [];
  const notes: string[] = [];
  const manualCommands: ManualCommand[] = [kubectlDebugNodeCommand(node, context.runner.debugImage())];
  const backends: ('nft' | 'legacy')[] = [];
  if (dataPlane.kubeChainsIn === 'nft' || dataPlane.kubeChainsIn === 'both') {
    backends.push('nft');
  }
  if (dataPlane.kubeChainsIn === 'legacy' || dataPlane.kubeChainsIn === 'both') {
    backends.push('legacy');
  }
  for (const backend of backends) {
    const result = await context.runner.run(node, kubeServicesListArgv(backend), { signal: options.signal, onProgress: options.onProgress, timeoutMs: 60_000, maxBufferBytes: 64 * 1024 * 1024 });
    if (result.exitCode === 127) {
      throw new DiagnosticError('tool-missing', `iptables-${backend} is not in the debug image ${context.runner.debugImage()}. Use an image with iptables (setting kubeNet.debugPod.image).`);
    }
    if (result.exitCode !== 0) {
      notes.push(`iptables-${backend} -t nat -L KUBE-SERVICES -n exited with ${result.exitCode}: ${result.stderr.trim().slice(0, 300)}`);
      continue;
    }
    const filtered = filterKubeServicesList(result.stdout, ref, addresses);
    const command = commandLine(`iptables-${backend}`, '-t', 'nat', '-L', 'KUBE-SERVICES', '-n');
    views.push({ backend: backend === 'nft' ? 'iptables-nft' : 'iptables-legacy', command, text: filtered.text, rules: filtered.rules });
    manualCommands.push({ where: 'node', description: `KUBE-SERVICES (${backend === 'nft' ? 'nf_tables' : 'legacy'} backend), this service's lines`, command: `${command} | ${commandLine('grep', '-F', '-e', `${ref.namespace}/${ref.name}`, ...addresses.flatMap((address) => ['-e', address]))}` });
    if (filtered.rules.length === 0) {
      notes.push(`KUBE-SERVICES (${backend}) has no line for ${ref.namespace}/${ref.name}: kube-proxy has not programmed it on node ${node}${service.spec?.clusterIP === 'None' ? ' (a headless service gets no rules)' : ''}.`);
    }
  }
  if (dataPlane.nftKubeProxyTable) {
    const [dump] = await dumpRules(context, node, ['nftables'], options);
    const wanted = `${ref.namespace}/${ref.name}`;
    const lines: string[] = [];
    for (const table of dump.backend === 'nftables' ? dump.parsed.tables : []) {
      for (const map of table.maps) {
        if (!['service-ips', 'service-nodeports', 'no-endpoint-services', 'no-endpoint-nodeports', 'firewall-ips'].includes(map.name)) {
          continue;
        }
        const elements = map.elements.filter((element) => (element.value ?? '').includes(`-${wanted}/`) || parseServiceComment(element.comment)?.service === wanted || addresses.includes(element.key.split(' . ')[0]));
        if (elements.length > 0) {
          lines.push(`map ${map.name} (table ${table.family} ${table.name}):`);
          for (const element of elements) {
            lines.push(`  ${element.key}${element.value !== null ? ` : ${element.value}` : ''}${element.comment !== null ? ` comment ${JSON.stringify(element.comment)}` : ''}`);
          }
        }
      }
    }
    if (lines.length === 0) {
      notes.push(`kube-proxy's nftables maps have no element for ${wanted} on node ${node}.`);
    }
    views.push({ backend: 'nftables', command: commandLine('nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips'), text: lines.join('\n'), rules: [] });
    manualCommands.push({ where: 'node', description: "kube-proxy's ClusterIP map (nftables mode)", command: commandLine('nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips') });
  }
  if (views.length === 0) {
    notes.push(`Node ${node} has no kube-proxy rules (mode ${dataPlane.proxyMode}${dataPlane.replacedBy !== null ? `, replaced by ${dataPlane.replacedBy}` : ''}).`);
  }
  return { node, service: ref, proxyMode: dataPlane.proxyMode, addresses, views, notes, manualCommands };
}

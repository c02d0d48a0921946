/**
 * Which data plane a node runs: kube-proxy's mode (its own `/proxyMode` answer, else the rules
 * found), which iptables backend holds the KUBE-* chains, whether kube-proxy's nftables table
 * or IPVS virtual servers exist, and whether something else (Cilium, Calico eBPF, kube-router)
 * took kube-proxy's place. One exec on the node; the output is read by a pure function.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { apiFailure } from '../node/kubeStatus.js';
import { DiagnosticError, splitSections } from './context.js';
import type { DiagnosticContext, DiagnosticOptions, ScriptSection } from './context.js';
import { requireNodeName } from './cluster.js';
import { commandLine, kubectlDebugNodeCommand } from './manualCommands.js';
import type { ManualCommand } from './manualCommands.js';

export type ProxyMode = 'iptables' | 'nftables' | 'ipvs' | 'kernelspace' | 'none' | 'unknown';

/** Where the mode came from: kube-proxy's answer, the rules or interfaces found, or nowhere. */
export type ProxyModeSource = 'proxyMode-endpoint' | 'rules' | 'interfaces' | 'none';

/** What one iptables backend (nf_tables or legacy x_tables) holds. */
export interface IptablesBackendSummary {
  /** The save tool for this backend ran (exit 0). */
  readonly available: boolean;
  readonly exitCode: number | null;
  /** Tables that have any chain. */
  readonly tables: string[];
  /** Every `KUBE-*` chain, in all tables (kubelet's KUBE-FIREWALL and canaries included). */
  readonly kubeChains: number;
  /** The chains only kube-proxy creates (KUBE-SERVICES, KUBE-SVC-…, KUBE-SEP-…, KUBE-NODEPORTS…). */
  readonly kubeProxyChains: number;
  /** KUBE-SERVICES exists (in any table). */
  readonly kubeServices: boolean;
  /** KUBE-SVC-* / KUBE-SVL-* chains (service ports with endpoints). */
  readonly serviceChains: number;
  /** KUBE-SEP-* chains (endpoints). */
  readonly endpointChains: number;
  /** CILIUM_* chains. */
  readonly ciliumChains: number;
  /** Chains that are neither KUBE-* nor CILIUM*. */
  readonly otherChains: number;
}

/** The data plane of one node. */
export interface DataPlaneInfo {
  readonly node: string;
  readonly proxyMode: ProxyMode;
  readonly proxyModeSource: ProxyModeSource;
  /** What `curl 127.0.0.1:10249/proxyMode` said. */
  readonly proxyModeEndpoint: { readonly reachable: boolean; readonly answer: string | null; readonly exitCode: number | null };
  readonly iptablesBackends: { readonly nft: IptablesBackendSummary; readonly legacy: IptablesBackendSummary };
  /** Which backend holds kube-proxy's chains (kubelet's own KUBE-* chains do not count). */
  readonly kubeChainsIn: 'nft' | 'legacy' | 'both' | 'none';
  /** `table ip kube-proxy` (or ip6) exists: kube-proxy's nftables mode. */
  readonly nftKubeProxyTable: boolean;
  /** `nft list tables`, as `family name`. */
  readonly nftTables: string[];
  readonly ipvs: { readonly available: boolean; readonly virtualServers: number; readonly reason: string | null };
  /** No kube-proxy answers on the node and none of its rules exist. */
  readonly kubeProxyAbsent: boolean;
  /** What serves services instead, when recognised. */
  readonly replacedBy: 'cilium' | 'calico-ebpf' | 'kube-router' | null;
  /** The interfaces that say something about the data plane (cilium_host, kube-ipvs0, cni0…). */
  readonly interfaces: string[];
  /** The kube-proxy pod on the node per the API (`ns/name`); null when none; undefined when it could not be listed. */
  readonly kubeProxyPod?: string | null;
  /** Plain-words findings. */
  readonly hints: string[];
  /** What looks wrong or could not be read. */
  readonly warnings: string[];
  readonly manualCommands: ManualCommand[];
}

/**
 * Shell functions that run the save tool of each iptables backend, whatever the image calls it
 * (`iptables-nft-save`, `xtables-nft-multi iptables-save`…); 127 when the image has none.
 */
export const IPTABLES_SAVE_FUNCTIONS = String.raw`save_nft() {
  if command -v iptables-nft-save >/dev/null 2>&1; then iptables-nft-save "$@"
  elif command -v xtables-nft-multi >/dev/null 2>&1; then xtables-nft-multi iptables-save "$@"
  else echo "no iptables-nft-save in the debug image" >&2; return 127; fi
}
save_legacy() {
  if command -v iptables-legacy-save >/dev/null 2>&1; then iptables-legacy-save "$@"
  elif command -v xtables-legacy-multi >/dev/null 2>&1; then xtables-legacy-multi iptables-save "$@"
  else echo "no iptables-legacy-save in the debug image" >&2; return 127; fi
}
`;

/**
 * Everything in one exec. Each part's exit code is printed after it. The iptables parts print
 * chain counts (the awk summary), not the dumps, so a 100,000-rule node costs a few lines.
 * IPVS is read only when `ip_vs` is loaded: ipvsadm would otherwise try to load the module.
 */
export const DATA_PLANE_SCRIPT = String.raw`summary='
/^\*/ { table = substr($0, 2); next }
/^:/ {
  name = substr($1, 2)
  if (name ~ /^KUBE-(SVC|SEP|SVL|EXT|FW|XLB)-/) { sub(/-[A-Z0-9]+$/, "-*", name) }
  else if (name !~ /^(KUBE-|CILIUM)/) { name = "other" }
  count[table " " name]++
}
END { for (key in count) print count[key], key }'
${IPTABLES_SAVE_FUNCTIONS}echo "@@kni:proxyMode@@"
if command -v curl >/dev/null 2>&1; then curl -sf --max-time 2 http://127.0.0.1:10249/proxyMode
elif command -v wget >/dev/null 2>&1; then wget -q -T 2 -O - http://127.0.0.1:10249/proxyMode
else (exit 127); fi
rc=$?; echo; echo "@@kni:exit=$rc@@"
for backend in nft legacy; do
  echo "@@kni:iptables-$backend@@"
  # The save tool's exit code, while its output goes through awk: fd 3 carries the code.
  { rc=$( { { "save_$backend" 2>/dev/null; echo "$?" >&3; } | awk "$summary" >&4; } 3>&1 ); } 4>&1
  echo "@@kni:exit=$rc@@"
done
echo "@@kni:nft@@"
if command -v nft >/dev/null 2>&1; then nft list tables; rc=$?; else rc=127; fi
echo "@@kni:exit=$rc@@"
echo "@@kni:ipvs@@"
if [ -e /proc/net/ip_vs ]; then
  if command -v ipvsadm >/dev/null 2>&1; then ipvsadm -Ln | grep -cE '^(TCP|UDP|SCTP|FWM) '; else grep -cE '^(TCP|UDP|SCTP|FWM) ' /proc/net/ip_vs; fi
  rc=0
else
  echo "absent"; rc=3
fi
echo "@@kni:exit=$rc@@"
echo "@@kni:links@@"
ip -o link show | sed -E 's/^[0-9]+: ([^:@ ]+).*/\1/'
echo "@@kni:exit=$?@@"
`;

/** The argv of {@link DATA_PLANE_SCRIPT} (it takes no data). */
export function dataPlaneArgv(): string[] {
  return ['sh', '-c', DATA_PLANE_SCRIPT, 'kni-data-plane'];
}

const KNOWN_MODES = new Set(['iptables', 'nftables', 'ipvs', 'kernelspace']);
/**
 * Chains only kube-proxy creates (iptables and IPVS modes). KUBE-MARK-MASQ, KUBE-MARK-DROP,
 * KUBE-POSTROUTING and KUBE-FIREWALL are left out: kubelets before 1.28 create them too, also
 * on nodes whose kube-proxy runs in nftables mode.
 */
const KUBE_PROXY_ONLY = /^KUBE-(SERVICES|NODEPORTS|EXTERNAL-SERVICES|PROXY-CANARY|PROXY-FIREWALL|FORWARD|SVC-\*|SEP-\*|SVL-\*|EXT-\*|FW-\*|XLB-\*|LOAD-BALANCER|NODE-PORT(-\w+)?|LOOP-BACK|CLUSTER-IP|EXTERNAL-IP(-LOCAL)?|IPVS-[\w-]+|SOURCE-RANGES-FIREWALL)$/;
const INTERESTING_LINK = /^(cilium_|kube-ipvs0$|kube-bridge$|kube-dummy-if$|cni0$|docker0$|flannel|vxlan|tunl0$|weave$|antrea-|ovn-k8s-|genev_sys|nodelocaldns$|bpfnat|bpfout|egress\.calico$|vxlan\.calico$|wireguard\.cali$)/;

/** Reads the iptables summary section (`COUNT TABLE NAME` lines). */
export function readIptablesSummary(section: ScriptSection | undefined): IptablesBackendSummary {
  const tables = new Set<string>();
  let kubeChains = 0;
  let kubeProxyChains = 0;
  let kubeServices = false;
  let serviceChains = 0;
  let endpointChains = 0;
  let ciliumChains = 0;
  let otherChains = 0;
  for (const line of section?.text.split('\n') ?? []) {
    const match = /^\s*(\d+) (\S+) (\S+)\s*$/.exec(line);
    if (match === null) {
      continue;
    }
    const count = Number(match[1]);
    const name = match[3];
    tables.add(match[2]);
    if (name.startsWith('KUBE-')) {
      kubeChains += count;
      if (KUBE_PROXY_ONLY.test(name)) {
        kubeProxyChains += count;
      }
      if (name === 'KUBE-SERVICES') {
        kubeServices = true;
      } else if (name === 'KUBE-SVC-*' || name === 'KUBE-SVL-*') {
        serviceChains += count;
      } else if (name === 'KUBE-SEP-*') {
        endpointChains += count;
      }
    } else if (name.startsWith('CILIUM')) {
      ciliumChains += count;
    } else {
      otherChains += count;
    }
  }
  return {
    available: section?.exitCode === 0,
    exitCode: section?.exitCode ?? null,
    tables: [...tables].sort(),
    kubeChains,
    kubeProxyChains,
    kubeServices,
    serviceChains,
    endpointChains,
    ciliumChains,
    otherChains,
  };
}

/** What the API says about the node's pods (optional evidence). */
export interface DataPlaneApiFacts {
  /** `ns/name` of the kube-proxy pod on the node; null when there is none; undefined when unknown. */
  readonly kubeProxyPod?: string | null;
  /** `ns/name` of a Cilium agent pod on the node, if any. */
  readonly ciliumPod?: string | null;
}

/** Reads the output of {@link DATA_PLANE_SCRIPT}. Pure; never throws. */
export function interpretDataPlane(node: string, stdout: string, facts: DataPlaneApiFacts = {}): DataPlaneInfo {
  const sections = splitSections(stdout);
  const section = (name: string): ScriptSection | undefined => sections.find((item) => item.name === name);
  const hints: string[] = [];
  const warnings: string[] = [];

  const proxySection = section('proxyMode');
  const answer = proxySection?.text.trim() ?? '';
  const endpointAnswer = proxySection?.exitCode === 0 && answer !== '' ? answer.split('\n')[0].trim() : null;
  const proxyModeEndpoint = { reachable: proxySection?.exitCode === 0, answer: endpointAnswer, exitCode: proxySection?.exitCode ?? null };
  if (proxySection?.exitCode === 127) {
    warnings.push('The debug image has neither curl nor wget: kube-proxy\'s /proxyMode was not asked; the mode comes from the rules.');
  }

  const nft = readIptablesSummary(section('iptables-nft'));
  const legacy = readIptablesSummary(section('iptables-legacy'));
  for (const [label, summary] of [['iptables-nft-save', nft], ['iptables-legacy-save', legacy]] as const) {
    if (summary.exitCode === 127) {
      warnings.push(`${label} is not in the debug image: that backend was not read.`);
    } else if (summary.exitCode !== 0) {
      warnings.push(`${label} failed (exit ${summary.exitCode ?? 'unknown'}): that backend was not read.`);
    }
  }
  const inNft = nft.kubeProxyChains > 0;
  const inLegacy = legacy.kubeProxyChains > 0;
  const kubeChainsIn = inNft && inLegacy ? 'both' : inNft ? 'nft' : inLegacy ? 'legacy' : 'none';

  const nftSection = section('nft');
  const nftTables = (nftSection?.exitCode === 0 ? nftSection.text.split('\n') : [])
    .map((line) => /^table (\S+) (\S+)/.exec(line.trim()))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `${match[1]} ${match[2]}`);
  if (nftSection?.exitCode === 127) {
    warnings.push('nft is not in the debug image: kube-proxy\'s nftables table was not looked for.');
  } else if (nftSection !== undefined && nftSection.exitCode !== 0) {
    warnings.push(`nft list tables failed (exit ${nftSection.exitCode ?? 'unknown'}).`);
  }
  const nftKubeProxyTable = nftTables.includes('ip kube-proxy') || nftTables.includes('ip6 kube-proxy');

  const ipvsSection = section('ipvs');
  const ipvsText = ipvsSection?.text.trim() ?? '';
  const ipvsAvailable = ipvsSection?.exitCode === 0;
  const virtualServers = ipvsAvailable && /^\d+$/.test(ipvsText.split('\n')[0] ?? '') ? Number(ipvsText.split('\n')[0]) : 0;
  const ipvs = {
    available: ipvsAvailable,
    virtualServers,
    reason: ipvsAvailable ? null : 'IPVS is not available on this node: the ip_vs kernel module is not loaded (/proc/net/ip_vs does not exist).',
  };

  const linkNames = (section('links')?.text ?? '').split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const interfaces = [...new Set(linkNames.filter((name) => INTERESTING_LINK.test(name)))];
  const lxcCount = linkNames.filter((name) => name.startsWith('lxc')).length;
  const ciliumLinks = interfaces.some((name) => name.startsWith('cilium_'));
  const ciliumChains = nft.ciliumChains + legacy.ciliumChains;
  const calicoEbpf = interfaces.some((name) => name.startsWith('bpfnat') || name.startsWith('bpfout'));
  const kubeRouter = interfaces.includes('kube-bridge') || interfaces.includes('kube-dummy-if');

  let proxyMode: ProxyMode;
  let proxyModeSource: ProxyModeSource;
  if (endpointAnswer !== null && KNOWN_MODES.has(endpointAnswer)) {
    proxyMode = endpointAnswer as ProxyMode;
    proxyModeSource = 'proxyMode-endpoint';
  } else if (nftKubeProxyTable) {
    proxyMode = 'nftables';
    proxyModeSource = 'rules';
  } else if (virtualServers > 0 && (nft.kubeServices || legacy.kubeServices || interfaces.includes('kube-ipvs0'))) {
    proxyMode = 'ipvs';
    proxyModeSource = 'rules';
  } else if (nft.serviceChains + legacy.serviceChains > 0 || nft.kubeServices || legacy.kubeServices) {
    proxyMode = 'iptables';
    proxyModeSource = 'rules';
  } else if (interfaces.includes('kube-ipvs0')) {
    proxyMode = 'ipvs';
    proxyModeSource = 'interfaces';
  } else if (!nft.available && !legacy.available && nftSection?.exitCode !== 0) {
    proxyMode = 'unknown';
    proxyModeSource = 'none';
  } else {
    proxyMode = 'none';
    proxyModeSource = 'none';
  }
  if (endpointAnswer !== null && !KNOWN_MODES.has(endpointAnswer)) {
    warnings.push(`kube-proxy's /proxyMode answered ${JSON.stringify(endpointAnswer.slice(0, 80))}, which is not a mode this tool knows; the mode was taken from the rules.`);
  }

  const kubeProxyRules = nftKubeProxyTable || inNft || inLegacy;
  const kubeProxyAbsent = !proxyModeEndpoint.reachable && !kubeProxyRules && proxyMode === 'none' && (facts.kubeProxyPod ?? null) === null;
  let replacedBy: DataPlaneInfo['replacedBy'] = null;
  if (ciliumLinks || ciliumChains > 0 || (facts.ciliumPod ?? null) !== null) {
    if (kubeProxyAbsent) {
      replacedBy = 'cilium';
      hints.push(
        `kube-proxy replaced by Cilium: no kube-proxy answers on node ${node} and none of its rules exist, while Cilium is there (${[ciliumLinks ? 'cilium_* interfaces' : '', ciliumChains > 0 ? `${ciliumChains} CILIUM_* chains` : '', lxcCount > 0 ? `${lxcCount} lxc* veths` : '', facts.ciliumPod ? `agent ${facts.ciliumPod}` : ''].filter(Boolean).join(', ')}). Services are handled by Cilium's eBPF programs: use "cilium-dbg service list" in the Cilium agent pod instead of iptables or IPVS.`,
      );
    } else {
      hints.push(`Cilium runs on node ${node} beside kube-proxy (kube-proxy's rules exist too).`);
    }
  } else if (calicoEbpf && kubeProxyAbsent) {
    replacedBy = 'calico-ebpf';
    hints.push(`kube-proxy replaced by Calico's eBPF data plane (bpfnat interfaces, no kube-proxy rules): services are handled in eBPF ("calico-node -bpf nat dump" on the node).`);
  } else if (kubeRouter && kubeProxyAbsent) {
    replacedBy = 'kube-router';
    hints.push('kube-router appears to serve services on this node (kube-bridge / kube-dummy-if interfaces) instead of kube-proxy.');
  } else if (kubeProxyAbsent) {
    hints.push(`No kube-proxy on node ${node}: /proxyMode does not answer and neither iptables backend, nftables nor IPVS holds its rules. Services are either served by another component or not at all.`);
  }

  if (proxyModeSource === 'proxyMode-endpoint') {
    hints.push(`kube-proxy on node ${node} says it runs in ${proxyMode} mode (127.0.0.1:10249/proxyMode).`);
  } else if (proxyModeSource === 'rules') {
    hints.push(`kube-proxy's /proxyMode did not answer on node ${node}${proxyModeEndpoint.exitCode !== null ? ` (exit ${proxyModeEndpoint.exitCode})` : ''}; its rules say ${proxyMode} mode.`);
  }
  if (kubeChainsIn === 'both') {
    warnings.push(
      `Both iptables backends hold kube-proxy chains (nf_tables: ${nft.kubeProxyChains}, legacy: ${legacy.kubeProxyChains}). The kernel runs both sets: usually a leftover after switching the iptables backend, and stale rules in one of them can capture service traffic.`,
    );
  } else if (kubeChainsIn !== 'none' && proxyMode === 'iptables') {
    hints.push(`kube-proxy's chains are in the ${kubeChainsIn === 'nft' ? 'nf_tables (iptables-nft)' : 'legacy (iptables-legacy)'} backend: ${kubeChainsIn === 'nft' ? nft.serviceChains : legacy.serviceChains} service chains, ${kubeChainsIn === 'nft' ? nft.endpointChains : legacy.endpointChains} endpoint chains.`);
  }
  if (proxyMode === 'iptables' && kubeChainsIn === 'none' && proxyModeSource === 'proxyMode-endpoint') {
    warnings.push('kube-proxy says iptables mode, but neither backend holds KUBE-SERVICES: kube-proxy has not written its rules yet, or it cannot (check its logs).');
  }
  if (proxyMode === 'nftables' && !nftKubeProxyTable) {
    warnings.push('kube-proxy says nftables mode, but there is no "table ip kube-proxy": it has not written its rules yet, or nft could not list them.');
  }
  if (proxyMode === 'nftables' && (inNft || inLegacy)) {
    warnings.push('kube-proxy runs in nftables mode, but iptables still holds kube-proxy chains: leftovers of the iptables mode that can still match service traffic.');
  }
  if (proxyMode === 'ipvs' && !ipvs.available) {
    warnings.push('kube-proxy says IPVS mode, but the ip_vs module is not loaded: it fell back, or it is failing.');
  }
  if (proxyMode !== 'ipvs' && ipvs.virtualServers > 0) {
    warnings.push(`IPVS holds ${ipvs.virtualServers} virtual servers although kube-proxy is in ${proxyMode} mode: leftovers of an earlier IPVS mode (or another component such as kube-router).`);
  }
  if (proxyMode === 'kernelspace') {
    hints.push('kernelspace is the Windows mode of kube-proxy (HNS load balancers): iptables, nftables and IPVS do not apply.');
  }
  if (facts.kubeProxyPod !== undefined && facts.kubeProxyPod !== null && !proxyModeEndpoint.reachable && !kubeProxyRules) {
    warnings.push(`Pod ${facts.kubeProxyPod} runs on the node, but kube-proxy neither answers on 127.0.0.1:10249 nor has rules: it may be starting or crash-looping.`);
  }

  const manualCommands: ManualCommand[] = [
    { where: 'node', description: "kube-proxy's mode", command: commandLine('curl', '-s', 'http://127.0.0.1:10249/proxyMode') },
    { where: 'node', description: 'kube-proxy chains in the nf_tables backend', command: `${commandLine('iptables-nft-save')} | ${commandLine('grep', '-c', '^:KUBE-')}` },
    { where: 'node', description: 'kube-proxy chains in the legacy backend', command: `${commandLine('iptables-legacy-save')} | ${commandLine('grep', '-c', '^:KUBE-')}` },
    { where: 'node', description: 'nftables tables (kube-proxy\'s is "table ip kube-proxy")', command: commandLine('nft', 'list', 'tables') },
    { where: 'node', description: 'IPVS virtual servers', command: commandLine('ipvsadm', '-Ln') },
  ];

  return {
    node,
    proxyMode,
    proxyModeSource,
    proxyModeEndpoint,
    iptablesBackends: { nft, legacy },
    kubeChainsIn,
    nftKubeProxyTable,
    nftTables,
    ipvs,
    kubeProxyAbsent,
    replacedBy,
    interfaces,
    ...(facts.kubeProxyPod !== undefined ? { kubeProxyPod: facts.kubeProxyPod } : {}),
    hints,
    warnings,
    manualCommands,
  };
}

/** The kube-proxy and Cilium pods on a node, from the API; undefined fields when they could not be listed. */
export async function dataPlaneApiFacts(context: DiagnosticContext, node: string): Promise<DataPlaneApiFacts> {
  let pods: V1Pod[];
  try {
    pods = (await context.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items;
  } catch (error) {
    context.logger.warn(`[DataPlane] could not list the pods on ${node}: ${apiFailure(error).message}`);
    return {};
  }
  const named = (pod: V1Pod): string => `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
  const live = pods.filter((pod) => pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed');
  const kubeProxy = live.find((pod) => pod.metadata?.labels?.['k8s-app'] === 'kube-proxy' || (pod.metadata?.namespace === 'kube-system' && (pod.metadata?.name ?? '').startsWith('kube-proxy')));
  const cilium = live.find((pod) => pod.metadata?.labels?.['k8s-app'] === 'cilium' || pod.metadata?.labels?.['app.kubernetes.io/name'] === 'cilium-agent');
  return { kubeProxyPod: kubeProxy === undefined ? null : named(kubeProxy), ciliumPod: cilium === undefined ? null : named(cilium) };
}

/** "Data plane" of a node: kube-proxy's mode and where its rules are. One exec. */
export async function detectDataPlane(context: DiagnosticContext, node: string, options: DiagnosticOptions = {}): Promise<DataPlaneInfo> {
  requireNodeName(node);
  const [result, facts] = await Promise.all([
    context.runner.run(node, dataPlaneArgv(), { signal: options.signal, onProgress: options.onProgress, timeoutMs: 60_000 }),
    dataPlaneApiFacts(context, node),
  ]);
  if (result.stdout.trim() === '' && result.exitCode !== 0) {
    throw new DiagnosticError('command-failed', `The data-plane checks did not run on node ${node} (exit ${result.exitCode}): ${result.stderr.trim().slice(0, 500) || 'no output'}`);
  }
  const info = interpretDataPlane(node, result.stdout, facts);
  return { ...info, manualCommands: [kubectlDebugNodeCommand(node, context.runner.debugImage()), ...info.manualCommands] };
}

/**
 * Pure parsers of real tool output (no I/O, no `vscode`). Each takes the tool's text and
 * returns `{ value, problems }`; none throws.
 */
import type { Parser } from './result';
import { parseConntrack, parseConntrackStats } from './conntrack';
import { parseCrictlInspect, parseProcCgroup } from './container';
import { parseDig, parseNslookup } from './dig';
import { parseIpAddr } from './ipAddr';
import { parseIptablesList } from './iptablesList';
import { parseIptablesSave } from './iptablesSave';
import { parseIpvsadm } from './ipvsadm';
import { parseKernelLog } from './kernelLog';
import { parseKubectlTable } from './kubectlTable';
import { parseNft } from './nft';
import { parseResolvConf } from './resolvConf';

export type { ParseProblem, ParseResult, Parser } from './result';
export { guardParser } from './result';
export type { CorpusFile, CorpusHeader } from './text';
export { splitCorpusHeader, stripCorpusHeader } from './text';
export type { FormatName } from './detect';
export { guessFormat } from './detect';
export type { IpAddress, IpInterface, IpLinkStats } from './ipAddr';
export { parseIpAddr } from './ipAddr';
export type { DigMessage, DigResult, DnsRecord } from './dig';
export { parseDig, parseNslookup } from './dig';
export type { ResolvConf } from './resolvConf';
export { parseResolvConf } from './resolvConf';
export type { ContainerPidInfo, ContainerRef } from './container';
export { containerIdFromStatus, parseCrictlInspect, parseProcCgroup } from './container';
export type { KubectlRow, KubectlTable } from './kubectlTable';
export { parseKubectlTable } from './kubectlTable';
export type { KubeProxyEndpoint, KubeProxyService, RuleFacts, ServiceComment } from './kubeProxyServices';
export { computeShares, deriveIptablesServices, parseServiceComment } from './kubeProxyServices';
export type { IptablesChain, IptablesCounters, IptablesRule, IptablesSave, IptablesTable } from './iptablesSave';
export { parseIptablesSave } from './iptablesSave';
export type { IptablesList, IptablesListChain, IptablesListRule } from './iptablesList';
export { parseIptablesList } from './iptablesList';
export type { NftChain, NftElement, NftRule, NftRuleset, NftSet, NftTable } from './nft';
export { parseNft } from './nft';
export type { ConntrackCpuStats, ConntrackEntry, ConntrackStats, ConntrackTuple } from './conntrack';
export { conntrackSummaryCount, parseConntrack, parseConntrackStats } from './conntrack';
export type { IpvsRealServer, IpvsService, IpvsTimeouts } from './ipvsadm';
export { parseIpvsadm, parseIpvsadmTimeouts } from './ipvsadm';
export type { KernelLogEntry } from './kernelLog';
export { parseKernelLog } from './kernelLog';

/**
 * The parsers by the format names of the CLI's `parse FORMAT`, aliases included
 * (`ip-link` = `ip-addr`, `iptables-S` = `iptables-save`).
 */
export const parsersByFormat: Readonly<Record<string, Parser<unknown>>> = {
  'ip-addr': parseIpAddr,
  'ip-link': parseIpAddr,
  dig: parseDig,
  nslookup: parseNslookup,
  'resolv-conf': parseResolvConf,
  'proc-cgroup': parseProcCgroup,
  'crictl-inspect': parseCrictlInspect,
  'kubectl-table': parseKubectlTable,
  'iptables-save': parseIptablesSave,
  'iptables-S': parseIptablesSave,
  'iptables-list': parseIptablesList,
  nft: parseNft,
  conntrack: parseConntrack,
  'conntrack-stats': parseConntrackStats,
  ipvsadm: parseIpvsadm,
  'kernel-log': parseKernelLog,
};

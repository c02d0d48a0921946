/**
 * Shared by the data-plane integration tests (mode, rules, trace, IPVS, conntrack, CLI):
 * the lab (KNI_LAB_KUBECONFIG, else `lab up`), a debug-pod manager with its own owner id, and
 * the independent truth read by hand in the lab's namespaces (`ip netns exec … iptables-save`,
 * `nft list …`, `conntrack -L`, /proc/sys/net/netfilter). Import this before anything that
 * loads lab/config: it derives the lab prefix from KNI_LAB_KUBECONFIG when KNI_LAB_PREFIX is
 * unset (`…/.lab/<prefix>/kubeconfig`).
 */
import type { CoreV1Api as CoreV1ApiType, KubeConfig, V1Pod } from '@kubernetes/client-node';

const givenKubeconfig = process.env.KNI_LAB_KUBECONFIG;
if ((process.env.KNI_LAB_PREFIX ?? '') === '' && givenKubeconfig !== undefined) {
  const match = /\/\.lab\/([a-z][a-z0-9]{0,9})\/kubeconfig$/.exec(givenKubeconfig);
  if (match !== null && match[1] !== 'knilab') {
    process.env.KNI_LAB_PREFIX = match[1];
  }
}
// ip, nft, conntrack and iptables-save live in sbin, which a PATH from npm may lack.
process.env.PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean).join(':');

const config: typeof import('../../lab/config') = require('../../lab/config');
const names: typeof import('../../lab/net/names') = require('../../lab/net/names');
const labHelpers: typeof import('./debugPodLab') = require('./debugPodLab');
const clientNode: typeof import('@kubernetes/client-node') = require('@kubernetes/client-node');
const managerModule: typeof import('../../src/node/debugPodManager') = require('../../src/node/debugPodManager');
const specModule: typeof import('../../src/node/debugPodSpec') = require('../../src/node/debugPodSpec');
const execModule: typeof import('../../src/node/nodeExec') = require('../../src/node/nodeExec');
const runnerModule: typeof import('../../src/node/nodeRunner') = require('../../src/node/nodeRunner');
const contextModule: typeof import('../../src/diagnostics/context') = require('../../src/diagnostics/context');

import type { DebugPodManager } from '../../src/node/debugPodManager';
import type { DiagnosticContext } from '../../src/diagnostics/context';

export const { LAB_PREFIX, LAB_NODES, nodeNetnsName } = config;
export const { podNetnsName } = names;
export const { acquireLab, releaseLab, loadKubeConfig, eventually, run, debugPodsNow, outDir, repoRoot } = labHelpers;
export type { RunResult } from './debugPodLab';

export interface Lab {
  readonly kubeconfigPath: string;
  readonly kubeConfig: KubeConfig;
  readonly core: CoreV1ApiType;
  readonly manager: DebugPodManager;
  readonly context: DiagnosticContext;
  readonly ownerId: string;
  /** Node names in the cluster, by the mode the lab writes their rules in. */
  readonly nodesByMode: { readonly iptables: string[]; readonly nftables: string[] };
}

/** Starts (or joins) the lab and makes a debug-pod manager owned by this test file. */
export async function setUpLab(ownerPrefix: string): Promise<Lab> {
  const kubeconfigPath = await acquireLab();
  const kubeConfig = loadKubeConfig(kubeconfigPath);
  const core = kubeConfig.makeApiClient(clientNode.CoreV1Api);
  const ownerId = `${ownerPrefix}-${specModule.newOwnerId()}`;
  const manager = new managerModule.DebugPodManager({
    kubeConfig,
    ownerId,
    settings: { lifetimeSeconds: 900, idleTimeoutSeconds: 0, startTimeoutSeconds: 90 },
    consent: async () => true,
  });
  const runner = new runnerModule.DebugPodNodeRunner(manager, new execModule.NodeExec(kubeConfig));
  const context = contextModule.createDiagnosticContext(kubeConfig, runner);
  await eventually(async () => (await runningWebPods(core)).length >= 2, 90_000, 'running web pods in lab-apps');
  const present = new Set((await core.listNode()).items.map((node) => node.metadata?.name ?? ''));
  const nodesByMode = {
    iptables: LAB_NODES.filter((node) => node.proxyMode === 'iptables' && present.has(node.name)).map((node) => node.name),
    nftables: LAB_NODES.filter((node) => node.proxyMode === 'nftables' && present.has(node.name)).map((node) => node.name),
  };
  return { kubeconfigPath, kubeConfig, core, manager, context, ownerId, nodesByMode };
}

/** Deletes this file's debug pods and checks none is left; releases the lab. */
export async function tearDownLab(lab: Lab | undefined): Promise<void> {
  if (lab !== undefined) {
    await lab.manager.dispose();
    await eventually(async () => (await debugPodsNow(lab.kubeConfig)).filter((pod) => pod.metadata?.labels?.['kube-net-inspector/owner'] === lab.ownerId).length === 0, 30_000, 'debug pods of this test gone');
  }
  await releaseLab();
}

export async function runningWebPods(core: CoreV1ApiType): Promise<V1Pod[]> {
  const pods = (await core.listNamespacedPod({ namespace: 'lab-apps' })).items;
  return pods.filter((pod) => (pod.metadata?.name ?? '').startsWith('web-') && pod.status?.phase === 'Running' && pod.status.podIP !== undefined);
}

/** Runs argv inside a node's network namespace, as root on the host; throws on failure. */
export async function inNode(node: string, argv: readonly string[], allowFailure = false): Promise<string> {
  const result = await run('ip', ['netns', 'exec', nodeNetnsName(node), ...argv], { timeoutMs: 30_000 });
  if (result.code !== 0 && !allowFailure) {
    throw new Error(`ip netns exec ${nodeNetnsName(node)} ${argv.join(' ')}: exit ${result.code}: ${result.stderr}`);
  }
  return result.stdout;
}

/**
 * The DNAT targets the node's real iptables rules send `clusterIP:port` to, read with a regex
 * from `iptables-save -t nat` (not with the project's parser).
 */
export async function iptablesTargets(node: string, clusterIP: string, port: number): Promise<{ svcChain: string; targets: string[]; save: string }> {
  const save = await inNode(node, ['iptables-save', '-t', 'nat']);
  const lines = save.split('\n');
  const entry = lines.find((line) => line.startsWith('-A KUBE-SERVICES ') && line.includes(`-d ${clusterIP}/32`) && line.includes(`--dport ${port} `) && / -j KUBE-SVC-/.test(line));
  if (entry === undefined) {
    throw new Error(`no KUBE-SERVICES rule for ${clusterIP}:${port} on ${node}`);
  }
  const svcChain = / -j (KUBE-SVC-\S+)/.exec(entry)?.[1] ?? '';
  const targets: string[] = [];
  for (const line of lines.filter((item) => item.startsWith(`-A ${svcChain} `))) {
    const sep = / -j (KUBE-SEP-\S+)/.exec(line)?.[1];
    if (sep === undefined) {
      continue;
    }
    const dnat = lines.map((item) => (item.startsWith(`-A ${sep} `) ? /--to-destination (\S+)/.exec(item)?.[1] : undefined)).find((value) => value !== undefined);
    if (dnat !== undefined) {
      targets.push(dnat);
    }
  }
  return { svcChain, targets, save };
}

/** The DNAT targets of `clusterIP:port` in kube-proxy's nftables table, read with `nft list` and regexes. */
export async function nftTargets(node: string, clusterIP: string, port: number, protocol = 'tcp'): Promise<{ svcChain: string; targets: string[] }> {
  const map = await inNode(node, ['nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips']);
  const escaped = clusterIP.replace(/\./g, '\\.');
  const svcChain = new RegExp(`${escaped} \\. ${protocol} \\. ${port} : goto (service-\\S+?)(?:,|\\s|$)`).exec(map)?.[1];
  if (svcChain === undefined) {
    throw new Error(`no service-ips element for ${clusterIP}:${port} on ${node}`);
  }
  const chain = await inNode(node, ['nft', 'list', 'chain', 'ip', 'kube-proxy', svcChain]);
  const endpointChains = [...chain.matchAll(/goto (endpoint-[^\s,}]+)/g)].map((match) => match[1]);
  const targets: string[] = [];
  for (const endpointChain of endpointChains) {
    const text = await inNode(node, ['nft', 'list', 'chain', 'ip', 'kube-proxy', endpointChain]);
    const dnat = /dnat to (\S+)/.exec(text)?.[1];
    if (dnat !== undefined) {
      targets.push(dnat);
    }
  }
  return { svcChain, targets };
}

/** Pod names (ns/name) that hold the addresses of `targets` (`IP:port`), per the API. */
export function podsOfTargets(targets: readonly string[], pods: readonly V1Pod[]): string[] {
  return targets
    .map((target) => target.split(':')[0])
    .map((address) => pods.find((pod) => pod.status?.podIP === address))
    .map((pod) => (pod === undefined ? '(none)' : `${pod.metadata?.namespace}/${pod.metadata?.name}`))
    .sort();
}

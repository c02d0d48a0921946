import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import {
  behaviourForImage,
  CLUSTER_DOMAIN,
  KUBE_DNS_SERVICE_IP,
  KUBERNETES_SERVICE_IP,
  LAB_PREFIX,
  LAB_SUPERNET,
  nodeNetnsName,
  UNDERLAY_APISERVER_IP,
  UNDERLAY_CIDR,
} from '../config.js';
import type { ContainerBehaviour, LabNodeSpec } from '../config.js';
import type { ClusterState, ContainerRequest, LabNetwork, PodSandbox, PodSandboxRequest, RunningContainer, SpawnSpec } from '../types.js';
import { cgroup2Mount, ENTER_CGROUP_SCRIPT, killCgroupTree, makeCgroup, processCgroupV2, removeCgroupTree } from './cgroups.js';
import { delay, killQuietly, LabCommandError, processAlive, runChecked, runCommand, toolPath, TOOLS } from './commands.js';
import { buildDnsView } from './dnsRecords.js';
import type { DnsView } from './dnsRecords.js';
import type { DnsServerMessage } from './dnsServer.js';
import { PodAddressAllocator } from './ipam.js';
import { cidrContains, collectServicePorts, kubeProxyRestoreText, nodeBaseRestoreText } from './kubeProxyRules.js';
import { applyNftablesScript, kubeletOnlyRestoreText, kubeProxyNftablesScript } from './kubeProxyNftables.js';
import type { ProxyServicePort } from './kubeProxyRules.js';
import {
  assertContainerId,
  containerScopeName,
  labCgroupRoot,
  nodeAgentCgroupRelative,
  podCgroupRelative,
  podNetnsName,
  podVethName,
  sandboxContainerId,
  underlayNetnsName,
} from './names.js';
import { ETC_NETNS, netnsPids, removeEtcNetnsIfEmpty, sweepLab } from './sweep.js';

export { sweepLab } from './sweep.js';
export type { SweepReport } from './sweep.js';
export { podNetnsName, podVethName, underlayNetnsName } from './names.js';

/*
 * Pod addressing, and why it is routed rather than bridged.
 *
 * Each node has a bridge `cni0` holding the gateway address of the node's pod CIDR, and every
 * pod's veth (`vethXXXXXXXX` on the node, `eth0` in the pod) is a port of that bridge, as with
 * the bridge CNI plugin: `ip link` on the node shows `vethXXXXXXXX@ifN … master cni0` and the
 * pod shows `eth0@ifM`. But a pod gets its address as a /32 with
 * `default via <gateway> dev eth0 onlink`, so it has no on-link neighbours: every packet it
 * sends, even to a pod on the same node, goes through the node's IP stack and conntrack. That
 * keeps same-node pod → ClusterIP → pod working without br_netfilter: on a plain L2 bridge the
 * backend's reply would go straight to the client, skip the node's conntrack (no reverse DNAT)
 * and be dropped by the client; and br_netfilter (bridge-nf-call-iptables) is a kernel module
 * a lab machine may lack or not offer inside a network namespace. ICMP redirects are off on
 * the node so that it never tells a pod to bypass it.
 *
 * Where br_netfilter is present (as on the machine this was built on), it hands a DNAT'd frame
 * whose new destination sits behind the same bridge back to the bridge, so a pod reaching
 * itself through its own service needs hairpin mode on its port: every port gets
 * `hairpin on`, as with the bridge plugin's hairpinMode and kubelet's hairpin-veth.
 *
 * Between nodes the routing is host-gw style: each node routes every other node's pod CIDR via
 * that node's InternalIP on the underlay bridge, so pod-to-pod traffic really crosses nodes.
 */

/** Options of {@link LinuxLabNetwork}. */
export interface LinuxLabNetworkOptions {
  readonly nodes: readonly LabNodeSpec[];
  readonly log: (line: string) => void;
  /** Called when a container's main process ends on its own (not when the lab kills it). */
  readonly onContainerExit?: (uid: string, containerName: string, exitCode: number | null, signal: NodeJS.Signals | null) => void;
}

interface NodeRuntime {
  readonly spec: LabNodeSpec;
  readonly netns: string;
  readonly allocator: PodAddressAllocator;
  ready: boolean;
  lastRulesText: string | undefined;
  activeNatChains: ReadonlySet<string>;
  agent: ChildProcess | undefined;
}

interface ContainerRuntime {
  readonly name: string;
  readonly containerId: string;
  readonly cgroupDirectory: string;
  readonly behaviour: ContainerBehaviour | { kind: 'sandbox' };
  pid: number;
  child: ChildProcess | undefined;
}

interface PodRuntime {
  readonly request: PodSandboxRequest;
  readonly node: NodeRuntime;
  /** The pod's own netns, or the node's for hostNetwork pods. */
  readonly netns: string;
  readonly ownNetns: boolean;
  readonly veth: string | undefined;
  readonly podIP: string;
  readonly podCgroupDirectory: string;
  readonly containers: ContainerRuntime[];
  readonly execPids: Set<number>;
  deleting: boolean;
  /** Settles when creation has finished (or failed); a delete waits for it. */
  creation: Promise<void> | undefined;
  removal: Promise<void> | undefined;
}

const EMPTY_STATE: ClusterState = { services: [], endpointSlices: [], pods: [] };
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const READY_TIMEOUT_MS = 15_000;
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The lab's data plane on real Linux networking: an underlay namespace with a bridge, one
 * namespace per node (bridge `cni0`, routes to the other nodes' pod CIDRs, kube-proxy's
 * rules in iptables or nftables mode, a kube-proxy health/proxyMode endpoint), one
 * namespace per ordinary pod with a veth pair to its node's bridge, and one real process per
 * container in a cgroup whose path names the container ID. Nothing is ever connected to the
 * root network namespace, and every name carries the lab prefix.
 */
export class LinuxLabNetwork implements LabNetwork {
  private readonly prefix = LAB_PREFIX;
  private readonly nodes = new Map<string, NodeRuntime>();
  private readonly pods = new Map<string, PodRuntime>();
  private readonly log: (line: string) => void;
  private readonly onContainerExit: LinuxLabNetworkOptions['onContainerExit'];
  private readonly cgroupRoot: string;
  private readonly iptablesRestore = toolPath('iptables-restore');
  private readonly sysctl = toolPath('sysctl');
  private started = false;
  private startPromise: Promise<void> | undefined;
  private stopping = false;
  private latestState: ClusterState = EMPTY_STATE;
  private pendingState: ClusterState | undefined;
  private syncLoop: Promise<void> | undefined;
  private dnsView: { readonly state: ClusterState; readonly view: DnsView; readonly key: string } | undefined;

  constructor(options: LinuxLabNetworkOptions) {
    this.log = options.log;
    this.onContainerExit = options.onContainerExit;
    this.cgroupRoot = labCgroupRoot(cgroup2Mount(), this.prefix);
    for (const spec of options.nodes) {
      if (!/^[a-z0-9]([-a-z0-9.]{0,40}[a-z0-9])?$/.test(spec.name)) {
        throw new Error(`lab node name ${JSON.stringify(spec.name)} is not a short DNS name`);
      }
      for (const address of [spec.internalIP, spec.bridgeIP, spec.podCIDR.split('/')[0] ?? '']) {
        if (!cidrContains(LAB_SUPERNET, address)) {
          throw new Error(`lab node ${spec.name}: ${address} is outside ${LAB_SUPERNET}`);
        }
      }
      if (!cidrContains(UNDERLAY_CIDR, spec.internalIP) || !cidrContains(spec.podCIDR, spec.bridgeIP)) {
        throw new Error(`lab node ${spec.name}: InternalIP must be in ${UNDERLAY_CIDR} and the bridge IP in the pod CIDR`);
      }
      this.nodes.set(spec.name, {
        spec,
        netns: nodeNetnsName(spec.name),
        allocator: new PodAddressAllocator(spec.podCIDR, spec.bridgeIP),
        ready: false,
        lastRulesText: undefined,
        activeNatChains: new Set(),
        agent: undefined,
      });
    }
  }

  /** Sweeps leftovers of this prefix, then builds the underlay and the nodes. */
  start(): Promise<void> {
    if (this.started) {
      return Promise.resolve();
    }
    this.startPromise ??= this.doStart().finally(() => {
      this.startPromise = undefined;
    });
    return this.startPromise;
  }

  private async doStart(): Promise<void> {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error('the lab network needs root (network namespaces, iptables, cgroups)');
    }
    this.stopping = false;
    const began = Date.now();
    await sweepLab(this.prefix, this.log);
    try {
      await this.buildUnderlayAndNodes();
      await Promise.all([...this.nodes.values()].map((node) => this.startNodeAgent(node)));
      this.started = true;
      await this.syncClusterState(this.latestState);
      this.log(`[LabNet] ${this.nodes.size} nodes up under prefix ${this.prefix} in ${Date.now() - began} ms`);
    } catch (error) {
      this.log(`[LabNet] start failed, tearing down: ${(error as Error).message}`);
      await this.teardown();
      throw error;
    }
  }

  private async buildUnderlayAndNodes(): Promise<void> {
    const ip = TOOLS.ip;
    const underlay = underlayNetnsName(this.prefix);
    const nodes = [...this.nodes.values()];
    await runChecked(ip, ['netns', 'add', underlay]);
    for (const node of nodes) {
      await runChecked(ip, ['netns', 'add', node.netns]);
    }
    const underlayPrefix = UNDERLAY_CIDR.split('/')[1];
    const underlayBatch = ['link set lo up', 'link add br0 type bridge', `addr add ${UNDERLAY_APISERVER_IP}/${underlayPrefix} dev br0`, 'link set br0 up'];
    for (const node of nodes) {
      // The underlay side is named after the node's address (`node11` for .11); eth0 lands in the node.
      const port = `node${node.spec.internalIP.split('.')[3]}`;
      underlayBatch.push(`link add ${port} mtu 1500 type veth peer name eth0 mtu 1500 netns ${node.netns}`, `link set ${port} master br0 up`);
    }
    await this.ipBatch(underlay, underlayBatch);

    await Promise.all(
      nodes.map(async (node) => {
        const podPrefix = node.spec.podCIDR.split('/')[1];
        const batch = [
          'link set lo up',
          `addr add ${node.spec.internalIP}/${underlayPrefix} dev eth0`,
          'link set eth0 up',
          'link add cni0 mtu 1500 type bridge',
          `addr add ${node.spec.bridgeIP}/${podPrefix} dev cni0`,
          'link set cni0 up',
        ];
        for (const other of nodes) {
          if (other !== node) {
            batch.push(`route add ${other.spec.podCIDR} via ${other.spec.internalIP} dev eth0`);
          }
        }
        // A default route like a real node's; the underlay does not forward, so nothing leaves.
        batch.push(`route add default via ${UNDERLAY_APISERVER_IP} dev eth0`);
        await this.ipBatch(node.netns, batch);
        await runChecked(ip, [
          'netns',
          'exec',
          node.netns,
          this.sysctl,
          '-q',
          '-w',
          'net.ipv4.ip_forward=1',
          'net.ipv4.conf.all.send_redirects=0',
          'net.ipv4.conf.default.send_redirects=0',
          'net.ipv4.conf.cni0.send_redirects=0',
          'net.ipv4.conf.eth0.send_redirects=0',
          'net.ipv4.conf.all.route_localnet=1',
        ]);
        // A node in nftables mode has only kubelet's iptables chains; kube-proxy's live in `table ip kube-proxy`.
        const baseRules = node.spec.proxyMode === 'nftables' ? kubeletOnlyRestoreText() : nodeBaseRestoreText();
        await runChecked(ip, ['netns', 'exec', node.netns, this.iptablesRestore, '-w', '5'], { input: baseRules });
        node.ready = true;
      }),
    );
  }

  private async ipBatch(namespace: string, lines: readonly string[]): Promise<void> {
    await runChecked(TOOLS.ip, ['-n', namespace, '-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  private async startNodeAgent(node: NodeRuntime): Promise<void> {
    const cgroupDirectory = path.join(this.cgroupRoot, nodeAgentCgroupRelative(node.spec.name));
    makeCgroup(cgroupDirectory);
    const child = this.spawnInNetns(node.netns, cgroupDirectory, [process.execPath, path.join(__dirname, 'nodeAgent.js'), node.spec.name, node.spec.proxyMode], {
      ipc: true,
      label: `node ${node.spec.name}/kube-proxy`,
    });
    node.agent = child;
    child.on('exit', (code, signal) => {
      if (!this.stopping) {
        this.log(`[LabNet] node agent of ${node.spec.name} exited (${signal ?? code})`);
      }
    });
    await waitForReady(child, `kube-proxy endpoint of node ${node.spec.name}`);
  }

  /**
   * Spawns argv inside a network namespace, in a cgroup, detached from the lab's process group.
   * The constant script puts the process into its cgroup before `exec` turns it into argv.
   */
  private spawnInNetns(netns: string, cgroupDirectory: string, argv: readonly string[], options: { ipc: boolean; label: string; env?: NodeJS.ProcessEnv }): ChildProcess {
    const spec = enterCgroupAndNetns(cgroupDirectory, netns, argv);
    const child = spawn(spec.file, spec.args, {
      stdio: options.ipc ? ['ignore', 'ignore', 'pipe', 'ipc'] : ['ignore', 'ignore', 'pipe'],
      detached: true,
      env: options.env ?? { PATH: CONTAINER_PATH },
    });
    child.on('error', (error) => this.log(`[LabNet] ${options.label}: ${error.message}`));
    if (child.stderr) {
      readline.createInterface({ input: child.stderr }).on('line', (line) => this.log(`[${options.label}] ${line}`));
    }
    return child;
  }

  async createPodSandbox(request: PodSandboxRequest): Promise<PodSandbox> {
    if (!this.started || this.stopping) {
      throw new Error('the lab network is not running');
    }
    const existing = this.pods.get(request.uid);
    if (existing) {
      await existing.creation;
      if (existing.deleting) {
        throw new Error(`pod ${request.namespace}/${request.name} is being deleted`);
      }
      return sandboxOf(existing);
    }
    const node = this.nodes.get(request.nodeName);
    if (!node) {
      throw new Error(`no lab node named ${JSON.stringify(request.nodeName)}`);
    }
    if (!DNS_LABEL.test(request.namespace)) {
      throw new Error(`not a namespace name: ${JSON.stringify(request.namespace)}`);
    }
    for (const container of request.containers) {
      assertContainerId(container.containerId);
    }
    const ownNetns = !request.hostNetwork;
    const podCgroupDirectory = path.join(this.cgroupRoot, podCgroupRelative(request.uid, request.qosClass));
    const pod: PodRuntime = {
      request,
      node,
      netns: ownNetns ? podNetnsName(this.prefix, request.uid) : node.netns,
      ownNetns,
      veth: ownNetns ? podVethName(request.uid) : undefined,
      podIP: ownNetns ? node.allocator.allocate(request.uid) : node.spec.internalIP,
      podCgroupDirectory,
      containers: [],
      execPids: new Set(),
      deleting: false,
      creation: undefined,
      removal: undefined,
    };
    this.pods.set(request.uid, pod);
    const began = Date.now();
    pod.creation = (async () => {
      if (ownNetns) {
        await this.buildPodNetwork(pod);
      }
      this.checkpoint(pod);
      await this.startContainers(pod);
      this.checkpoint(pod);
    })();
    try {
      await pod.creation;
    } catch (error) {
      this.log(`[LabNet] pod ${request.namespace}/${request.name}: sandbox failed, cleaning up: ${(error as Error).message}`);
      await this.removePod(pod);
      throw error;
    }
    this.log(`[LabNet] pod ${request.namespace}/${request.name} on ${node.spec.name}: ${pod.podIP} in ${pod.netns} (${Date.now() - began} ms)`);
    return sandboxOf(pod);
  }

  /** Creation stops early when the pod is deleted or the lab stops meanwhile. */
  private checkpoint(pod: PodRuntime): void {
    if (pod.deleting || this.stopping) {
      throw new Error(`pod ${pod.request.namespace}/${pod.request.name} was deleted while its sandbox was being created`);
    }
  }

  private async buildPodNetwork(pod: PodRuntime): Promise<void> {
    const { node, netns, veth, podIP } = pod;
    writePodEtcFiles(netns, pod.request, podIP);
    await runChecked(TOOLS.ip, ['netns', 'add', netns]);
    this.checkpoint(pod);
    await this.ipBatch(node.netns, [
      `link add ${veth} mtu 1500 type veth peer name eth0 mtu 1500 netns ${netns}`,
      `link set ${veth} master cni0 up`,
      `link set ${veth} type bridge_slave hairpin on`,
    ]);
    await this.ipBatch(netns, ['link set lo up', 'link set eth0 up', `addr add ${podIP}/32 dev eth0`, `route add default via ${node.spec.bridgeIP} dev eth0 onlink`]);
  }

  private async startContainers(pod: PodRuntime): Promise<void> {
    const sandboxId = sandboxContainerId(pod.request.uid);
    const planned: { name: string; containerId: string; behaviour: ContainerBehaviour | { kind: 'sandbox' } }[] = [
      { name: 'POD', containerId: sandboxId, behaviour: { kind: 'sandbox' } },
      ...pod.request.containers.map((container: ContainerRequest) => ({
        name: container.name,
        containerId: container.containerId,
        behaviour: behaviourForImage(container.image, container.ports),
      })),
    ];
    for (const plan of planned) {
      const cgroupDirectory = path.join(pod.podCgroupDirectory, containerScopeName(plan.containerId));
      makeCgroup(cgroupDirectory);
      const container: ContainerRuntime = { name: plan.name, containerId: plan.containerId, cgroupDirectory, behaviour: plan.behaviour, pid: 0, child: undefined };
      pod.containers.push(container);
      const label = `pod ${pod.request.namespace}/${pod.request.name}/${plan.name}`;
      const ipc = plan.behaviour.kind === 'dns' || plan.behaviour.kind === 'http-echo';
      const child = this.spawnInNetns(pod.netns, cgroupDirectory, this.containerArgv(pod, plan.behaviour), { ipc, label, env: this.containerEnv(pod) });
      if (child.pid === undefined) {
        throw new Error(`${label}: could not start its process`);
      }
      container.child = child;
      container.pid = child.pid;
      child.on('exit', (code, signal) => {
        container.child = undefined;
        if (!pod.deleting && !this.stopping) {
          this.log(`[LabNet] ${label} exited (${signal ?? code})`);
          if (plan.name !== 'POD') {
            this.onContainerExit?.(pod.request.uid, plan.name, code, signal);
          }
        }
      });
      if (plan.behaviour.kind === 'dns') {
        child.on('message', (message: { type?: string }) => {
          if (message?.type === 'ready') {
            this.sendDnsView(child);
          }
        });
      }
    }
    // Running means: each process sits in its container's cgroup, and servers listen.
    await Promise.all(
      pod.containers.map(async (container) => {
        await waitForCgroup(container);
        if (container.child && (container.behaviour.kind === 'dns' || container.behaviour.kind === 'http-echo')) {
          await waitForReady(container.child, `pod ${pod.request.namespace}/${pod.request.name}/${container.name}`);
        }
      }),
    );
  }

  private containerArgv(pod: PodRuntime, behaviour: ContainerBehaviour | { kind: 'sandbox' }): string[] {
    switch (behaviour.kind) {
      case 'dns':
        return [process.execPath, path.join(__dirname, 'dnsServer.js'), pod.podIP];
      case 'http-echo':
        return [process.execPath, path.join(__dirname, 'httpEcho.js'), String(behaviour.port), pod.request.namespace, pod.request.name, pod.podIP, pod.node.spec.name];
      case 'pause':
      case 'sandbox':
        return [TOOLS.sleep, 'infinity'];
    }
  }

  private containerEnv(pod: PodRuntime): NodeJS.ProcessEnv {
    return {
      PATH: CONTAINER_PATH,
      HOSTNAME: pod.ownNetns ? pod.request.name : pod.node.spec.name,
      KUBERNETES_SERVICE_HOST: KUBERNETES_SERVICE_IP,
      KUBERNETES_SERVICE_PORT: '443',
      KUBERNETES_SERVICE_PORT_HTTPS: '443',
    };
  }

  async deletePodSandbox(uid: string): Promise<void> {
    const pod = this.pods.get(uid);
    if (!pod) {
      return;
    }
    pod.deleting = true;
    await pod.creation?.catch(() => {});
    await this.removePod(pod);
  }

  private removePod(pod: PodRuntime): Promise<void> {
    pod.deleting = true;
    pod.removal ??= this.destroyPod(pod);
    return pod.removal;
  }

  private async destroyPod(pod: PodRuntime): Promise<void> {
    const uid = pod.request.uid;
    for (const container of pod.containers) {
      if (container.pid > 0) {
        killQuietly(container.pid);
      }
    }
    for (const pid of pod.execPids) {
      killQuietly(pid);
    }
    await killCgroupTree(pod.podCgroupDirectory);
    if (pod.ownNetns) {
      // Whatever else still lives in the pod's namespace (an exec that escaped its cgroup).
      for (let round = 0; round < 10; round += 1) {
        const pids = (await netnsPids(pod.netns)).filter((pid) => pid !== process.pid);
        if (pids.length === 0) {
          break;
        }
        pids.forEach(killQuietly);
        await delay(10);
      }
      if (pod.veth) {
        await runCommand(TOOLS.ip, ['-n', pod.node.netns, 'link', 'del', pod.veth]);
      }
      await runCommand(TOOLS.ip, ['netns', 'delete', pod.netns]);
      fs.rmSync(path.join(ETC_NETNS, pod.netns), { recursive: true, force: true });
      removeEtcNetnsIfEmpty();
      pod.node.allocator.release(uid);
    }
    try {
      // The QoS slices above stay, as kubelet keeps them; stop() removes the whole tree.
      await removeCgroupTree(pod.podCgroupDirectory);
    } catch (error) {
      this.log(`[LabNet] pod ${pod.request.namespace}/${pod.request.name}: cgroup not removed: ${(error as Error).message}`);
    }
    if (this.pods.get(uid) === pod) {
      this.pods.delete(uid);
    }
    this.log(`[LabNet] pod ${pod.request.namespace}/${pod.request.name} sandbox removed`);
  }

  execSpec(uid: string, containerName: string, argv: readonly string[]): SpawnSpec {
    const pod = this.pods.get(uid);
    if (!pod || pod.deleting) {
      throw new Error(`no running sandbox for pod UID ${uid}`);
    }
    const container = pod.containers.find((candidate) => candidate.name === containerName && candidate.name !== 'POD');
    if (!container) {
      throw new Error(`pod ${pod.request.namespace}/${pod.request.name} has no container ${JSON.stringify(containerName)}`);
    }
    if (argv.length === 0) {
      throw new Error('exec needs a command');
    }
    // Like a runtime's exec: the container's network namespace (the node's for hostNetwork pods),
    // the container's cgroup (so the process is found, and killed, with the container) and the
    // container's environment rather than the lab process's (`env -i` execs argv, same PID).
    const environment = Object.entries(this.containerEnv(pod)).map(([name, value]) => `${name}=${value ?? ''}`);
    return enterCgroupAndNetns(container.cgroupDirectory, pod.netns, [TOOLS.env, '-i', ...environment, ...argv]);
  }

  trackExecProcess(uid: string, pid: number): void {
    this.pods.get(uid)?.execPids.add(pid);
  }

  /** Applies the latest state; calls made while a sync runs are folded into one more sync. */
  syncClusterState(state: ClusterState): Promise<void> {
    this.latestState = state;
    this.pendingState = state;
    this.syncLoop ??= this.runSyncLoop().finally(() => {
      this.syncLoop = undefined;
    });
    return this.syncLoop;
  }

  private async runSyncLoop(): Promise<void> {
    let failure: unknown;
    while (this.pendingState !== undefined) {
      const state = this.pendingState;
      this.pendingState = undefined;
      if (!this.started || this.stopping) {
        // start() applies the latest state once the nodes exist.
        return;
      }
      try {
        await this.applyState(state);
        failure = undefined;
      } catch (error) {
        failure = error;
        this.log(`[LabNet] sync failed: ${(error as Error).message}`);
      }
    }
    if (failure !== undefined) {
      throw failure;
    }
  }

  private async applyState(state: ClusterState): Promise<void> {
    const servicePorts: ProxyServicePort[] = collectServicePorts(state.services, state.endpointSlices, (problem) => this.log(`[LabNet] ${problem}`), LAB_SUPERNET);
    const errors: string[] = [];
    const written: string[] = [];
    await Promise.all(
      [...this.nodes.values()].map(async (node) => {
        if (!node.ready) {
          return;
        }
        if (node.spec.proxyMode === 'nftables') {
          const script = kubeProxyNftablesScript(node.spec, servicePorts, (problem) => this.log(`[LabNet] node ${node.spec.name}: ${problem}`));
          if (script === node.lastRulesText) {
            return;
          }
          const applied = await applyNftablesScript(node.netns, script);
          if (applied.exitCode !== 0) {
            errors.push(`node ${node.spec.name}: nft -f: ${applied.stderr.trim()}`);
            node.lastRulesText = undefined;
            return;
          }
          node.lastRulesText = script;
          written.push(node.spec.name);
          return;
        }
        const current = kubeProxyRestoreText(node.spec, servicePorts);
        if (current.text === node.lastRulesText) {
          return;
        }
        const stale = [...node.activeNatChains].filter((chain) => !current.activeNatChains.has(chain));
        const text = stale.length > 0 ? kubeProxyRestoreText(node.spec, servicePorts, stale).text : current.text;
        const result = await runCommand(TOOLS.ip, ['netns', 'exec', node.netns, this.iptablesRestore, '-w', '5', '--noflush', '--counters'], { input: text });
        if (result.exitCode !== 0) {
          errors.push(`node ${node.spec.name}: iptables-restore: ${result.stderr.trim()}`);
          node.lastRulesText = undefined;
          return;
        }
        node.lastRulesText = current.text;
        node.activeNatChains = current.activeNatChains;
        written.push(node.spec.name);
      }),
    );
    if (written.length > 0) {
      this.log(`[LabNet] kube-proxy rules for ${servicePorts.length} service ports written on ${written.sort().join(', ')}`);
    }
    this.pushDnsView(state);
    if (errors.length > 0) {
      throw new Error(errors.join('; '));
    }
  }

  private currentDnsView(state: ClusterState): DnsView {
    if (this.dnsView?.state === state) {
      return this.dnsView.view;
    }
    const candidate = buildDnsView(CLUSTER_DOMAIN, 0, state.services, state.endpointSlices, state.pods);
    const key = JSON.stringify({ ...candidate, serial: 0 });
    if (this.dnsView?.key === key) {
      this.dnsView = { state, view: this.dnsView.view, key };
      return this.dnsView.view;
    }
    const view: DnsView = { ...candidate, serial: Math.floor(Date.now() / 1000) };
    this.dnsView = { state, view, key };
    return view;
  }

  private pushDnsView(state: ClusterState): void {
    const previous = this.dnsView?.view;
    const view = this.currentDnsView(state);
    if (view === previous) {
      return;
    }
    for (const child of this.dnsChildren()) {
      this.sendDnsView(child);
    }
  }

  private dnsChildren(): ChildProcess[] {
    const children: ChildProcess[] = [];
    for (const pod of this.pods.values()) {
      for (const container of pod.containers) {
        if (container.behaviour.kind === 'dns' && container.child) {
          children.push(container.child);
        }
      }
    }
    return children;
  }

  private sendDnsView(child: ChildProcess): void {
    if (!child.connected) {
      return;
    }
    const view = this.currentDnsView(this.latestState);
    const dnsServiceIPs = view.services
      .filter((service) => service.namespace === 'kube-system' && service.name === 'kube-dns' && service.clusterIP !== 'None')
      .map((service) => service.clusterIP);
    const message: DnsServerMessage = { type: 'view', view, ownAddresses: dnsServiceIPs.length > 0 ? dnsServiceIPs : [KUBE_DNS_SERVICE_IP] };
    child.send(message, (error) => {
      if (error) {
        this.log(`[LabNet] DNS server: state not delivered: ${error.message}`);
      }
    });
  }

  /** Kills every process, deletes every namespace, cgroup and /etc/netns entry of the prefix. */
  async stop(): Promise<void> {
    if (this.startPromise) {
      await this.startPromise.catch(() => {});
    }
    await this.teardown();
  }

  private async teardown(): Promise<void> {
    this.stopping = true;
    this.pendingState = undefined;
    if (this.syncLoop) {
      await this.syncLoop.catch(() => {});
    }
    const killPods = (): void => {
      for (const pod of this.pods.values()) {
        pod.deleting = true;
        for (const container of pod.containers) {
          if (container.pid > 0) {
            killQuietly(container.pid);
          }
        }
        pod.execPids.forEach(killQuietly);
      }
    };
    killPods();
    // Sandboxes still being created notice the stop, fail and clean up after themselves.
    const inFlight = [...this.pods.values()];
    await Promise.all(inFlight.map((pod) => pod.creation?.catch(() => {})));
    await Promise.all(inFlight.map((pod) => pod.removal?.catch(() => {})));
    killPods();
    for (const node of this.nodes.values()) {
      if (node.agent?.pid !== undefined) {
        killQuietly(node.agent.pid);
      }
      node.agent = undefined;
      node.ready = false;
      node.lastRulesText = undefined;
      node.activeNatChains = new Set();
    }
    for (const pod of this.pods.values()) {
      if (pod.ownNetns) {
        pod.node.allocator.release(pod.request.uid);
      }
    }
    this.pods.clear();
    await sweepLab(this.prefix, this.log);
    if (this.started) {
      this.log(`[LabNet] stopped; nothing of prefix ${this.prefix} is left`);
    }
    this.started = false;
    this.dnsView = undefined;
  }
}

/**
 * `sh` moves itself into the cgroup, then execs `ip netns exec <ns> argv…`, which execs argv:
 * one PID from start to end, in its cgroup before argv's first instruction. The cgroup step
 * comes first because `ip netns exec` mounts a fresh /sys for the namespace, in which the
 * cgroup file systems are not mounted.
 */
function enterCgroupAndNetns(cgroupDirectory: string, netns: string, argv: readonly string[]): SpawnSpec {
  return { file: TOOLS.sh, args: ['-c', ENTER_CGROUP_SCRIPT, 'sh', cgroupDirectory, TOOLS.ip, 'netns', 'exec', netns, ...argv] };
}

function sandboxOf(pod: PodRuntime): PodSandbox {
  const containers: RunningContainer[] = pod.containers
    .filter((container) => container.name !== 'POD')
    .map((container) => ({ name: container.name, containerId: container.containerId, pid: container.pid }));
  return { podIP: pod.podIP, hostIP: pod.node.spec.internalIP, containers };
}

/** Waits (bounded) until the process has put itself into its container's cgroup. */
async function waitForCgroup(container: ContainerRuntime): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (processCgroupV2(container.pid)?.includes(container.containerId)) {
      return;
    }
    if (!processAlive(container.pid)) {
      throw new Error(`container ${container.name}: its process ${container.pid} ended before it started`);
    }
    if (Date.now() > deadline) {
      throw new Error(`container ${container.name}: process ${container.pid} did not enter its cgroup`);
    }
    await delay(2);
  }
}

/** Waits (bounded) for a server process's `{type:'ready'}` message on its IPC channel. */
function waitForReady(child: ChildProcess, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${label} did not become ready within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    const onMessage = (message: { type?: string }): void => {
      if (message?.type === 'ready') {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(new Error(`${label} exited (${signal ?? code}) before it was ready`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/**
 * What kubelet writes for a pod with dnsPolicy ClusterFirst; `ip netns exec` bind-mounts
 * /etc/netns/<netns>/* over /etc/*, so the pod's processes see them as /etc/resolv.conf and
 * /etc/hosts (also through /proc/<pid>/root, as on a real node).
 */
function writePodEtcFiles(netns: string, request: PodSandboxRequest, podIP: string): void {
  const directory = path.join(ETC_NETNS, netns);
  const resolvConf = [
    `nameserver ${KUBE_DNS_SERVICE_IP}`,
    `search ${request.namespace}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`,
    'options ndots:5',
    '',
  ].join('\n');
  const hostLines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  if (/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(request.name)) {
    hostLines.push(`${podIP}\t${request.name}`);
  }
  // Another lab may remove an empty /etc/netns at the same moment: retry once.
  for (let attempt = 0; ; attempt += 1) {
    try {
      fs.mkdirSync(directory, { recursive: true, mode: 0o755 });
      fs.writeFileSync(path.join(directory, 'resolv.conf'), resolvConf, { mode: 0o644 });
      fs.writeFileSync(path.join(directory, 'hosts'), `${hostLines.join('\n')}\n`, { mode: 0o644 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt > 2) {
        throw error;
      }
    }
  }
}

export { LabCommandError };

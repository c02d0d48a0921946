/**
 * The kubelets of the lab's nodes, as one component: they run the pods bound to their node
 * through the LabNetwork (sandbox, containers), report pod status the way a kubelet with
 * containerd does, record its events, pull images from the lab's registry (and back off when
 * they do not exist), enforce activeDeadlineSeconds and carry out graceful deletion.
 */
import type { LabNodeSpec } from '../config';
import type { LabNetwork, PodSandbox } from '../types';
import type { EventRecorder } from './events';
import { ImageRegistry, imageId, imageSize, normalizeImage } from './images';
import type { Condition, Container, ContainerStatus, Pod } from './objects';
import { randomHex, timestamp } from './objects';
import type { Registry } from './registry';
import type { Store, StoreEvent } from './store';

export interface KubeletTiming {
  /** How long a failed pull shows ErrImagePull before ImagePullBackOff. */
  readonly errImagePullMs: number;
  /** First image pull back-off; doubles up to {@link maxPullBackOffMs}. */
  readonly pullBackOffMs: number;
  readonly maxPullBackOffMs: number;
  /** Sandbox creation retries after a failure. */
  readonly sandboxRetryMs: number;
}

export const DEFAULT_KUBELET_TIMING: KubeletTiming = { errImagePullMs: 2000, pullBackOffMs: 10_000, maxPullBackOffMs: 300_000, sandboxRetryMs: 5000 };

/** What the kubelet knows about a pod it runs. */
export interface PodRuntime {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  /** Container name → 64-hex container ID (only for containers that run). */
  readonly containerIds: Map<string, string>;
  sandbox?: PodSandbox;
  /** The sandbox is gone (deadline exceeded or deletion in progress). */
  stopped: boolean;
  deleting: boolean;
  readonly timers: Set<NodeJS.Timeout>;
  /** Serialises the pod's asynchronous steps. */
  chain: Promise<void>;
  sandboxAttempts: number;
}

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

function containerField(name: string): string {
  return `spec.containers{${name}}`;
}

function setCondition(conditions: Condition[], type: string, status: string, reason?: string, message?: string): void {
  const now = timestamp();
  const existing = conditions.find((condition) => condition.type === type);
  if (existing !== undefined) {
    if (existing.status !== status) {
      existing.lastTransitionTime = now;
    }
    existing.status = status;
    if (reason === undefined) {
      delete existing.reason;
    } else {
      existing.reason = reason;
    }
    if (message === undefined) {
      delete existing.message;
    } else {
      existing.message = message;
    }
    return;
  }
  const condition: Condition = { type, status, lastProbeTime: null, lastTransitionTime: now };
  if (reason !== undefined) {
    condition.reason = reason;
  }
  if (message !== undefined) {
    condition.message = message;
  }
  conditions.push(condition);
}

const CONDITION_ORDER = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'];

function sortConditions(conditions: Condition[]): void {
  conditions.sort((a, b) => CONDITION_ORDER.indexOf(a.type) - CONDITION_ORDER.indexOf(b.type));
}

export class Kubelet {
  private readonly runtimes = new Map<string, PodRuntime>();
  private readonly nodes: Map<string, LabNodeSpec>;
  private readonly images: ImageRegistry;
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: {
      readonly store: Store;
      readonly registry: Registry;
      readonly network: LabNetwork;
      readonly events: EventRecorder;
      readonly nodes: readonly LabNodeSpec[];
      readonly availableImages: readonly string[];
      readonly log: (line: string) => void;
      readonly timing?: KubeletTiming;
    },
  ) {
    this.nodes = new Map(options.nodes.map((node) => [node.name, node]));
    this.images = new ImageRegistry(options.availableImages);
  }

  private get timing(): KubeletTiming {
    return this.options.timing ?? DEFAULT_KUBELET_TIMING;
  }

  start(): void {
    this.heartbeat = setInterval(() => this.renewLeases(), 10_000);
    this.heartbeat.unref();
    this.unsubscribe = this.options.store.subscribe('pods', (event) => this.onPodEvent(event));
    for (const entry of this.options.store.values('pods')) {
      this.consider(entry.object as Pod);
    }
  }

  /** Stops reacting; sandboxes stay (the network's stop() removes everything). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    for (const runtime of this.runtimes.values()) {
      for (const timer of runtime.timers) {
        clearTimeout(timer);
      }
      runtime.timers.clear();
    }
  }

  /** The node heartbeat: each kubelet renews its Lease in kube-node-lease every 10 seconds. */
  private renewLeases(): void {
    const renewTime = new Date().toISOString().replace(/Z$/, '000Z');
    for (const name of this.nodes.keys()) {
      this.options.registry.mutate('leases', NODE_LEASE_NAMESPACE, name, (lease) => {
        (lease.spec as Record<string, unknown>).renewTime = renewTime;
      });
    }
  }

  /** Whether a node of this name has a kubelet. */
  hasNode(name: string): boolean {
    return this.nodes.has(name);
  }

  runtime(uid: string): PodRuntime | undefined {
    return this.runtimes.get(uid);
  }

  /** The running container's ID, or undefined when it does not run. */
  runningContainerId(uid: string, containerName: string): string | undefined {
    const runtime = this.runtimes.get(uid);
    if (runtime === undefined || runtime.stopped || runtime.deleting || runtime.sandbox === undefined) {
      return undefined;
    }
    return runtime.containerIds.get(containerName);
  }

  private onPodEvent(event: StoreEvent): void {
    if (this.stopped) {
      return;
    }
    const pod = event.entry.object as Pod;
    if (event.type === 'DELETED') {
      const runtime = this.runtimes.get(pod.metadata.uid ?? '');
      if (runtime !== undefined && !runtime.deleting) {
        // Force-deleted (grace 0) while running: tear down without a status update.
        runtime.deleting = true;
        this.enqueue(runtime, () => this.teardown(runtime));
      }
      return;
    }
    this.consider(pod);
  }

  private consider(pod: Pod): void {
    const uid = pod.metadata.uid ?? '';
    const nodeName = pod.spec.nodeName ?? '';
    if (nodeName === '' || !this.nodes.has(nodeName)) {
      if (pod.metadata.deletionTimestamp !== undefined && nodeName !== '') {
        // No kubelet will ever confirm: the pod GC removes pods bound to nodes that do not exist.
        setImmediate(() => this.options.registry.finalizePodDeletion(pod.metadata.namespace ?? '', pod.metadata.name ?? ''));
      }
      return;
    }
    let runtime = this.runtimes.get(uid);
    if (pod.metadata.deletionTimestamp !== undefined) {
      if (runtime === undefined) {
        setImmediate(() => this.options.registry.finalizePodDeletion(pod.metadata.namespace ?? '', pod.metadata.name ?? ''));
      } else if (!runtime.deleting) {
        runtime.deleting = true;
        const target = runtime;
        this.clearTimers(target);
        this.enqueue(target, () => this.killPod(target));
      }
      return;
    }
    if (runtime !== undefined || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      return;
    }
    runtime = {
      uid,
      namespace: pod.metadata.namespace ?? '',
      name: pod.metadata.name ?? '',
      nodeName,
      containerIds: new Map(),
      stopped: false,
      deleting: false,
      timers: new Set(),
      chain: Promise.resolve(),
      sandboxAttempts: 0,
    };
    this.runtimes.set(uid, runtime);
    const target = runtime;
    this.enqueue(target, () => this.startPod(target));
  }

  private enqueue(runtime: PodRuntime, step: () => Promise<void> | void): void {
    runtime.chain = runtime.chain
      .then(step)
      .catch((error: unknown) => {
        this.options.log(`[kubelet] ${runtime.namespace}/${runtime.name}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      });
  }

  private timer(runtime: PodRuntime, delayMs: number, step: () => Promise<void> | void): void {
    const handle = setTimeout(() => {
      runtime.timers.delete(handle);
      if (!this.stopped && !runtime.deleting && !runtime.stopped) {
        this.enqueue(runtime, step);
      }
    }, delayMs);
    runtime.timers.add(handle);
  }

  private clearTimers(runtime: PodRuntime): void {
    for (const handle of runtime.timers) {
      clearTimeout(handle);
    }
    runtime.timers.clear();
  }

  private current(runtime: PodRuntime): Pod | undefined {
    const entry = this.options.store.get('pods', runtime.namespace, runtime.name);
    const pod = entry?.object as Pod | undefined;
    return pod?.metadata.uid === runtime.uid ? pod : undefined;
  }

  private updateStatus(runtime: PodRuntime, change: (pod: Pod) => void): Pod | undefined {
    const entry = this.options.registry.mutate<Pod>('pods', runtime.namespace, runtime.name, (pod) => {
      if (pod.metadata.uid !== runtime.uid) {
        return false;
      }
      pod.status ??= {};
      change(pod);
      sortConditions(pod.status.conditions ?? []);
      return undefined;
    });
    return entry?.object as Pod | undefined;
  }

  private event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    this.options.events.record({ kind: 'Pod', apiVersion: 'v1', object: pod }, type, reason, message, { component: 'kubelet', host: pod.spec.nodeName }, fieldPath);
  }

  private startPod(runtime: PodRuntime): Promise<void> | void {
    const node = this.nodes.get(runtime.nodeName) as LabNodeSpec;
    const pod = this.updateStatus(runtime, (next) => {
      const status = next.status ?? {};
      const names = next.spec.containers.map((container) => container.name);
      status.phase = 'Pending';
      status.hostIP = node.internalIP;
      status.hostIPs = [{ ip: node.internalIP }];
      status.startTime = timestamp();
      const conditions = status.conditions ?? [];
      setCondition(conditions, 'PodReadyToStartContainers', 'False');
      setCondition(conditions, 'Initialized', 'True');
      setCondition(conditions, 'Ready', 'False', 'ContainersNotReady', `containers with unready status: [${names.join(' ')}]`);
      setCondition(conditions, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${names.join(' ')}]`);
      setCondition(conditions, 'PodScheduled', 'True');
      status.conditions = conditions;
      status.containerStatuses = next.spec.containers.map((container) => ({
        name: container.name,
        image: container.image ?? '',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      }));
      next.status = status;
    });
    if (pod === undefined) {
      this.runtimes.delete(runtime.uid);
      return;
    }
    const deadline = pod.spec.activeDeadlineSeconds;
    if (typeof deadline === 'number' && deadline > 0) {
      const handle = setTimeout(() => {
        runtime.timers.delete(handle);
        if (!this.stopped && !runtime.deleting) {
          this.enqueue(runtime, () => this.deadlineExceeded(runtime));
        }
      }, deadline * 1000);
      runtime.timers.add(handle);
    }
    return this.createSandbox(runtime);
  }

  private async createSandbox(runtime: PodRuntime): Promise<void> {
    const pod = this.current(runtime);
    if (pod === undefined || runtime.deleting || runtime.stopped) {
      return;
    }
    const runnable = pod.spec.containers.filter((container) => this.images.has(container.image ?? ''));
    for (const container of runnable) {
      runtime.containerIds.set(container.name, runtime.containerIds.get(container.name) ?? randomHex(32));
    }
    runtime.sandboxAttempts++;
    let sandbox: PodSandbox;
    try {
      sandbox = await this.options.network.createPodSandbox({
        uid: runtime.uid,
        namespace: runtime.namespace,
        name: runtime.name,
        nodeName: runtime.nodeName,
        hostNetwork: pod.spec.hostNetwork === true,
        qosClass: pod.status?.qosClass ?? 'BestEffort',
        containers: runnable.map((container) => ({
          name: container.name,
          image: container.image ?? '',
          containerId: runtime.containerIds.get(container.name) as string,
          ports: [...new Set((container.ports ?? []).map((port) => port.containerPort))],
        })),
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.log(`[kubelet] sandbox for ${runtime.namespace}/${runtime.name} failed: ${message}`);
      const latest = this.current(runtime);
      if (latest !== undefined) {
        this.event(latest, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${message}`);
      }
      await this.options.network.deletePodSandbox(runtime.uid).catch(() => undefined);
      if (runtime.sandboxAttempts < 5) {
        this.timer(runtime, this.timing.sandboxRetryMs * runtime.sandboxAttempts, () => this.createSandbox(runtime));
      }
      return;
    }
    runtime.sandbox = sandbox;
    if (runtime.deleting || runtime.stopped || this.stopped) {
      // Deleted while the sandbox was being built: the deletion path tears it down.
      return;
    }
    this.containersStarted(runtime, sandbox);
  }

  private containersStarted(runtime: PodRuntime, sandbox: PodSandbox): void {
    const pod = this.current(runtime);
    if (pod === undefined) {
      return;
    }
    const now = timestamp();
    const failing: Container[] = [];
    for (const container of pod.spec.containers) {
      const field = containerField(container.name);
      const image = container.image ?? '';
      if (runtime.containerIds.has(container.name)) {
        if (container.imagePullPolicy === 'Always') {
          this.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, field);
          const took = 200 + (imageSize(image) % 800);
          this.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${took}ms (${took}ms including waiting). Image size: ${imageSize(image)} bytes.`, field);
        } else {
          this.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, field);
        }
        this.event(pod, 'Normal', 'Created', `Created container: ${container.name}`, field);
        this.event(pod, 'Normal', 'Started', `Started container ${container.name}`, field);
      } else {
        failing.push(container);
      }
    }
    this.updateStatus(runtime, (next) => {
      const status = next.status ?? {};
      status.podIP = sandbox.podIP;
      status.podIPs = [{ ip: sandbox.podIP }];
      status.hostIP = sandbox.hostIP;
      status.hostIPs = [{ ip: sandbox.hostIP }];
      status.containerStatuses = next.spec.containers.map((container): ContainerStatus => {
        const id = runtime.containerIds.get(container.name);
        if (id !== undefined) {
          return {
            name: container.name,
            image: normalizeImage(container.image ?? ''),
            imageID: imageId(container.image ?? ''),
            containerID: `containerd://${id}`,
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
            lastState: {},
          };
        }
        return {
          name: container.name,
          image: container.image ?? '',
          imageID: '',
          ready: false,
          started: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
          lastState: {},
        };
      });
      status.conditions ??= [];
      setCondition(status.conditions, 'PodReadyToStartContainers', 'True');
      this.readiness(next);
      next.status = status;
    });
    for (const container of failing) {
      this.pullFailed(runtime, container.name, 0);
    }
  }

  /** Phase and Ready/ContainersReady from the container statuses. */
  private readiness(pod: Pod): void {
    const status = pod.status ?? {};
    const statuses = status.containerStatuses ?? [];
    const unready = statuses.filter((container) => !container.ready).map((container) => container.name);
    const conditions = status.conditions ?? [];
    if (unready.length === 0) {
      setCondition(conditions, 'Ready', 'True');
      setCondition(conditions, 'ContainersReady', 'True');
    } else {
      setCondition(conditions, 'Ready', 'False', 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
      setCondition(conditions, 'ContainersReady', 'False', 'ContainersNotReady', `containers with unready status: [${unready.join(' ')}]`);
    }
    status.conditions = conditions;
    status.phase = statuses.some((container) => container.state.running !== undefined) ? 'Running' : 'Pending';
  }

  /** One failed pull: Pulling, Failed, ErrImagePull; then ImagePullBackOff and a retry later. */
  private pullFailed(runtime: PodRuntime, containerName: string, attempt: number): void {
    const pod = this.current(runtime);
    const container = pod?.spec.containers.find((item) => item.name === containerName);
    if (pod === undefined || container === undefined) {
      return;
    }
    const image = container.image ?? '';
    const field = containerField(containerName);
    let reason: string;
    let message: string;
    if (container.imagePullPolicy === 'Never') {
      reason = 'ErrImageNeverPull';
      message = `Container image "${image}" is not present with pull policy of Never`;
      this.event(pod, 'Warning', reason, message, field);
    } else {
      reason = 'ErrImagePull';
      message = this.images.pullError(image);
      this.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`, field);
      this.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${message}`, field);
      this.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', field);
    }
    this.setWaiting(runtime, containerName, reason, message);
    if (reason === 'ErrImageNeverPull') {
      return;
    }
    this.timer(runtime, this.timing.errImagePullMs, () => {
      const latest = this.current(runtime);
      if (latest === undefined) {
        return;
      }
      this.event(latest, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, field);
      this.event(latest, 'Warning', 'Failed', 'Error: ImagePullBackOff', field);
      this.setWaiting(runtime, containerName, 'ImagePullBackOff', `Back-off pulling image "${image}": ErrImagePull: ${message}`);
      const backOff = Math.min(this.timing.pullBackOffMs * 2 ** attempt, this.timing.maxPullBackOffMs);
      this.timer(runtime, backOff, () => this.pullFailed(runtime, containerName, attempt + 1));
    });
  }

  private setWaiting(runtime: PodRuntime, containerName: string, reason: string, message: string): void {
    this.updateStatus(runtime, (pod) => {
      const status = pod.status ?? {};
      const entry = status.containerStatuses?.find((item) => item.name === containerName);
      if (entry === undefined) {
        return;
      }
      entry.state = { waiting: { reason, message } };
      entry.ready = false;
      entry.started = false;
      this.readiness(pod);
    });
  }

  private async deadlineExceeded(runtime: PodRuntime): Promise<void> {
    if (runtime.deleting || runtime.stopped) {
      return;
    }
    const pod = this.current(runtime);
    if (pod === undefined || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') {
      return;
    }
    const message = 'Pod was active on the node longer than the specified deadline';
    this.event(pod, 'Warning', 'DeadlineExceeded', message);
    for (const container of pod.spec.containers) {
      if (runtime.containerIds.has(container.name)) {
        this.event(pod, 'Normal', 'Killing', `Stopping container ${container.name}`, containerField(container.name));
      }
    }
    runtime.stopped = true;
    this.clearTimers(runtime);
    await this.options.network.deletePodSandbox(runtime.uid);
    runtime.sandbox = undefined;
    const finishedAt = timestamp();
    this.updateStatus(runtime, (next) => {
      const status = next.status ?? {};
      status.phase = 'Failed';
      status.reason = 'DeadlineExceeded';
      status.message = message;
      for (const container of status.containerStatuses ?? []) {
        const startedAt = container.state.running?.startedAt;
        if (startedAt !== undefined) {
          container.state = { terminated: { exitCode: 137, reason: 'Error', startedAt, finishedAt, containerID: container.containerID } };
        }
        container.ready = false;
        container.started = false;
      }
      const conditions = status.conditions ?? [];
      setCondition(conditions, 'PodReadyToStartContainers', 'False');
      setCondition(conditions, 'Ready', 'False', 'PodFailed');
      setCondition(conditions, 'ContainersReady', 'False', 'PodFailed');
      status.conditions = conditions;
      next.status = status;
    });
  }

  /**
   * A container's main process ended on its own (the network side reports it). The status
   * follows the restart policy: a pod whose containers all ended under `Never` (or ended well
   * under `OnFailure`) completes and loses its sandbox; a container that would be restarted
   * shows CrashLoopBackOff (the lab cannot start a single container again).
   */
  containerExited(uid: string, containerName: string, exitCode: number | null, signal: NodeJS.Signals | null): void {
    const runtime = this.runtimes.get(uid);
    if (runtime === undefined || runtime.stopped || runtime.deleting || this.stopped) {
      return;
    }
    this.enqueue(runtime, async () => {
      const pod = this.current(runtime);
      if (pod === undefined || runtime.stopped || runtime.deleting) {
        return;
      }
      const code = exitCode ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 1);
      const policy = pod.spec.restartPolicy ?? 'Always';
      const restarts = policy === 'Always' || (policy === 'OnFailure' && code !== 0);
      const finishedAt = timestamp();
      let terminal: 'Succeeded' | 'Failed' | undefined;
      const updated = this.updateStatus(runtime, (next) => {
        const status = next.status ?? {};
        const entry = status.containerStatuses?.find((item) => item.name === containerName);
        if (entry === undefined) {
          return;
        }
        const terminated = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: entry.state.running?.startedAt, finishedAt, containerID: entry.containerID };
        if (restarts) {
          entry.lastState = { terminated };
          entry.restartCount += 1;
          entry.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off 10s restarting failed container=${containerName} pod=${next.metadata.name ?? ''}_${next.metadata.namespace ?? ''}(${uid})` } };
        } else {
          entry.state = { terminated };
        }
        entry.ready = false;
        entry.started = false;
        this.readiness(next);
        const all = status.containerStatuses ?? [];
        if (all.every((item) => item.state.terminated !== undefined)) {
          terminal = all.every((item) => item.state.terminated?.exitCode === 0) ? 'Succeeded' : 'Failed';
          status.phase = terminal;
          const conditions = status.conditions ?? [];
          setCondition(conditions, 'PodReadyToStartContainers', 'False');
          setCondition(conditions, 'Ready', 'False', terminal === 'Succeeded' ? 'PodCompleted' : 'PodFailed');
          setCondition(conditions, 'ContainersReady', 'False', terminal === 'Succeeded' ? 'PodCompleted' : 'PodFailed');
          status.conditions = conditions;
        } else if (status.phase === 'Pending' && all.some((item) => item.state.terminated !== undefined || item.lastState.terminated !== undefined)) {
          status.phase = 'Running';
        }
      });
      if (updated !== undefined && restarts) {
        this.event(updated, 'Warning', 'BackOff', `Back-off restarting failed container ${containerName} in pod ${updated.metadata.name ?? ''}_${updated.metadata.namespace ?? ''}(${uid})`, containerField(containerName));
      }
      if (terminal !== undefined) {
        runtime.stopped = true;
        this.clearTimers(runtime);
        await this.options.network.deletePodSandbox(runtime.uid);
        runtime.sandbox = undefined;
      }
    });
  }

  /** Graceful deletion: stop the containers, then remove the pod from the API. */
  private async killPod(runtime: PodRuntime): Promise<void> {
    const pod = this.current(runtime);
    if (pod !== undefined && !runtime.stopped) {
      for (const container of pod.spec.containers) {
        if (runtime.containerIds.has(container.name)) {
          this.event(pod, 'Normal', 'Killing', `Stopping container ${container.name}`, containerField(container.name));
        }
      }
    }
    await this.teardown(runtime);
    this.options.registry.finalizePodDeletion(runtime.namespace, runtime.name);
  }

  private async teardown(runtime: PodRuntime): Promise<void> {
    this.clearTimers(runtime);
    runtime.stopped = true;
    try {
      await this.options.network.deletePodSandbox(runtime.uid);
    } finally {
      runtime.sandbox = undefined;
      this.runtimes.delete(runtime.uid);
    }
  }

  /**
   * Stores a pod that is already running (scale-mode seeding): one ADDED event, no history.
   * The sandbox comes from the network like any other.
   */
  async adoptRunningPod(pod: Pod): Promise<Pod> {
    const nodeName = pod.spec.nodeName ?? '';
    const node = this.nodes.get(nodeName);
    if (node === undefined) {
      throw new Error(`unknown node ${nodeName}`);
    }
    const uid = pod.metadata.uid ?? '';
    const runtime: PodRuntime = {
      uid,
      namespace: pod.metadata.namespace ?? '',
      name: pod.metadata.name ?? '',
      nodeName,
      containerIds: new Map(pod.spec.containers.map((container) => [container.name, randomHex(32)])),
      stopped: false,
      deleting: false,
      timers: new Set(),
      chain: Promise.resolve(),
      sandboxAttempts: 1,
    };
    this.runtimes.set(uid, runtime);
    const sandbox = await this.options.network.createPodSandbox({
      uid,
      namespace: runtime.namespace,
      name: runtime.name,
      nodeName,
      hostNetwork: pod.spec.hostNetwork === true,
      qosClass: pod.status?.qosClass ?? 'BestEffort',
      containers: pod.spec.containers.map((container) => ({
        name: container.name,
        image: container.image ?? '',
        containerId: runtime.containerIds.get(container.name) as string,
        ports: [...new Set((container.ports ?? []).map((port) => port.containerPort))],
      })),
    });
    runtime.sandbox = sandbox;
    const started = pod.metadata.creationTimestamp ?? timestamp();
    const conditions: Condition[] = [];
    for (const type of CONDITION_ORDER) {
      conditions.push({ type, status: 'True', lastProbeTime: null, lastTransitionTime: started });
    }
    pod.status = {
      phase: 'Running',
      conditions,
      hostIP: sandbox.hostIP,
      hostIPs: [{ ip: sandbox.hostIP }],
      podIP: sandbox.podIP,
      podIPs: [{ ip: sandbox.podIP }],
      startTime: started,
      qosClass: pod.status?.qosClass ?? 'BestEffort',
      containerStatuses: pod.spec.containers.map((container) => ({
        name: container.name,
        image: normalizeImage(container.image ?? ''),
        imageID: imageId(container.image ?? ''),
        containerID: `containerd://${runtime.containerIds.get(container.name) as string}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: started } },
        lastState: {},
      })),
    };
    return pod;
  }
}

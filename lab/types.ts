import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';

/** One container the kubelet side asks the network side to start. */
export interface ContainerRequest {
  readonly name: string;
  readonly image: string;
  /** 64 hex characters; the API shows it as `containerd://<id>`. */
  readonly containerId: string;
  readonly ports: readonly number[];
}

export interface PodSandboxRequest {
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly nodeName: string;
  readonly hostNetwork: boolean;
  /** "Guaranteed" | "Burstable" | "BestEffort": picks the kubepods cgroup slice. */
  readonly qosClass: string;
  readonly containers: readonly ContainerRequest[];
}

export interface RunningContainer {
  readonly name: string;
  readonly containerId: string;
  /** PID (in the root PID namespace) of the container's main process. */
  readonly pid: number;
}

export interface PodSandbox {
  /** The pod's IP: its own for ordinary pods, the node's InternalIP for hostNetwork pods. */
  readonly podIP: string;
  readonly hostIP: string;
  readonly containers: readonly RunningContainer[];
}

/** How to spawn a command "inside" a pod's container: argv[0] and the rest, no shell. */
export interface SpawnSpec {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * The live API state the data plane (kube-proxy rules, cluster DNS) follows. The objects are
 * the API server's stored JSON (wire form): timestamps are RFC 3339 strings, not Dates, and
 * they must not be mutated.
 */
export interface ClusterState {
  readonly services: readonly V1Service[];
  readonly endpointSlices: readonly V1EndpointSlice[];
  readonly pods: readonly V1Pod[];
}

/**
 * The lab's data plane. The API side (kubelet simulation, controllers) calls it; one
 * implementation builds real network namespaces, another (scale mode) does nothing.
 */
export interface LabNetwork {
  /** Sweep leftovers of an earlier lab, then build nodes, bridges and the underlay. */
  start(): Promise<void>;
  /** Create the pod's netns (unless hostNetwork), veth, cgroups and container processes. */
  createPodSandbox(request: PodSandboxRequest): Promise<PodSandbox>;
  /** Kill every process of the pod (containers and execs), remove its netns and cgroups. Idempotent. */
  deletePodSandbox(uid: string): Promise<void>;
  /** How to run argv inside a running pod's container (its netns; the node's for hostNetwork pods). */
  execSpec(uid: string, containerName: string, argv: readonly string[]): SpawnSpec;
  /** Register a process started by an exec so that deletePodSandbox kills it too. */
  trackExecProcess(uid: string, pid: number): void;
  /** Rewrite kube-proxy rules on every node and refresh cluster DNS; called after every change (debounced by the caller). */
  syncClusterState(state: ClusterState): Promise<void>;
  /** Tear everything down. Idempotent, safe to call twice and after a partial start. */
  stop(): Promise<void>;
}

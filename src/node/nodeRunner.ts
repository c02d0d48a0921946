import type { AcquireOptions, DebugPodHandle, DebugPodManager, DebugPodProgress } from './debugPodManager.js';
import type { NodeExec, NodeExecOptions, NodeExecResult } from './nodeExec.js';

export interface NodeCommandOptions extends NodeExecOptions {
  /** Progress of getting the debug pod ready (only reported when one has to be created). */
  readonly onProgress?: (progress: DebugPodProgress) => void;
}

/**
 * Runs commands on a node, as root, in the node's network and PID namespaces with the node's
 * root filesystem at `/host`. Diagnostics depend on this interface, not on how it is done.
 */
export interface NodeRunner {
  run(nodeName: string, argv: readonly string[], options?: NodeCommandOptions): Promise<NodeExecResult>;
  /** The debug image the commands run in (for the manual commands shown with results). */
  debugImage(): string;
}

/** {@link NodeRunner} through a debug pod per node. */
export class DebugPodNodeRunner implements NodeRunner {
  constructor(
    private readonly manager: DebugPodManager,
    private readonly exec: NodeExec,
  ) {}

  run(nodeName: string, argv: readonly string[], options: NodeCommandOptions = {}): Promise<NodeExecResult> {
    const acquire: AcquireOptions = { signal: options.signal, onProgress: options.onProgress };
    return this.manager.use(nodeName, acquire, (pod) => this.exec.run(pod, argv, options));
  }

  /** The node's debug pod for callers that need it directly (an interactive terminal). */
  debugPod(nodeName: string, options: AcquireOptions = {}): Promise<DebugPodHandle> {
    return this.manager.acquire(nodeName, options);
  }

  /** Keeps the node's debug pod from idle removal until disposed (an open terminal). */
  holdDebugPod(nodeName: string): { dispose(): void } {
    return this.manager.hold(nodeName);
  }

  debugImage(): string {
    return this.manager.settings().image;
  }
}

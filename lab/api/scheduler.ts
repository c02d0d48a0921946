/**
 * A small default-scheduler: binds pods without `spec.nodeName` to a Ready, schedulable node
 * that matches their nodeSelector and tolerates its NoSchedule taints, preferring the node
 * with the fewest pods. Records `Scheduled` / `FailedScheduling` like kube-scheduler.
 */
import type { EventRecorder } from './events';
import type { Condition, Labels, Node, Pod } from './objects';
import { timestamp } from './objects';
import type { Registry } from './registry';
import type { Store, StoreEvent } from './store';

interface Taint {
  key?: string;
  value?: string;
  effect?: string;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

function tolerates(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((toleration) => {
    if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) {
      return false;
    }
    if (toleration.operator === 'Exists') {
      return toleration.key === undefined || toleration.key === '' || toleration.key === taint.key;
    }
    return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
  });
}

function matchesNodeSelector(selector: Labels | undefined, labels: Labels | undefined): boolean {
  return Object.entries(selector ?? {}).every(([key, value]) => labels?.[key] === value);
}

export class Scheduler {
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly events: EventRecorder,
  ) {}

  start(): void {
    this.unsubscribe = this.store.subscribe('pods', (event) => this.onPod(event));
    for (const entry of this.store.values('pods')) {
      this.enqueue(entry.object as Pod);
    }
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private onPod(event: StoreEvent): void {
    if (event.type !== 'DELETED') {
      this.enqueue(event.entry.object as Pod);
    }
  }

  private enqueue(pod: Pod): void {
    if ((pod.spec.nodeName ?? '') !== '' || pod.metadata.deletionTimestamp !== undefined || (pod.spec.schedulerName ?? 'default-scheduler') !== 'default-scheduler') {
      return;
    }
    if (pod.status?.conditions?.some((condition) => condition.type === 'PodScheduled' && condition.reason === 'Unschedulable')) {
      return;
    }
    this.pending.add(`${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.run());
    }
  }

  private run(): void {
    this.scheduled = false;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      const slash = key.indexOf('/');
      this.schedule(key.slice(0, slash), key.slice(slash + 1));
    }
  }

  private schedule(namespace: string, name: string): void {
    const pod = this.store.get('pods', namespace, name)?.object as Pod | undefined;
    if (pod === undefined || (pod.spec.nodeName ?? '') !== '' || pod.metadata.deletionTimestamp !== undefined) {
      return;
    }
    const nodes = [...this.store.values('nodes')].map((entry) => entry.object as Node);
    const tolerations = (Array.isArray(pod.spec.tolerations) ? pod.spec.tolerations : []) as Toleration[];
    let notReady = 0;
    let unschedulable = 0;
    let selectorMismatch = 0;
    let untolerated = 0;
    const candidates: Node[] = [];
    for (const node of nodes) {
      const ready = node.status.conditions?.find((condition) => condition.type === 'Ready')?.status === 'True';
      if (!ready) {
        notReady++;
      } else if (node.spec.unschedulable === true) {
        unschedulable++;
      } else if (!matchesNodeSelector(pod.spec.nodeSelector, node.metadata.labels)) {
        selectorMismatch++;
      } else if (((node.spec.taints ?? []) as Taint[]).some((taint) => (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(tolerations, taint))) {
        untolerated++;
      } else {
        candidates.push(node);
      }
    }
    if (candidates.length === 0) {
      const reasons: string[] = [];
      if (selectorMismatch > 0) {
        reasons.push(`${selectorMismatch} node(s) didn't match Pod's node affinity/selector`);
      }
      if (untolerated > 0) {
        reasons.push(`${untolerated} node(s) had untolerated taint(s)`);
      }
      if (unschedulable > 0) {
        reasons.push(`${unschedulable} node(s) were unschedulable`);
      }
      if (notReady > 0) {
        reasons.push(`${notReady} node(s) were not ready`);
      }
      const message = `0/${nodes.length} nodes are available: ${reasons.join(', ')}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`;
      const updated = this.registry.mutate<Pod>('pods', namespace, name, (next) => {
        next.status ??= {};
        const conditions = (next.status.conditions ??= []);
        conditions.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: timestamp() });
      });
      if (updated !== undefined) {
        this.events.recordScheduler(updated.object, 'Warning', 'FailedScheduling', 'Scheduling', message);
      }
      return;
    }
    const load = new Map<string, number>();
    for (const entry of this.store.values('pods')) {
      const nodeName = (entry.object as Pod).spec.nodeName;
      if (nodeName !== undefined && nodeName !== '') {
        load.set(nodeName, (load.get(nodeName) ?? 0) + 1);
      }
    }
    candidates.sort((a, b) => (load.get(a.metadata.name ?? '') ?? 0) - (load.get(b.metadata.name ?? '') ?? 0) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    const nodeName = candidates[0].metadata.name ?? '';
    // The binding subresource: nodeName and the PodScheduled condition in one write.
    const bound = this.registry.mutate<Pod>('pods', namespace, name, (next) => {
      next.spec.nodeName = nodeName;
      next.status ??= {};
      const conditions: Condition[] = (next.status.conditions ?? []).filter((condition) => condition.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: timestamp() });
      next.status.conditions = conditions;
    });
    if (bound !== undefined) {
      this.events.recordScheduler(bound.object, 'Normal', 'Scheduled', 'Binding', `Successfully assigned ${namespace}/${name} to ${nodeName}`);
    }
  }
}

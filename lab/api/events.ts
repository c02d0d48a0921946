/**
 * Core v1 Events as the kubelet's and the scheduler's recorders write them: kubelet events
 * aggregate (same object, reason and message bump `count` and `lastTimestamp`), scheduler
 * events come from the events.k8s.io recorder (eventTime, reportingComponent, no source).
 * Events expire after an hour, as with the API server's default `--event-ttl`.
 */
import type { CoreEvent, KubeObject } from './objects';
import { timestamp } from './objects';
import type { Store } from './store';

export interface EventSource {
  readonly component: string;
  readonly host?: string;
}

const EVENT_TTL_MS = 60 * 60 * 1000;
const MAX_EVENTS = 20000;

function microTime(date: Date = new Date()): string {
  return date.toISOString().replace(/Z$/, '000Z');
}

export class EventRecorder {
  private readonly recent = new Map<string, string>();
  private sequence = 0;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly store: Store) {
    this.sweeper = setInterval(() => this.expire(), 60_000);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  private eventName(involvedName: string): string {
    // Upstream: "<name>.<UnixNano in hex>"; the sequence keeps names unique within a millisecond.
    const nanos = BigInt(Date.now()) * 1_000_000n + BigInt(this.sequence++ % 1_000_000);
    return `${involvedName}.${nanos.toString(16)}`;
  }

  /** A kubelet-style event (`source.component`, counted). */
  record(involved: { kind: string; apiVersion: string; object: KubeObject }, type: 'Normal' | 'Warning', reason: string, message: string, source: EventSource, fieldPath?: string): void {
    const meta = involved.object.metadata;
    const namespace = meta.namespace ?? 'default';
    const key = [meta.uid, type, reason, message, source.component, source.host ?? '', fieldPath ?? ''].join('\u0000');
    const now = timestamp();
    const existingName = this.recent.get(key);
    if (existingName !== undefined) {
      const existing = this.store.get('events', namespace, existingName);
      if (existing !== undefined) {
        const next = structuredClone(existing.object) as CoreEvent;
        next.count = (next.count ?? 1) + 1;
        next.lastTimestamp = now;
        this.store.update('events', next);
        return;
      }
    }
    const name = this.eventName(meta.name ?? '');
    const involvedObject: CoreEvent['involvedObject'] = {
      kind: involved.kind,
      namespace: meta.namespace,
      name: meta.name,
      uid: meta.uid,
      apiVersion: involved.apiVersion,
      resourceVersion: meta.resourceVersion,
    };
    if (fieldPath !== undefined) {
      involvedObject.fieldPath = fieldPath;
    }
    if (involvedObject.namespace === undefined) {
      delete involvedObject.namespace;
    }
    const event: CoreEvent = {
      metadata: { name, namespace, creationTimestamp: now },
      involvedObject,
      reason,
      message,
      source: source.host !== undefined ? { component: source.component, host: source.host } : { component: source.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    };
    this.create(event);
    this.recent.set(key, name);
  }

  /** An events.k8s.io-style event, as kube-scheduler records `Scheduled`. */
  recordScheduler(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, action: string, message: string): void {
    const meta = pod.metadata;
    const event: CoreEvent = {
      metadata: { name: this.eventName(meta.name ?? ''), namespace: meta.namespace ?? 'default', creationTimestamp: timestamp() },
      involvedObject: { kind: 'Pod', namespace: meta.namespace, name: meta.name, uid: meta.uid, apiVersion: 'v1', resourceVersion: meta.resourceVersion },
      reason,
      message,
      source: {},
      firstTimestamp: null,
      lastTimestamp: null,
      type,
      eventTime: microTime(),
      action,
      reportingComponent: 'default-scheduler',
      reportingInstance: 'default-scheduler-lab-control-plane',
    };
    this.create(event);
  }

  private create(event: CoreEvent): void {
    if (this.store.get('namespaces', undefined, event.metadata.namespace ?? '') === undefined) {
      return;
    }
    this.store.create('events', event);
    if (this.store.count('events') > MAX_EVENTS) {
      this.expire(true);
    }
  }

  private expire(overCapacity = false): void {
    const cutoff = Date.now() - EVENT_TTL_MS;
    const all = [...this.store.values('events')];
    const expired = all.filter((entry) => Date.parse(entry.object.metadata.creationTimestamp ?? '') < cutoff);
    if (overCapacity && expired.length === 0) {
      all.sort((a, b) => a.resourceVersion - b.resourceVersion);
      expired.push(...all.slice(0, all.length - MAX_EVENTS));
    }
    for (const entry of expired) {
      this.store.delete('events', entry.object.metadata.namespace, entry.object.metadata.name ?? '');
    }
    if (expired.length > 0) {
      const live = new Set([...this.store.values('events')].map((entry) => entry.object.metadata.name));
      for (const [key, name] of this.recent) {
        if (!live.has(name)) {
          this.recent.delete(key);
        }
      }
    }
  }
}

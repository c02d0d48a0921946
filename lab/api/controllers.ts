/**
 * The controllers the lab needs from kube-controller-manager and the API server: the
 * EndpointSlice controller, the namespace controller (deleting a namespace's content), the
 * garbage collection of slices whose Service is gone, and the hand-off of cluster state to
 * the network side (debounced, serialised).
 */
import type { ClusterState, LabNetwork } from '../types';
import type { Endpoint, EndpointPort, EndpointSlice, Labels, Namespace, Pod, Service } from './objects';
import { isPodReady, isPodTerminal, randomNameSuffix, timestamp, newUid } from './objects';
import type { Registry } from './registry';
import { RESOURCES } from './resources';
import { matchesSelectorMap } from './selectors';
import type { Store, StoreEvent } from './store';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY_CONTROLLER = 'endpointslice-controller.k8s.io';
const MAX_ENDPOINTS_PER_SLICE = 100;

/** The port a service port reaches on a pod, or undefined when a named targetPort is missing. */
export function resolveTargetPort(pod: Pod, servicePort: { targetPort?: number | string; port: number; protocol?: string }): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === 'number') {
    return target;
  }
  if (/^\d+$/.test(target)) {
    return Number.parseInt(target, 10);
  }
  const protocol = servicePort.protocol ?? 'TCP';
  for (const container of pod.spec.containers) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? 'TCP') === protocol) {
        return port.containerPort;
      }
    }
  }
  return undefined;
}

interface DesiredSlice {
  readonly ports: EndpointPort[] | null;
  readonly endpoints: Endpoint[] | null;
}

function comparable(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export class EndpointSliceController {
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.unsubscribers.push(this.store.subscribe('services', (event) => this.onService(event)));
    this.unsubscribers.push(this.store.subscribe('pods', (event) => this.onPod(event)));
    this.unsubscribers.push(this.store.subscribe('endpointslices', (event) => this.onSlice(event)));
    for (const entry of this.store.values('services')) {
      this.markDirty(entry.object.metadata.namespace ?? '', entry.object.metadata.name ?? '');
    }
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers) {
      unsubscribe();
    }
    clearTimeout(this.timer);
  }

  private markDirty(namespace: string, name: string): void {
    this.dirty.add(`${namespace}/${name}`);
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), 10);
    }
  }

  /** Reconciles every service marked dirty (also callable directly, e.g. after seeding). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const slash = key.indexOf('/');
      try {
        this.reconcile(key.slice(0, slash), key.slice(slash + 1));
      } catch (error) {
        this.log(`[endpointslice-controller] ${key}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private onService(event: StoreEvent): void {
    this.markDirty(event.entry.object.metadata.namespace ?? '', event.entry.object.metadata.name ?? '');
  }

  private onSlice(event: StoreEvent): void {
    // Someone else changed or deleted a managed slice: put it back the way it should be.
    const labels = event.entry.object.metadata.labels ?? {};
    if (labels[MANAGED_BY_LABEL] === MANAGED_BY_CONTROLLER && labels[SERVICE_NAME_LABEL] !== undefined && !this.reconciling) {
      this.markDirty(event.entry.object.metadata.namespace ?? '', labels[SERVICE_NAME_LABEL]);
    }
  }

  private onPod(event: StoreEvent): void {
    const namespace = event.entry.object.metadata.namespace ?? '';
    const labelSets: (Labels | undefined)[] = [event.entry.object.metadata.labels];
    if (event.previous !== undefined) {
      labelSets.push(event.previous.object.metadata.labels);
    }
    for (const entry of this.store.values('services', namespace)) {
      const selector = (entry.object as Service).spec.selector;
      if (selector === undefined || Object.keys(selector).length === 0) {
        continue;
      }
      if (labelSets.some((labels) => matchesSelectorMap(selector, labels))) {
        this.markDirty(namespace, entry.object.metadata.name ?? '');
      }
    }
  }

  private reconciling = false;

  private managedSlices(namespace: string, serviceName: string): EndpointSlice[] {
    const slices: EndpointSlice[] = [];
    for (const entry of this.store.values('endpointslices', namespace)) {
      const labels = entry.object.metadata.labels ?? {};
      if (labels[SERVICE_NAME_LABEL] === serviceName && labels[MANAGED_BY_LABEL] === MANAGED_BY_CONTROLLER) {
        slices.push(entry.object as EndpointSlice);
      }
    }
    return slices;
  }

  private desired(service: Service): DesiredSlice[] {
    const namespace = service.metadata.namespace ?? '';
    const selector = service.spec.selector ?? {};
    const groups = new Map<string, { ports: EndpointPort[]; endpoints: Endpoint[] }>();
    const publishNotReady = service.spec.publishNotReadyAddresses === true;
    const pods = [...this.store.values('pods', namespace)]
      .map((entry) => entry.object as Pod)
      .filter((pod) => matchesSelectorMap(selector, pod.metadata.labels) && !isPodTerminal(pod) && (pod.status?.podIP ?? '') !== '')
      .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
    for (const pod of pods) {
      const ports: EndpointPort[] = [];
      for (const servicePort of service.spec.ports ?? []) {
        const port = resolveTargetPort(pod, servicePort);
        if (port === undefined) {
          continue;
        }
        const endpointPort: EndpointPort = { name: servicePort.name ?? '', port, protocol: servicePort.protocol ?? 'TCP' };
        if (servicePort.appProtocol !== undefined) {
          endpointPort.appProtocol = servicePort.appProtocol;
        }
        ports.push(endpointPort);
      }
      const key = comparable(ports);
      let group = groups.get(key);
      if (group === undefined) {
        group = { ports, endpoints: [] };
        groups.set(key, group);
      }
      const terminating = pod.metadata.deletionTimestamp !== undefined;
      const ready = isPodReady(pod);
      group.endpoints.push({
        addresses: [pod.status?.podIP ?? ''],
        conditions: { ready: publishNotReady || (ready && !terminating), serving: publishNotReady || ready, terminating },
        nodeName: pod.spec.nodeName,
        targetRef: { kind: 'Pod', namespace, name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
      });
    }
    const slices: DesiredSlice[] = [];
    for (const group of groups.values()) {
      for (let i = 0; i < group.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) {
        slices.push({ ports: group.ports, endpoints: group.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE) });
      }
    }
    if (slices.length === 0) {
      // The controller keeps one placeholder slice for a service without endpoints.
      slices.push({ ports: null, endpoints: null });
    }
    return slices;
  }

  private sliceLabels(service: Service): Labels {
    const labels: Labels = {};
    for (const [key, value] of Object.entries(service.metadata.labels ?? {})) {
      if (key !== SERVICE_NAME_LABEL && key !== MANAGED_BY_LABEL) {
        labels[key] = value;
      }
    }
    labels[MANAGED_BY_LABEL] = MANAGED_BY_CONTROLLER;
    labels[SERVICE_NAME_LABEL] = service.metadata.name ?? '';
    if (service.spec.clusterIP === 'None') {
      labels['service.kubernetes.io/headless'] = '';
    }
    return labels;
  }

  private reconcile(namespace: string, serviceName: string): void {
    this.reconciling = true;
    try {
      this.reconcileService(namespace, serviceName);
    } finally {
      this.reconciling = false;
    }
  }

  private reconcileService(namespace: string, serviceName: string): void {
    const service = this.store.get('services', namespace, serviceName)?.object as Service | undefined;
    const existing = this.managedSlices(namespace, serviceName);
    const managed = service !== undefined && service.spec.type !== 'ExternalName' && service.spec.selector !== undefined && Object.keys(service.spec.selector).length > 0;
    if (service === undefined || !managed) {
      for (const slice of existing) {
        this.store.delete('endpointslices', namespace, slice.metadata.name ?? '');
      }
      return;
    }
    const desired = this.desired(service);
    const labels = this.sliceLabels(service);
    const owner = { apiVersion: 'v1', kind: 'Service', name: serviceName, uid: service.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
    const unused = [...existing].filter((slice) => slice.metadata.ownerReferences?.[0]?.uid === owner.uid);
    for (const slice of existing) {
      if (!unused.includes(slice)) {
        // Owned by an earlier service of the same name: garbage.
        this.store.delete('endpointslices', namespace, slice.metadata.name ?? '');
      }
    }
    const now = timestamp();
    for (const want of desired) {
      let index = unused.findIndex((slice) => comparable(slice.ports) === comparable(want.ports));
      if (index < 0 && unused.length > 0) {
        index = 0;
      }
      if (index >= 0) {
        const slice = unused.splice(index, 1)[0];
        if (comparable(slice.ports) === comparable(want.ports) && comparable(slice.endpoints) === comparable(want.endpoints) && comparable(slice.metadata.labels) === comparable(labels)) {
          continue;
        }
        this.registry.mutate<EndpointSlice>('endpointslices', namespace, slice.metadata.name ?? '', (next) => {
          next.ports = want.ports;
          next.endpoints = want.endpoints;
          next.metadata.labels = { ...labels };
          next.metadata.annotations = { ...(next.metadata.annotations ?? {}), 'endpoints.kubernetes.io/last-change-trigger-time': now };
          next.metadata.generation = (next.metadata.generation ?? 1) + 1;
        });
        continue;
      }
      let name = `${serviceName.slice(0, 57)}-${randomNameSuffix(5)}`;
      while (this.store.get('endpointslices', namespace, name) !== undefined) {
        name = `${serviceName.slice(0, 57)}-${randomNameSuffix(5)}`;
      }
      const slice: EndpointSlice = {
        metadata: {
          name,
          generateName: `${serviceName}-`,
          namespace,
          uid: newUid(),
          generation: 1,
          creationTimestamp: now,
          labels: { ...labels },
          annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': now },
          ownerReferences: [owner],
        },
        addressType: 'IPv4',
        endpoints: want.endpoints,
        ports: want.ports,
      };
      this.store.create('endpointslices', slice);
    }
    for (const slice of unused) {
      this.store.delete('endpointslices', namespace, slice.metadata.name ?? '');
    }
  }
}

/** Deletes the content of terminating namespaces, then the namespaces themselves. */
export class NamespaceController {
  private readonly unsubscribers: (() => void)[] = [];
  private readonly terminating = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly registry: Registry,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.unsubscribers.push(this.store.subscribe('namespaces', (event) => this.onNamespace(event)));
    this.unsubscribers.push(
      this.store.subscribe('pods', (event) => {
        const namespace = event.entry.object.metadata.namespace ?? '';
        if (event.type === 'DELETED' && this.terminating.has(namespace)) {
          setImmediate(() => this.finish(namespace));
        }
      }),
    );
    for (const entry of this.store.values('namespaces')) {
      if (entry.object.metadata.deletionTimestamp !== undefined) {
        this.begin(entry.object.metadata.name ?? '');
      }
    }
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribers) {
      unsubscribe();
    }
  }

  private onNamespace(event: StoreEvent): void {
    const namespace = event.entry.object as Namespace;
    if (event.type !== 'DELETED' && namespace.metadata.deletionTimestamp !== undefined) {
      const name = namespace.metadata.name ?? '';
      if (!this.terminating.has(name)) {
        setImmediate(() => this.begin(name));
      }
    }
  }

  private begin(name: string): void {
    this.terminating.add(name);
    try {
      for (const entry of [...this.store.values('pods', name)]) {
        if (entry.object.metadata.deletionTimestamp === undefined) {
          this.registry.delete(RESOURCES.pods, name, entry.object.metadata.name ?? '');
        }
      }
      for (const entry of [...this.store.values('services', name)]) {
        this.registry.delete(RESOURCES.services, name, entry.object.metadata.name ?? '');
      }
      for (const resource of ['endpointslices', 'events', 'leases'] as const) {
        for (const entry of [...this.store.values(resource, name)]) {
          this.store.delete(resource, name, entry.object.metadata.name ?? '');
        }
      }
    } catch (error) {
      this.log(`[namespace-controller] ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.finish(name);
  }

  private finish(name: string): void {
    if (!this.terminating.has(name) || this.store.count('pods', name) > 0) {
      return;
    }
    for (const resource of ['endpointslices', 'events', 'leases'] as const) {
      for (const entry of [...this.store.values(resource, name)]) {
        this.store.delete(resource, name, entry.object.metadata.name ?? '');
      }
    }
    this.terminating.delete(name);
    if (this.store.get('namespaces', undefined, name) !== undefined) {
      this.store.delete('namespaces', undefined, name);
    }
  }
}

/**
 * Hands the live services, slices and pods to the network side after changes, at most one
 * sync at a time, coalescing bursts (100 ms).
 */
export class NetworkSync {
  private readonly unsubscribers: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly network: LabNetwork,
    private readonly log: (line: string) => void,
    private readonly delayMs = 100,
  ) {}

  start(): void {
    for (const resource of ['pods', 'services', 'endpointslices'] as const) {
      this.unsubscribers.push(this.store.subscribe(resource, () => this.schedule()));
    }
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    for (const unsubscribe of this.unsubscribers) {
      unsubscribe();
    }
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.sync();
    }, this.delayMs);
  }

  /** Runs a sync now (or after the one in flight) and resolves when the network has it. */
  async sync(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      await this.running;
      if (this.running !== undefined) {
        return this.running;
      }
      return this.sync();
    }
    const state: ClusterState = {
      services: [...this.store.values('services')].map((entry) => entry.object) as unknown as ClusterState['services'],
      endpointSlices: [...this.store.values('endpointslices')].map((entry) => entry.object) as unknown as ClusterState['endpointSlices'],
      pods: [...this.store.values('pods')].map((entry) => entry.object) as unknown as ClusterState['pods'],
    };
    this.running = this.network
      .syncClusterState(state)
      .catch((error: unknown) => {
        this.log(`[network-sync] ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      })
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.schedule();
        }
      });
    return this.running;
  }
}

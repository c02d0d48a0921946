/**
 * The in-memory picture of one cluster: namespaces, nodes, pods and services indexed by
 * namespace, with sorted views cached per namespace and change tracking, so that an update
 * costs O(1) plus the re-sort of one namespace when that namespace is next read.
 */

import type { V1Namespace, V1Node, V1Pod, V1Service } from '@kubernetes/client-node';

import { summarizeNamespace, summarizeNode, summarizePod, summarizeService } from './objects.js';

/** The resources the model watches. */
export type ResourceKind = 'namespaces' | 'nodes' | 'pods' | 'services';

/** The object type of each resource. */
export interface ResourceTypes {
  namespaces: V1Namespace;
  nodes: V1Node;
  pods: V1Pod;
  services: V1Service;
}

/** What changed since the last change event; listeners refresh only that. */
export interface ClusterChange {
  /** Everything may have changed (new session, cleared index): refresh the whole view. */
  readonly all: boolean;
  /** A namespace appeared or disappeared. */
  readonly namespaceList: boolean;
  /** Namespaces whose own object, pods or services changed. */
  readonly namespaces: ReadonlySet<string>;
  /** A node was added, removed or changed in a visible way. */
  readonly nodes: boolean;
}

/** Collects changes between two events. */
export class ChangeAccumulator {
  private all = false;
  private namespaceList = false;
  private nodes = false;
  private namespaces = new Set<string>();

  markAll(): void {
    this.all = true;
  }
  markNamespaceList(): void {
    this.namespaceList = true;
  }
  markNamespace(name: string): void {
    this.namespaces.add(name);
  }
  markNodes(): void {
    this.nodes = true;
  }

  /** True when nothing was recorded since the last `take()`. */
  get empty(): boolean {
    return !this.all && !this.namespaceList && !this.nodes && this.namespaces.size === 0;
  }

  /** Returns the recorded change (undefined when none) and starts over. */
  take(): ClusterChange | undefined {
    if (this.empty) {
      return undefined;
    }
    const change: ClusterChange = {
      all: this.all,
      namespaceList: this.namespaceList || this.all,
      namespaces: this.namespaces,
      nodes: this.nodes || this.all,
    };
    this.all = false;
    this.namespaceList = false;
    this.nodes = false;
    this.namespaces = new Set();
    return change;
  }
}

/** Namespace-indexed storage of the watched objects. */
export class ClusterIndex {
  private readonly namespaceObjects = new Map<string, V1Namespace>();
  private readonly nodeObjects = new Map<string, V1Node>();
  private readonly podObjects = new Map<string, Map<string, V1Pod>>();
  private readonly serviceObjects = new Map<string, Map<string, V1Service>>();
  /** Namespaces shown even when empty (the context's namespace when access is limited to it). */
  private readonly pinned = new Set<string>();

  private sortedNamespaceNames: string[] | undefined;
  private sortedNodes: V1Node[] | undefined;
  private readonly sortedPods = new Map<string, V1Pod[]>();
  private readonly sortedServices = new Map<string, V1Service[]>();

  constructor(private readonly changes: ChangeAccumulator = new ChangeAccumulator()) {}

  /** Adds or replaces an object (informer `add`/`update`). */
  upsert<K extends ResourceKind>(kind: K, object: ResourceTypes[K]): void {
    const name = object?.metadata?.name;
    if (typeof name !== 'string' || name.length === 0) {
      return;
    }
    switch (kind) {
      case 'namespaces':
        this.upsertNamespace(name, object as V1Namespace);
        break;
      case 'nodes':
        this.upsertNode(name, object as V1Node);
        break;
      case 'pods':
        this.upsertNamespaced(this.podObjects, this.sortedPods, name, object as V1Pod, (pod) => JSON.stringify(summarizePod(pod)));
        break;
      case 'services':
        this.upsertNamespaced(this.serviceObjects, this.sortedServices, name, object as V1Service, (service) =>
          JSON.stringify(summarizeService(service)),
        );
        break;
    }
  }

  /** Removes an object (informer `delete`). */
  remove<K extends ResourceKind>(kind: K, object: ResourceTypes[K]): void {
    const name = object?.metadata?.name;
    if (typeof name !== 'string') {
      return;
    }
    switch (kind) {
      case 'namespaces': {
        const before = this.hasNamespace(name);
        if (this.namespaceObjects.delete(name)) {
          this.changes.markNamespace(name);
          this.afterPresenceChange(name, before);
        }
        break;
      }
      case 'nodes':
        if (this.nodeObjects.delete(name)) {
          this.sortedNodes = undefined;
          this.changes.markNodes();
        }
        break;
      case 'pods':
        this.removeNamespaced(this.podObjects, this.sortedPods, name, object);
        break;
      case 'services':
        this.removeNamespaced(this.serviceObjects, this.sortedServices, name, object);
        break;
    }
  }

  /** Forgets every object of one kind (or all), e.g. when a watch falls back to one namespace. */
  clear(kind?: ResourceKind): void {
    if (kind === undefined || kind === 'namespaces') {
      this.namespaceObjects.clear();
    }
    if (kind === undefined || kind === 'nodes') {
      this.nodeObjects.clear();
      this.sortedNodes = undefined;
    }
    if (kind === undefined || kind === 'pods') {
      this.podObjects.clear();
      this.sortedPods.clear();
    }
    if (kind === undefined || kind === 'services') {
      this.serviceObjects.clear();
      this.sortedServices.clear();
    }
    if (kind === undefined) {
      this.pinned.clear();
    }
    this.sortedNamespaceNames = undefined;
    this.changes.markAll();
  }

  /** Shows `name` as a namespace even when nothing is known in it. */
  pinNamespace(name: string): void {
    const before = this.hasNamespace(name);
    this.pinned.add(name);
    this.afterPresenceChange(name, before);
  }

  /** Whether a namespace is known (as an object, by its pods or services, or pinned). */
  hasNamespace(name: string): boolean {
    return this.namespaceObjects.has(name) || this.podObjects.has(name) || this.serviceObjects.has(name) || this.pinned.has(name);
  }

  /** All known namespace names, sorted. Cached until the set changes. */
  namespaceNames(): readonly string[] {
    if (this.sortedNamespaceNames === undefined) {
      const names = new Set<string>([
        ...this.namespaceObjects.keys(),
        ...this.podObjects.keys(),
        ...this.serviceObjects.keys(),
        ...this.pinned,
      ]);
      this.sortedNamespaceNames = [...names].sort(compareNames);
    }
    return this.sortedNamespaceNames;
  }

  /** The namespace object, if the namespaces are watched. */
  namespace(name: string): V1Namespace | undefined {
    return this.namespaceObjects.get(name);
  }

  /** Nodes sorted by name. */
  nodes(): readonly V1Node[] {
    if (this.sortedNodes === undefined) {
      this.sortedNodes = [...this.nodeObjects.values()].sort(compareObjects);
    }
    return this.sortedNodes;
  }

  node(name: string): V1Node | undefined {
    return this.nodeObjects.get(name);
  }

  /** Pods of one namespace sorted by name; cached until that namespace changes. */
  pods(namespace: string): readonly V1Pod[] {
    return sortedOf(this.podObjects, this.sortedPods, namespace);
  }

  pod(namespace: string, name: string): V1Pod | undefined {
    return this.podObjects.get(namespace)?.get(name);
  }

  podCount(namespace: string): number {
    return this.podObjects.get(namespace)?.size ?? 0;
  }

  /** Every pod, in no particular order. */
  *allPods(): IterableIterator<V1Pod> {
    for (const pods of this.podObjects.values()) {
      yield* pods.values();
    }
  }

  /** Services of one namespace sorted by name; cached until that namespace changes. */
  services(namespace: string): readonly V1Service[] {
    return sortedOf(this.serviceObjects, this.sortedServices, namespace);
  }

  service(namespace: string, name: string): V1Service | undefined {
    return this.serviceObjects.get(namespace)?.get(name);
  }

  serviceCount(namespace: string): number {
    return this.serviceObjects.get(namespace)?.size ?? 0;
  }

  /** Every service, in no particular order. */
  *allServices(): IterableIterator<V1Service> {
    for (const services of this.serviceObjects.values()) {
      yield* services.values();
    }
  }

  /** Total counts, for the log and the tooltips. */
  counts(): { namespaces: number; nodes: number; pods: number; services: number } {
    let pods = 0;
    for (const map of this.podObjects.values()) {
      pods += map.size;
    }
    let services = 0;
    for (const map of this.serviceObjects.values()) {
      services += map.size;
    }
    return { namespaces: this.namespaceNames().length, nodes: this.nodeObjects.size, pods, services };
  }

  private upsertNamespace(name: string, object: V1Namespace): void {
    const before = this.hasNamespace(name);
    const previous = this.namespaceObjects.get(name);
    this.namespaceObjects.set(name, object);
    if (
      previous === undefined ||
      JSON.stringify(summarizeNamespace(previous, name)) !== JSON.stringify(summarizeNamespace(object, name))
    ) {
      this.changes.markNamespace(name);
    }
    this.afterPresenceChange(name, before);
  }

  private upsertNode(name: string, object: V1Node): void {
    const previous = this.nodeObjects.get(name);
    this.nodeObjects.set(name, object);
    // Nodes send heartbeats; only a change the user can see is a change.
    if (previous === undefined || JSON.stringify(summarizeNode(previous)) !== JSON.stringify(summarizeNode(object))) {
      this.sortedNodes = undefined;
      this.changes.markNodes();
    }
  }

  private upsertNamespaced<T extends V1Pod | V1Service>(
    store: Map<string, Map<string, T>>,
    sorted: Map<string, T[]>,
    name: string,
    object: T,
    fingerprint: (object: T) => string,
  ): void {
    const namespace = object.metadata?.namespace ?? '';
    const before = this.hasNamespace(namespace);
    let objects = store.get(namespace);
    if (objects === undefined) {
      objects = new Map();
      store.set(namespace, objects);
    }
    const previous = objects.get(name);
    objects.set(name, object);
    if (previous === undefined) {
      sorted.delete(namespace);
      this.changes.markNamespace(namespace);
    } else {
      // The sorted view holds the previous object: replace it in place (same position).
      const view = sorted.get(namespace);
      if (view !== undefined) {
        const position = view.indexOf(previous);
        if (position >= 0) {
          view[position] = object;
        } else {
          sorted.delete(namespace);
        }
      }
      if (fingerprint(previous) !== fingerprint(object)) {
        this.changes.markNamespace(namespace);
      }
    }
    this.afterPresenceChange(namespace, before);
  }

  private removeNamespaced<T extends V1Pod | V1Service>(
    store: Map<string, Map<string, T>>,
    sorted: Map<string, T[]>,
    name: string,
    object: { metadata?: { namespace?: string } },
  ): void {
    const namespace = object.metadata?.namespace ?? '';
    const objects = store.get(namespace);
    if (objects === undefined || !objects.delete(name)) {
      return;
    }
    const before = true;
    if (objects.size === 0) {
      store.delete(namespace);
    }
    sorted.delete(namespace);
    this.changes.markNamespace(namespace);
    this.afterPresenceChange(namespace, before);
  }

  private afterPresenceChange(namespace: string, before: boolean): void {
    if (this.hasNamespace(namespace) !== before) {
      this.sortedNamespaceNames = undefined;
      this.changes.markNamespaceList();
    }
  }
}

function sortedOf<T extends V1Pod | V1Service>(
  store: Map<string, Map<string, T>>,
  sorted: Map<string, T[]>,
  namespace: string,
): readonly T[] {
  let view = sorted.get(namespace);
  if (view === undefined) {
    view = [...(store.get(namespace)?.values() ?? [])].sort(compareObjects);
    sorted.set(namespace, view);
  }
  return view;
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

/** Natural order: `pod-2` before `pod-10`. */
export function compareNames(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

function compareObjects(a: { metadata?: { name?: string } }, b: { metadata?: { name?: string } }): number {
  return compareNames(a.metadata?.name ?? '', b.metadata?.name ?? '');
}

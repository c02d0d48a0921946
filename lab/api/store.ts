/**
 * The lab's etcd and watch cache in one: objects per resource, one global revision counter
 * (resourceVersion), and per-resource event logs that watches replay from. Stored objects are
 * immutable; each version caches its own JSON so lists and watch fan-out serialise once.
 */
import type { KubeObject } from './objects';
import type { ResourceInfo, ResourceName } from './resources';
import { RESOURCES, apiVersionOf } from './resources';
import { alreadyExists, expired, notFound } from './status';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One stored version of an object. */
export class StoredEntry {
  private cachedJson: string | undefined;
  private cachedTypedJson: string | undefined;

  constructor(
    readonly info: ResourceInfo,
    readonly object: KubeObject,
    readonly resourceVersion: number,
  ) {}

  /** The object as list items carry it: no kind/apiVersion. */
  get json(): string {
    if (this.cachedJson === undefined) {
      this.cachedJson = JSON.stringify(this.object);
    }
    return this.cachedJson;
  }

  /** The object as GET and watch events carry it: with kind and apiVersion first. */
  get typedJson(): string {
    if (this.cachedTypedJson === undefined) {
      this.cachedTypedJson = `{"kind":${JSON.stringify(this.info.kind)},"apiVersion":${JSON.stringify(apiVersionOf(this.info))},${this.json.slice(1)}`;
    }
    return this.cachedTypedJson;
  }

  get key(): string {
    return objectKey(this.info, this.object.metadata.namespace, this.object.metadata.name ?? '');
  }
}

export interface StoreEvent {
  readonly type: WatchEventType;
  readonly resourceVersion: number;
  /** The object after the change (for DELETED: its last state, at the deletion's version). */
  readonly entry: StoredEntry;
  /** The object before the change (MODIFIED and DELETED). */
  readonly previous?: StoredEntry;
}

export type StoreListener = (event: StoreEvent) => void;

export function objectKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced ? `${namespace ?? ''}/${name}` : name;
}

/** Events kept per resource for watches that resume from a resourceVersion. */
const DEFAULT_LOG_CAPACITY = 20000;

class ResourceStore {
  readonly entries = new Map<string, StoredEntry>();
  readonly byNamespace = new Map<string, Map<string, StoredEntry>>();
  readonly listeners = new Set<StoreListener>();
  private sortedKeys: string[] | null = null;
  private log: StoreEvent[] = [];
  /** Every event with a resourceVersion above this one is still in the log. */
  logStart = 0;

  constructor(
    readonly info: ResourceInfo,
    private readonly capacity: number,
  ) {}

  put(entry: StoredEntry): void {
    const key = entry.key;
    if (!this.entries.has(key)) {
      this.sortedKeys = null;
    }
    this.entries.set(key, entry);
    if (this.info.namespaced) {
      const namespace = entry.object.metadata.namespace ?? '';
      let bucket = this.byNamespace.get(namespace);
      if (bucket === undefined) {
        bucket = new Map();
        this.byNamespace.set(namespace, bucket);
      }
      bucket.set(key, entry);
    }
  }

  remove(entry: StoredEntry): void {
    const key = entry.key;
    this.entries.delete(key);
    this.sortedKeys = null;
    if (this.info.namespaced) {
      const namespace = entry.object.metadata.namespace ?? '';
      const bucket = this.byNamespace.get(namespace);
      bucket?.delete(key);
      if (bucket !== undefined && bucket.size === 0) {
        this.byNamespace.delete(namespace);
      }
    }
  }

  /** Keys in etcd order (byte order of `<namespace>/<name>`). */
  keys(): string[] {
    if (this.sortedKeys === null) {
      this.sortedKeys = [...this.entries.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    return this.sortedKeys;
  }

  record(event: StoreEvent): void {
    this.log.push(event);
    if (this.log.length > this.capacity * 1.25) {
      const drop = this.log.length - this.capacity;
      this.logStart = this.log[drop - 1].resourceVersion;
      this.log = this.log.slice(drop);
    }
  }

  compact(revision: number): void {
    this.log = [];
    this.logStart = revision;
  }

  /** Events after `resourceVersion`, oldest first, or undefined when the log no longer reaches back that far. */
  eventsSince(resourceVersion: number): readonly StoreEvent[] | undefined {
    if (resourceVersion < this.logStart) {
      return undefined;
    }
    let low = 0;
    let high = this.log.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.log[middle].resourceVersion <= resourceVersion) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return this.log.slice(low);
  }
}

export class Store {
  private revision = 1;
  private readonly resources = new Map<ResourceName, ResourceStore>();
  private readonly pending: { resource: ResourceStore; event: StoreEvent }[] = [];
  private dispatching = false;

  constructor(
    private readonly log: (line: string) => void = () => undefined,
    logCapacity = DEFAULT_LOG_CAPACITY,
  ) {
    for (const info of Object.values(RESOURCES)) {
      this.resources.set(info.name, new ResourceStore(info, logCapacity));
    }
  }

  /** The latest resourceVersion of the whole store (what a list reports). */
  get currentRevision(): number {
    return this.revision;
  }

  private resource(name: ResourceName): ResourceStore {
    const store = this.resources.get(name);
    if (store === undefined) {
      throw new Error(`unknown resource ${name}`);
    }
    return store;
  }

  get(name: ResourceName, namespace: string | undefined, objectName: string): StoredEntry | undefined {
    const store = this.resource(name);
    return store.entries.get(objectKey(store.info, namespace, objectName));
  }

  /** Like {@link get}, but a missing object is the API's 404. */
  require(name: ResourceName, namespace: string | undefined, objectName: string): StoredEntry {
    const entry = this.get(name, namespace, objectName);
    if (entry === undefined) {
      const info = RESOURCES[name];
      throw notFound(info.group, info.name, objectName);
    }
    return entry;
  }

  /** Entries in key order, optionally of one namespace. */
  list(name: ResourceName, namespace?: string): StoredEntry[] {
    const store = this.resource(name);
    const keys = store.keys();
    if (namespace === undefined || !store.info.namespaced) {
      return keys.map((key) => store.entries.get(key) as StoredEntry);
    }
    const bucket = store.byNamespace.get(namespace);
    if (bucket === undefined) {
      return [];
    }
    return [...bucket.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((key) => bucket.get(key) as StoredEntry);
  }

  /** Objects without ordering guarantees (cheap; for controllers). */
  values(name: ResourceName, namespace?: string): IterableIterator<StoredEntry> {
    const store = this.resource(name);
    if (namespace === undefined || !store.info.namespaced) {
      return store.entries.values();
    }
    return (store.byNamespace.get(namespace) ?? new Map<string, StoredEntry>()).values();
  }

  count(name: ResourceName, namespace?: string): number {
    const store = this.resource(name);
    if (namespace === undefined || !store.info.namespaced) {
      return store.entries.size;
    }
    return store.byNamespace.get(namespace)?.size ?? 0;
  }

  /** Sorted keys, for paginated lists. */
  sortedKeys(name: ResourceName): readonly string[] {
    return this.resource(name).keys();
  }

  getByKey(name: ResourceName, key: string): StoredEntry | undefined {
    return this.resource(name).entries.get(key);
  }

  /** Stores a new object; `object` becomes the store's (the caller must not keep mutating it). */
  create(name: ResourceName, object: KubeObject): StoredEntry {
    const store = this.resource(name);
    const key = objectKey(store.info, object.metadata.namespace, object.metadata.name ?? '');
    if (store.entries.has(key)) {
      throw alreadyExists(store.info.group, store.info.name, object.metadata.name ?? '');
    }
    const revision = ++this.revision;
    object.metadata.resourceVersion = String(revision);
    const entry = new StoredEntry(store.info, object, revision);
    store.put(entry);
    this.emit(store, { type: 'ADDED', resourceVersion: revision, entry });
    return entry;
  }

  /** Replaces an existing object with a new version. */
  update(name: ResourceName, object: KubeObject): StoredEntry {
    const store = this.resource(name);
    const key = objectKey(store.info, object.metadata.namespace, object.metadata.name ?? '');
    const previous = store.entries.get(key);
    if (previous === undefined) {
      throw notFound(store.info.group, store.info.name, object.metadata.name ?? '');
    }
    const revision = ++this.revision;
    object.metadata.resourceVersion = String(revision);
    const entry = new StoredEntry(store.info, object, revision);
    store.put(entry);
    this.emit(store, { type: 'MODIFIED', resourceVersion: revision, entry, previous });
    return entry;
  }

  /** Removes an object; its DELETED event carries the deletion's resourceVersion. */
  delete(name: ResourceName, namespace: string | undefined, objectName: string): StoredEntry {
    const store = this.resource(name);
    const previous = store.entries.get(objectKey(store.info, namespace, objectName));
    if (previous === undefined) {
      throw notFound(store.info.group, store.info.name, objectName);
    }
    const revision = ++this.revision;
    const last = structuredClone(previous.object);
    last.metadata.resourceVersion = String(revision);
    const entry = new StoredEntry(store.info, last, revision);
    store.remove(previous);
    this.emit(store, { type: 'DELETED', resourceVersion: revision, entry, previous });
    return entry;
  }

  /** Watch-cache window: events after `resourceVersion`, or the API's 410 Expired when too old. */
  eventsSince(name: ResourceName, resourceVersion: number): readonly StoreEvent[] {
    const store = this.resource(name);
    const events = store.eventsSince(resourceVersion);
    if (events === undefined) {
      throw expired(`too old resource version: ${resourceVersion} (${store.logStart})`);
    }
    return events;
  }

  /** Forgets history, as a freshly started API server's watch cache knows none. */
  compact(): void {
    for (const store of this.resources.values()) {
      store.compact(this.revision);
    }
  }

  subscribe(name: ResourceName, listener: StoreListener): () => void {
    const store = this.resource(name);
    store.listeners.add(listener);
    return () => {
      store.listeners.delete(listener);
    };
  }

  /**
   * Events reach listeners in resourceVersion order even when a listener changes the store
   * while being called: nested changes wait in a queue.
   */
  private emit(store: ResourceStore, event: StoreEvent): void {
    store.record(event);
    this.pending.push({ resource: store, event });
    if (this.dispatching) {
      return;
    }
    this.dispatching = true;
    try {
      while (this.pending.length > 0) {
        const next = this.pending.shift() as { resource: ResourceStore; event: StoreEvent };
        for (const listener of [...next.resource.listeners]) {
          try {
            listener(next.event);
          } catch (error) {
            // A broken listener (a watch whose socket died) must not stop the others.
            this.log(`[store] listener failed on ${next.event.type} ${next.resource.info.name}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
          }
        }
      }
    } finally {
      this.dispatching = false;
    }
  }
}

/**
 * Watch streams: newline-delimited JSON events over a chunked response whose headers go out
 * at once, replayed from a resourceVersion out of the store's event log (an `ERROR` event
 * with a 410 Expired Status when the log no longer reaches back), bookmarks, timeouts, and
 * the selector semantics of the watch cache (an object that starts matching arrives as
 * ADDED, one that stops matching as DELETED).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from './objects';
import type { ResourceInfo } from './resources';
import { apiVersionOf } from './resources';
import type { StoreEvent, StoredEntry, Store, WatchEventType } from './store';
import { ApiError } from './status';
import type { IncludeObject } from './table';
import { tableColumns, tableRow } from './table';

export interface WatchRequest {
  readonly info: ResourceInfo;
  readonly namespace?: string;
  readonly matches: (object: KubeObject) => boolean;
  /** Undefined or "0": start with the current state as ADDED events. */
  readonly resourceVersion?: string;
  readonly allowBookmarks: boolean;
  readonly sendInitialEvents: boolean;
  readonly timeoutSeconds?: number;
  /** Set when the client asked for Table rows instead of objects. */
  readonly table?: { readonly apiVersion: string; readonly includeObject: IncludeObject };
  readonly headers: Record<string, string>;
}

/** How often an idle watch with allowWatchBookmarks gets a BOOKMARK. */
const BOOKMARK_INTERVAL_MS = 15_000;
/** Watches without timeoutSeconds end after 30-60 minutes, like --min-request-timeout. */
const DEFAULT_TIMEOUT_SECONDS = 1800;
/** A client this far behind is cut off, as the API server drops watchers that cannot keep up. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export class WatchHub {
  private readonly active = new Set<ServerResponse>();

  constructor(private readonly store: Store) {}

  get count(): number {
    return this.active.size;
  }

  /** Ends every open watch (server shutdown). */
  closeAll(): void {
    for (const response of this.active) {
      response.end();
    }
    this.active.clear();
  }

  serve(request: IncomingMessage, response: ServerResponse, watch: WatchRequest): void {
    const { info } = watch;
    let startVersion: number | undefined;
    if (watch.resourceVersion !== undefined && watch.resourceVersion !== '' && watch.resourceVersion !== '0') {
      if (!/^\d+$/.test(watch.resourceVersion)) {
        throw new ApiError(400, 'BadRequest', `resourceVersion: Invalid value: "${watch.resourceVersion}": strconv.ParseUint: parsing "${watch.resourceVersion}": invalid syntax`);
      }
      startVersion = Number.parseInt(watch.resourceVersion, 10);
    }
    response.writeHead(200, { ...watch.headers, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    response.flushHeaders();
    this.active.add(response);

    let first = true;
    const kindPrefix = `{"kind":${JSON.stringify(info.kind)},"apiVersion":${JSON.stringify(apiVersionOf(info))},`;
    const write = (type: WatchEventType | 'BOOKMARK' | 'ERROR', entry: StoredEntry | undefined, raw?: string): void => {
      let objectJson: string;
      if (raw !== undefined) {
        objectJson = raw;
      } else if (entry === undefined) {
        return;
      } else if (watch.table !== undefined) {
        const table = {
          kind: 'Table',
          apiVersion: watch.table.apiVersion,
          metadata: { resourceVersion: String(entry.resourceVersion) },
          columnDefinitions: first ? tableColumns(info.name) : null,
          rows: [tableRow(info, entry, watch.table.includeObject, Date.now())],
        };
        first = false;
        objectJson = JSON.stringify(table);
      } else {
        objectJson = entry.typedJson;
      }
      response.write(`{"type":"${type}","object":${objectJson}}\n`);
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        finish();
      }
    };
    const bookmark = (annotations?: Record<string, string>): void => {
      const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRevision), creationTimestamp: null };
      if (annotations !== undefined) {
        metadata.annotations = annotations;
      }
      write('BOOKMARK', undefined, `${kindPrefix}${JSON.stringify({ metadata }).slice(1)}`);
    };

    const deliver = (event: StoreEvent): void => {
      if (watch.namespace !== undefined && event.entry.object.metadata.namespace !== watch.namespace) {
        return;
      }
      const now = watch.matches(event.entry.object);
      const before = event.previous !== undefined && watch.matches(event.previous.object);
      switch (event.type) {
        case 'ADDED':
          if (now) {
            write('ADDED', event.entry);
          }
          break;
        case 'MODIFIED':
          if (now && before) {
            write('MODIFIED', event.entry);
          } else if (now) {
            write('ADDED', event.entry);
          } else if (before) {
            write('DELETED', event.entry);
          }
          break;
        case 'DELETED':
          if (before || now) {
            write('DELETED', event.entry);
          }
          break;
      }
    };

    let unsubscribe: (() => void) | undefined;
    let bookmarkTimer: NodeJS.Timeout | undefined;
    let timeoutTimer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (): void => {
      if (finished) {
        return;
      }
      finished = true;
      unsubscribe?.();
      clearInterval(bookmarkTimer);
      clearTimeout(timeoutTimer);
      this.active.delete(response);
      if (!response.writableEnded) {
        response.end();
      }
    };
    request.on('close', finish);
    response.on('close', finish);
    response.on('error', finish);

    // Replay and subscription happen in the same tick, so no event falls between them.
    if (startVersion === undefined || watch.sendInitialEvents) {
      const entries = watch.namespace !== undefined ? this.store.list(info.name, watch.namespace) : this.store.list(info.name);
      for (const entry of entries) {
        if (watch.matches(entry.object)) {
          write('ADDED', entry);
        }
      }
      if (watch.sendInitialEvents && watch.allowBookmarks) {
        bookmark({ 'k8s.io/initial-events-end': 'true' });
      }
    } else {
      let events: readonly StoreEvent[];
      try {
        events = this.store.eventsSince(info.name, startVersion);
      } catch (error) {
        if (error instanceof ApiError) {
          write('ERROR', undefined, JSON.stringify(error.toStatus()));
          finish();
          return;
        }
        throw error;
      }
      for (const event of events) {
        deliver(event);
      }
    }
    if (finished) {
      return;
    }
    unsubscribe = this.store.subscribe(info.name, deliver);
    if (watch.allowBookmarks) {
      bookmarkTimer = setInterval(() => bookmark(), BOOKMARK_INTERVAL_MS);
    }
    const timeoutSeconds = watch.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS * (1 + Math.random());
    timeoutTimer = setTimeout(() => {
      if (watch.allowBookmarks) {
        bookmark();
      }
      finish();
    }, timeoutSeconds * 1000);
  }
}

/**
 * Builds rules indexes without freezing the extension host: large dumps are parsed in a
 * worker thread (the parse of a 100,000-line dump is one uninterruptible step of a few
 * hundred milliseconds), small ones in steps on this thread. When the worker script is not
 * there (a bundle built without it) or the worker fails, the stepwise build takes over.
 * Pure Node (no `vscode`), so unit tests run it for real.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { buildRulesIndexAsync, RulesIndex } from './rulesIndex.js';
import type { RulesIndexData, RulesLanguageId } from './rulesIndex.js';

/** Texts at least this long (characters, about 10,000 lines of kube-proxy rules) go to the worker. */
export const workerThreshold = 1_000_000;

/** The worker stops after this long without work, and starts again on the next request. */
const idleMilliseconds = 60_000;

/** The worker script: `rulesWorker.js` beside this file (compiled output), or beside the bundle. */
export function defaultWorkerScript(): string | null {
  const candidate = path.join(__dirname, 'rulesWorker.js');
  return fs.existsSync(candidate) ? candidate : null;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Options of {@link RulesIndexBuilder}. */
export interface RulesIndexBuilderOptions {
  readonly log?: Logger;
  /** Worker script path; null builds everything on this thread. Default: {@link defaultWorkerScript}. */
  readonly workerScript?: string | null;
  /** Default {@link workerThreshold}. */
  readonly threshold?: number;
}

/** How an index was built, for logs and measurements. */
export interface BuildReport {
  readonly where: 'worker' | 'thread';
  readonly milliseconds: number;
}

interface PendingRequest {
  resolve: (data: RulesIndexData | null) => void;
}

/** Cheap shape check of what the worker posts back (it is our own code, but a message is untyped). */
function isIndexData(value: unknown): value is RulesIndexData {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const data = value as Record<string, unknown>;
  const occurrences = data.occurrences as Record<string, unknown> | undefined;
  return (
    (data.language === 'iptables' || data.language === 'nftables') &&
    typeof data.lineCount === 'number' &&
    Array.isArray(data.tables) &&
    Array.isArray(data.services) &&
    Array.isArray(data.folding) &&
    typeof occurrences === 'object' &&
    occurrences !== null &&
    occurrences.lineOffsets instanceof Int32Array &&
    occurrences.kind instanceof Uint8Array &&
    Array.isArray(occurrences.names)
  );
}

/** Builds indexes; one worker thread at most, started on demand. Dispose to stop it. */
export class RulesIndexBuilder {
  private readonly log: Logger;
  private readonly threshold: number;
  private workerScript: string | null;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRequest>();
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(options: RulesIndexBuilderOptions = {}) {
    this.log = options.log ?? silentLogger;
    this.threshold = options.threshold ?? workerThreshold;
    this.workerScript = options.workerScript === undefined ? defaultWorkerScript() : options.workerScript;
  }

  /**
   * The index of `text`, or null when `isCancelled` turned true before it was done. Never
   * rejects: a failing worker falls back to the stepwise build on this thread.
   */
  async build(text: string, language: RulesLanguageId, isCancelled: () => boolean = () => false, report?: (build: BuildReport) => void): Promise<RulesIndex | null> {
    const started = performance.now();
    if (this.workerScript !== null && text.length >= this.threshold) {
      const data = await this.buildInWorker(text, language);
      if (data !== null) {
        // The reply was just deserialized in one task; let other work run before the next step.
        await nextTurn();
        const index = new RulesIndex(data);
        report?.({ where: 'worker', milliseconds: performance.now() - started });
        return isCancelled() ? null : index;
      }
    }
    const index = await buildRulesIndexAsync(text, language, { isCancelled });
    if (index !== null) {
      report?.({ where: 'thread', milliseconds: performance.now() - started });
    }
    return index;
  }

  private ensureWorker(): Worker | null {
    if (this.worker !== null) {
      return this.worker;
    }
    if (this.workerScript === null) {
      return null;
    }
    try {
      const worker = new Worker(this.workerScript);
      // Idle, the worker never keeps a process (tests, the CLI) alive; busy, it must.
      worker.unref();
      worker.on('message', (message: unknown) => this.onMessage(message));
      worker.on('error', (error) => this.onWorkerGone(worker, `failed: ${error.message}`));
      worker.on('exit', (code) => this.onWorkerGone(worker, `exited with code ${code}`));
      this.worker = worker;
      return worker;
    } catch (error) {
      this.log.warn(`rules worker could not start, building on this thread from now on: ${error instanceof Error ? error.message : String(error)}`);
      this.workerScript = null;
      return null;
    }
  }

  private buildInWorker(text: string, language: RulesLanguageId): Promise<RulesIndexData | null> {
    const worker = this.ensureWorker();
    if (worker === null) {
      return Promise.resolve(null);
    }
    this.clearIdle();
    worker.ref();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve });
      try {
        worker.postMessage({ id, text, language });
      } catch (error) {
        this.pending.delete(id);
        this.log.warn(`rules worker: could not post a request: ${error instanceof Error ? error.message : String(error)}`);
        resolve(null);
      }
    });
  }

  private onMessage(message: unknown): void {
    if (typeof message !== 'object' || message === null) {
      return;
    }
    const { id, data, error } = message as { id?: unknown; data?: unknown; error?: unknown };
    if (typeof id !== 'number') {
      return;
    }
    const request = this.pending.get(id);
    if (request === undefined) {
      return;
    }
    this.pending.delete(id);
    if (isIndexData(data)) {
      request.resolve(data);
    } else {
      this.log.warn(`rules worker: no index (${typeof error === 'string' ? error : 'unexpected reply'}); building on this thread`);
      request.resolve(null);
    }
    if (this.pending.size === 0) {
      this.worker?.unref();
      this.scheduleIdle();
    }
  }

  private onWorkerGone(worker: Worker, why: string): void {
    if (this.worker !== worker) {
      return;
    }
    this.worker = null;
    this.clearIdle();
    if (this.pending.size > 0) {
      this.log.warn(`rules worker ${why}; building on this thread`);
    }
    for (const request of this.pending.values()) {
      request.resolve(null);
    }
    this.pending.clear();
  }

  private scheduleIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const worker = this.worker;
      if (worker !== null && this.pending.size === 0) {
        this.worker = null;
        void worker.terminate();
      }
    }, idleMilliseconds);
    this.idleTimer.unref();
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  /** Stops the worker; pending builds fall back to this thread. */
  dispose(): void {
    this.clearIdle();
    const worker = this.worker;
    this.worker = null;
    for (const request of this.pending.values()) {
      request.resolve(null);
    }
    this.pending.clear();
    if (worker !== null) {
      void worker.terminate();
    }
  }
}

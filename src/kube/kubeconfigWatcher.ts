/**
 * Watches kubeconfig files for changes, including files that do not exist yet and files
 * replaced by rename (editors, `kubectl config` and cloud CLIs write that way).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';

import type { Disposable } from '../util/event.js';
import type { Logger } from '../util/log.js';

/** Options of `KubeconfigWatcher`. */
export interface KubeconfigWatcherOptions {
  /** Quiet time after the last file event before `onChange` runs. */
  readonly debounceMs?: number;
  readonly log?: Logger;
}

/**
 * Calls `onChange` (debounced) when any of `files` is created, written, replaced or removed.
 * Each file is watched through the deepest directory on its path that exists, so creating
 * `~/.kube/config` after start-up is noticed too.
 */
export class KubeconfigWatcher implements Disposable {
  private readonly watchers: fs.FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly debounceMs: number;

  constructor(
    private readonly files: readonly string[],
    private readonly onChange: () => void,
    private readonly options: KubeconfigWatcherOptions = {},
  ) {
    this.debounceMs = options.debounceMs ?? 300;
    this.watchAll();
  }

  private watchAll(): void {
    // directory -> names inside it that lead to a watched file
    const targets = new Map<string, Set<string>>();
    for (const file of this.files) {
      const { directory, name } = nearestExisting(path.resolve(file));
      if (directory === undefined) {
        continue;
      }
      let names = targets.get(directory);
      if (names === undefined) {
        names = new Set();
        targets.set(directory, names);
      }
      names.add(name);
    }
    for (const [directory, names] of targets) {
      try {
        const watcher = fs.watch(directory, { persistent: false }, (_event, filename) => {
          // Some platforms omit the name; then any event in the directory counts.
          const changed = filename === null ? undefined : filename.toString();
          if (changed === undefined || names.has(changed)) {
            this.schedule();
          }
        });
        watcher.on('error', (error) => {
          this.options.log?.debug(`watch of ${directory} failed: ${error.message}`);
        });
        this.watchers.push(watcher);
        this.options.log?.debug(`watching ${directory} for ${[...names].join(', ')}`);
      } catch (error) {
        this.options.log?.debug(`cannot watch ${directory}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private schedule(): void {
    if (this.disposed) {
      return;
    }
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.disposed) {
        return;
      }
      // A file may have appeared in a directory that did not exist before: re-aim the watches.
      this.closeWatchers();
      this.watchAll();
      this.onChange();
    }, this.debounceMs);
    this.timer.unref?.();
  }

  private closeWatchers(): void {
    for (const watcher of this.watchers.splice(0)) {
      watcher.close();
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.closeWatchers();
  }
}

/** The deepest existing directory on the way to `file`, and the entry in it to watch for. */
function nearestExisting(file: string): { directory: string | undefined; name: string } {
  let name = path.basename(file);
  let directory = path.dirname(file);
  for (;;) {
    if (isDirectory(directory)) {
      return { directory, name };
    }
    const parent = path.dirname(directory);
    if (parent === directory) {
      return { directory: undefined, name };
    }
    name = path.basename(directory);
    directory = parent;
  }
}

function isDirectory(directory: string): boolean {
  try {
    return fs.statSync(directory).isDirectory();
  } catch {
    return false;
  }
}

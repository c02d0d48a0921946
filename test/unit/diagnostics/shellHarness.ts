/**
 * Runs the diagnostics' node scripts with a real shell (dash or BusyBox) on a PATH made of
 * stand-ins for the node tools (which print given real outputs and record their argv) and
 * the text tools the scripts use (awk, sed, grep…, the real ones or BusyBox's).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TEXT_TOOLS = ['awk', 'sed', 'grep', 'cat', 'head', 'tail', 'sort', 'uniq', 'cut', 'tr', 'wc'];

export interface Harness {
  readonly root: string;
  /** Stand-ins for node tools (first on PATH). */
  readonly bin: string;
  /** The text tools. */
  readonly tools: string;
  /** Writes a stand-in: a shell script body run for `name`. */
  standIn(name: string, body: string): void;
  /** A file under the harness root with `content`; returns its path. */
  file(name: string, content: string): string;
  /** Deletes a stand-in. */
  remove(name: string): void;
  run(argv: readonly string[], env?: NodeJS.ProcessEnv): { stdout: string; stderr: string; status: number | null };
  dispose(): void;
}

function which(tool: string): string | null {
  for (const directory of ['/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    const candidate = path.join(directory, tool);
    if (fs.existsSync(candidate)) {
      return fs.realpathSync(candidate);
    }
  }
  return null;
}

/** True when BusyBox is installed (the debug images of many clusters are BusyBox based). */
export function hasBusybox(): boolean {
  return which('busybox') !== null;
}

/** A harness; with `busybox`, sh and the text tools are BusyBox applets. */
export function createHarness(options: { readonly busybox?: boolean } = {}): Harness {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-diag4-'));
  const bin = path.join(root, 'bin');
  const tools = path.join(root, 'tools');
  fs.mkdirSync(bin);
  fs.mkdirSync(tools);
  const busybox = options.busybox === true ? which('busybox') : null;
  if (options.busybox === true) {
    assert.ok(busybox !== null, 'busybox is not installed');
  }
  for (const tool of TEXT_TOOLS) {
    const target = busybox ?? which(tool);
    if (target !== null) {
      fs.symlinkSync(target, path.join(tools, tool));
    }
  }
  const shell = busybox !== null ? busybox : '/bin/sh';
  return {
    root,
    bin,
    tools,
    standIn(name, body) {
      fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    },
    file(name, content) {
      const file = path.join(root, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      return file;
    },
    remove(name) {
      fs.rmSync(path.join(bin, name), { force: true });
    },
    run(argv, env = {}) {
      assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
      const args = busybox !== null ? ['sh', ...argv.slice(1)] : argv.slice(1);
      const result = spawnSync(shell, args, { encoding: 'utf8', env: { PATH: `${bin}:${tools}`, ...env } });
      return { stdout: result.stdout, stderr: result.stderr, status: result.status };
    },
    dispose() {
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A stand-in body that prints the file `file` and exits with `code`. */
export function printsFile(file: string, code = 0): string {
  return `cat '${file.replace(/'/g, `'\\''`)}'\nexit ${code}`;
}

/** A stand-in body that records its argv (one `arg:` line each) and prints `file` if given. */
export function recordsArgv(name: string, file?: string): string {
  return `printf 'argv:%s\\n' '${name}'\nfor a in "$@"; do printf 'arg:%s\\n' "$a"; done${file !== undefined ? `\ncat '${file}'` : ''}`;
}

/** The argv lists recorded by {@link recordsArgv} stand-ins in `text`. */
export function invocations(text: string): string[][] {
  const calls: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('argv:')) {
      calls.push([line.slice(5)]);
    } else if (line.startsWith('arg:')) {
      calls[calls.length - 1].push(line.slice(4));
    }
  }
  return calls;
}

/**
 * A NodeRunner that runs the node argv on this machine through a {@link Harness} (its stand-ins
 * and text tools), streaming stdout like the exec does and stopping on abort. The diagnostics
 * under test run unchanged on top of it.
 */
import { spawn } from 'node:child_process';
import { NodeExecError } from '../../../src/node/errors';
import type { NodeCommandOptions, NodeRunner } from '../../../src/node/nodeRunner';
import type { NodeExecResult } from '../../../src/node/nodeExec';
import type { Harness } from './shellHarness';

export class LocalRunner implements NodeRunner {
  readonly calls: { node: string; argv: readonly string[] }[] = [];

  constructor(private readonly harness: Harness) {}

  debugImage(): string {
    return 'local-test-image';
  }

  run(node: string, argv: readonly string[], options: NodeCommandOptions = {}): Promise<NodeExecResult> {
    this.calls.push({ node, argv });
    const started = Date.now();
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', argv.slice(1), { env: { PATH: `${this.harness.bin}:${this.harness.tools}` }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const cap = options.maxBufferBytes ?? 8 * 1024 * 1024;
      let truncated = false;
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        options.onStdout?.(chunk);
        if (stdout.length + chunk.length <= cap) {
          stdout += chunk;
        } else {
          truncated = true;
        }
      });
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
      });
      const onAbort = (): void => {
        child.kill('SIGKILL');
        reject(new NodeExecError('cancelled', 'cancelled'));
      };
      if (options.signal?.aborted) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });
      child.on('close', (code, signal) => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve({ exitCode: code ?? (signal === 'SIGKILL' ? 137 : 1), stdout, stderr, truncated, durationMs: Date.now() - started });
      });
    });
  }
}

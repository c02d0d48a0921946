import { Writable, PassThrough } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { performance } from 'node:perf_hooks';
import { Exec } from '@kubernetes/client-node';
import type { KubeConfig, V1Status } from '@kubernetes/client-node';
import WebSocket from 'ws';
import { NodeExecError } from './errors.js';
import { forbiddenAction, parseStatusBody } from './kubeStatus.js';
import type { KubeStatus } from './kubeStatus.js';
import { silentLogger } from './logger.js';
import type { Logger } from './logger.js';

/** Where an exec runs: a container of a pod (for node commands, the debug pod's container). */
export interface ExecTarget {
  readonly namespace: string;
  readonly podName: string;
  readonly containerName: string;
}

export interface NodeExecOptions {
  /** Wall-clock limit for the whole exec, connection included. Default 60 s. */
  readonly timeoutMs?: number;
  /** Aborting closes the socket and rejects with a `cancelled` {@link NodeExecError}. */
  readonly signal?: AbortSignal;
  /** Bytes of stdout plus stderr kept in memory; the rest only goes to the callbacks. Default 8 MiB. */
  readonly maxBufferBytes?: number;
  /** Every stdout chunk as it arrives (all of it, also past the memory cap). */
  readonly onStdout?: (chunk: string) => void;
  readonly onStderr?: (chunk: string) => void;
}

export interface NodeExecResult {
  /** 0 on success, else the process's exit code from the `NonZeroExitCode` status. */
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  /** True when output went past `maxBufferBytes` and `stdout`/`stderr` hold only the start. */
  readonly truncated: boolean;
  readonly durationMs: number;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_BUFFER_BYTES = 8 * 1024 * 1024;

const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const STATUS_CHANNEL = 3;
const CLOSE_CHANNEL = 255;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/**
 * Runs argv arrays in a container over the API server's exec WebSocket (client-node's
 * `Exec`). Never a shell string: what the caller passes is exactly the argv the container runs.
 */
export class NodeExec {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly logger: Logger = silentLogger,
  ) {}

  /** Runs `argv` to its end and returns its exit code and (capped) output. */
  run(target: ExecTarget, argv: readonly string[], options: NodeExecOptions = {}): Promise<NodeExecResult> {
    validateArgv(argv);
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const collector = new OutputCollector(options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES, options.onStdout, options.onStderr);
    const started = performance.now();
    const where = `${target.namespace}/${target.podName}`;

    return new Promise<NodeExecResult>((resolve, reject) => {
      let settled = false;
      let socket: WebSocket | undefined;
      const connector = new ExecSocketConnector(this.kubeConfig, (created) => {
        socket = created;
        if (settled) {
          created.terminate();
        }
      });

      const cleanUp = (): void => {
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (socket !== undefined && socket.readyState !== WebSocket.CLOSED) {
          socket.terminate();
        }
      };
      const fail = (error: NodeExecError): void => {
        if (settled) {
          return;
        }
        cleanUp();
        this.logger.warn(`exec in ${where} failed (${error.code}): ${error.message}`);
        reject(error);
      };
      const partial = (): { stdout: string; stderr: string } => collector.result();
      const onAbort = (): void => {
        fail(new NodeExecError('cancelled', 'The command was cancelled.', { podName: target.podName, namespace: target.namespace, ...partial() }));
      };
      const timer = setTimeout(() => {
        fail(
          new NodeExecError('timeout', `The command did not finish within ${formatSeconds(timeoutMs)}; it was stopped.`, {
            podName: target.podName,
            namespace: target.namespace,
            ...partial(),
          }),
        );
      }, timeoutMs);

      if (options.signal?.aborted === true) {
        onAbort();
        return;
      }
      options.signal?.addEventListener('abort', onAbort, { once: true });

      const onStatus = (status: V1Status): void => {
        if (settled) {
          return;
        }
        const outcome = exitCodeFromStatus(status as KubeStatus);
        collector.flush();
        if (outcome.exitCode === undefined) {
          fail(new NodeExecError('failed', `The command could not run: ${outcome.message}`, { podName: target.podName, namespace: target.namespace, serverMessage: outcome.message, ...partial() }));
          return;
        }
        cleanUp();
        const { stdout, stderr } = collector.result();
        resolve({ exitCode: outcome.exitCode, stdout, stderr, truncated: collector.truncated, durationMs: Math.round(performance.now() - started) });
      };

      const exec = new Exec(this.kubeConfig, connector);
      exec
        .exec(target.namespace, target.podName, target.containerName, [...argv], collector.stdoutStream, collector.stderrStream, null, false, onStatus)
        .then((connected) => {
          socket = connected;
          if (settled) {
            connected.terminate();
            return;
          }
          connected.on('close', () => {
            // The status frame always precedes a normal close; a close without it means the
            // connection broke (API server restart, proxy idle timeout, pod deleted).
            setImmediate(() => fail(new NodeExecError('closed', 'The connection to the node closed before the command finished.', { podName: target.podName, namespace: target.namespace, ...partial() })));
          });
        })
        .catch((error: unknown) => {
          fail(connectError(error, target));
        });
    });
  }

  /**
   * Starts an interactive exec with a TTY (for a terminal): the caller writes keystrokes,
   * gets output and resizes; `exited` settles when the remote process ends or the socket closes.
   */
  async startInteractive(target: ExecTarget, argv: readonly string[], options: InteractiveExecOptions): Promise<InteractiveExec> {
    validateArgv(argv);
    const stdin = new PassThrough();
    const decoder = new StringDecoder('utf8');
    const terminalOutput = new TerminalOutput(options.columns, options.rows, (chunk) => {
      const text = decoder.write(chunk);
      if (text !== '') {
        options.onOutput(text);
      }
    });
    let resolveExit: (value: InteractiveExit) => void = () => undefined;
    const exited = new Promise<InteractiveExit>((resolve) => {
      resolveExit = resolve;
    });
    let done = false;
    const finish = (value: InteractiveExit): void => {
      if (!done) {
        done = true;
        resolveExit(value);
      }
    };
    const connector = new ExecSocketConnector(this.kubeConfig, () => undefined);
    const exec = new Exec(this.kubeConfig, connector);
    let socket: WebSocket;
    try {
      socket = await exec.exec(target.namespace, target.podName, target.containerName, [...argv], terminalOutput, null, stdin, true, (status) => {
        const outcome = exitCodeFromStatus(status as KubeStatus);
        finish(outcome.exitCode === undefined ? { exitCode: undefined, message: outcome.message } : { exitCode: outcome.exitCode });
      });
    } catch (error) {
      throw connectError(error, target);
    }
    socket.on('close', () => finish({ exitCode: undefined, message: 'The connection closed.' }));
    this.logger.info(`interactive exec started in ${target.namespace}/${target.podName}`);
    return {
      write: (data: string) => {
        if (!done) {
          stdin.write(data);
        }
      },
      resize: (columns: number, rows: number) => terminalOutput.resize(columns, rows),
      close: () => {
        stdin.end();
        socket.close();
        finish({ exitCode: undefined, message: 'Closed.' });
      },
      exited,
    };
  }
}

export interface InteractiveExecOptions {
  readonly columns: number;
  readonly rows: number;
  /** Terminal output (stdout and stderr merged, as a TTY does). Untrusted bytes: a terminal renders them. */
  readonly onOutput: (text: string) => void;
}

export interface InteractiveExit {
  readonly exitCode: number | undefined;
  readonly message?: string;
}

export interface InteractiveExec {
  write(data: string): void;
  resize(columns: number, rows: number): void;
  close(): void;
  readonly exited: Promise<InteractiveExit>;
}

/**
 * The exit code a channel-3 status stands for: `Success` → 0, `NonZeroExitCode` → the
 * `ExitCode` cause; anything else means the command did not run (exitCode undefined).
 */
export function exitCodeFromStatus(status: KubeStatus): { exitCode: number; message?: undefined } | { exitCode: undefined; message: string } {
  if (status.status === 'Success') {
    return { exitCode: 0 };
  }
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((item) => item.reason === 'ExitCode');
    const code = cause?.message !== undefined && /^\d+$/.test(cause.message) ? Number(cause.message) : 1;
    return { exitCode: code };
  }
  return { exitCode: undefined, message: status.message ?? status.reason ?? 'unknown failure' };
}

function validateArgv(argv: readonly string[]): void {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new TypeError('argv must be a non-empty array of strings');
  }
  for (const item of argv) {
    if (typeof item !== 'string' || item.includes('\0')) {
      throw new TypeError('argv items must be strings without NUL characters');
    }
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Turns a failed WebSocket connect (refused upgrade, network error) into a typed error. */
function connectError(error: unknown, target: ExecTarget): NodeExecError {
  const base = { podName: target.podName, namespace: target.namespace };
  const refused = findUpgradeRefusal(error);
  if (refused !== undefined) {
    const status = parseStatusBody(refused.body);
    const serverMessage = status?.message ?? refused.body.slice(0, 500);
    if (refused.httpStatus === 403) {
      const action = forbiddenAction(serverMessage);
      const what = action.verb !== undefined ? `"${action.verb}" on "${action.resource ?? 'pods/exec'}"` : '"create" on "pods/exec"';
      return new NodeExecError(
        'forbidden',
        `Your Kubernetes user may not run commands in pods: the API server refused ${what} in namespace "${target.namespace}". Ask an administrator for that permission (RBAC).`,
        { ...base, httpStatus: 403, serverMessage },
      );
    }
    return new NodeExecError('connect', `The API server refused the exec (HTTP ${refused.httpStatus}): ${serverMessage}`, {
      ...base,
      httpStatus: refused.httpStatus,
      serverMessage,
    });
  }
  const message = errorText(error);
  return new NodeExecError('connect', `Could not open an exec connection to ${target.namespace}/${target.podName}: ${message}`, { ...base, serverMessage: message });
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  if (typeof error === 'object' && error !== null) {
    const record = error as { message?: unknown; error?: unknown };
    if (record.error instanceof Error) {
      return record.error.message;
    }
    if (typeof record.message === 'string') {
      return record.message;
    }
  }
  return String(error);
}

class UpgradeRefusedError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: string,
  ) {
    super(`HTTP ${httpStatus}`);
  }
}

function findUpgradeRefusal(error: unknown): UpgradeRefusedError | undefined {
  if (error instanceof UpgradeRefusedError) {
    return error;
  }
  if (typeof error === 'object' && error !== null && (error as { error?: unknown }).error instanceof UpgradeRefusedError) {
    return (error as { error: UpgradeRefusedError }).error;
  }
  return undefined;
}

/**
 * client-node's `WebSocketInterface`, written here for three reasons: a refused upgrade keeps
 * the API server's Status (so a 403 can say which verb was refused), v5 close frames are
 * not passed on as data, and the default handler would end `process.stdout` on such a frame.
 */
class ExecSocketConnector {
  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly onSocket: (socket: WebSocket) => void,
  ) {}

  async connect(
    path: string,
    textHandler: ((text: string) => boolean) | null,
    binaryHandler: ((stream: number, buffer: Buffer) => boolean) | null,
  ): Promise<WebSocket> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (cluster === null) {
      throw new Error('The kubeconfig has no current cluster.');
    }
    const server = cluster.server.replace(/\/+$/, '');
    const url = server.replace(/^http(s?):\/\//, (_match, secure: string) => (secure === 's' ? 'wss://' : 'ws://')) + path;
    const options: WebSocket.ClientOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(options);

    return new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(url, CHANNEL_PROTOCOLS, options);
      this.onSocket(socket);
      let opened = false;
      socket.on('unexpected-response', (request, response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = (): void => {
          request.destroy();
          reject(new UpgradeRefusedError(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
        };
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ERROR_BODY_BYTES) {
            chunks.push(chunk);
            size += chunk.length;
          }
        });
        response.on('end', done);
        response.on('error', done);
      });
      socket.on('open', () => {
        opened = true;
        resolve(socket);
      });
      socket.on('error', (error) => {
        if (!opened) {
          reject(error);
        }
      });
      socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        if (!isBinary) {
          if (textHandler !== null && !textHandler(buffer.toString('utf8'))) {
            socket.close();
          }
          return;
        }
        if (buffer.length === 0) {
          return;
        }
        const channel = buffer.readUInt8(0);
        if (channel === CLOSE_CHANNEL) {
          return;
        }
        if (channel > STATUS_CHANNEL) {
          return;
        }
        if (binaryHandler !== null && !binaryHandler(channel, buffer.subarray(1))) {
          socket.close();
        }
      });
    });
  }
}

/** Collects stdout/stderr up to a byte cap while streaming all of it to callbacks. */
class OutputCollector {
  private readonly stdoutChunks: Buffer[] = [];
  private readonly stderrChunks: Buffer[] = [];
  private kept = 0;
  truncated = false;
  private readonly stdoutDecoder = new StringDecoder('utf8');
  private readonly stderrDecoder = new StringDecoder('utf8');
  readonly stdoutStream: Writable;
  readonly stderrStream: Writable;

  constructor(
    private readonly maxBytes: number,
    private readonly onStdout: ((chunk: string) => void) | undefined,
    private readonly onStderr: ((chunk: string) => void) | undefined,
  ) {
    this.stdoutStream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.add(chunk, this.stdoutChunks, this.stdoutDecoder, this.onStdout);
        callback();
      },
    });
    this.stderrStream = new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.add(chunk, this.stderrChunks, this.stderrDecoder, this.onStderr);
        callback();
      },
    });
  }

  private add(chunk: Buffer, into: Buffer[], decoder: StringDecoder, listener: ((chunk: string) => void) | undefined): void {
    const room = this.maxBytes - this.kept;
    if (chunk.length <= room) {
      into.push(Buffer.from(chunk));
      this.kept += chunk.length;
    } else {
      if (room > 0) {
        into.push(Buffer.from(chunk.subarray(0, room)));
        this.kept += room;
      }
      this.truncated = true;
    }
    if (listener !== undefined) {
      const text = decoder.write(chunk);
      if (text !== '') {
        listener(text);
      }
    }
  }

  flush(): void {
    const out = this.stdoutDecoder.end();
    if (out !== '' && this.onStdout !== undefined) {
      this.onStdout(out);
    }
    const err = this.stderrDecoder.end();
    if (err !== '' && this.onStderr !== undefined) {
      this.onStderr(err);
    }
  }

  result(): { stdout: string; stderr: string } {
    return { stdout: Buffer.concat(this.stdoutChunks).toString('utf8'), stderr: Buffer.concat(this.stderrChunks).toString('utf8') };
  }
}

/** A writable the client's resize logic recognises as a terminal (it has rows, columns and emits 'resize'). */
class TerminalOutput extends Writable {
  constructor(
    public columns: number,
    public rows: number,
    onChunk: (chunk: Buffer) => void,
  ) {
    super({
      write: (chunk: Buffer, _encoding, callback) => {
        onChunk(chunk);
        callback();
      },
    });
  }

  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

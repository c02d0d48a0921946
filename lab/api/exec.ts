/**
 * `pods/exec` over WebSocket with the remotecommand channel protocols (v5.channel.k8s.io,
 * v4.channel.k8s.io, their base64 and pre-v4 forms): 0 stdin, 1 stdout, 2 stderr, 3 error
 * (a metav1.Status from v4 on), 4 resize, and in v5 the [255, channel] close signal. The
 * command runs as an argv array (never through a shell) where the network side says the
 * container's processes live; its exit code comes back as containerd + kubelet report it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { KUBERNETES_SERVICE_IP } from '../config';
import type { LabNetwork } from '../types';
import type { Authenticator } from './auth';
import { authorize } from './auth';
import type { Kubelet } from './kubelet';
import type { Pod } from './objects';
import { randomHex } from './objects';
import type { Store } from './store';
import { ApiError, badRequest, notFound, notFoundPath } from './status';

const SUPPORTED_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'];

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/** The PATH a container image typically sets; the lab's containers share the host's filesystem. */
const CONTAINER_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface ExecParameters {
  readonly namespace: string;
  readonly podName: string;
  readonly command: string[];
  readonly container: string;
  readonly stdin: boolean;
  readonly stdout: boolean;
  readonly stderr: boolean;
  readonly tty: boolean;
}

function flag(params: URLSearchParams, name: string): boolean {
  const value = params.get(name);
  return value === 'true' || value === '1';
}

/** Writes a plain HTTP error response on a socket that was going to be upgraded. */
function rejectUpgrade(socket: Duplex, code: number, body: string, contentType: string): void {
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[code] ?? 'Error';
  const payload = Buffer.from(body);
  socket.end(`HTTP/1.1 ${code} ${reason}\r\nContent-Type: ${contentType}\r\nContent-Length: ${payload.length}\r\nCache-Control: no-cache, private\r\nConnection: close\r\n\r\n${body}`);
}

/** Where argv[0] resolves, or the runc-style reason it does not. */
function resolveExecutable(file: string): { path?: string; error?: string } {
  if (file.includes('/')) {
    try {
      const stats = statSync(file);
      if (!stats.isFile()) {
        return { error: `exec: "${file}": permission denied` };
      }
      accessSync(file, fsConstants.X_OK);
      return { path: file };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { error: code === 'EACCES' ? `exec: "${file}": permission denied` : `exec: "${file}": stat ${file}: no such file or directory` };
    }
  }
  for (const directory of CONTAINER_PATH.split(':')) {
    const candidate = path.join(directory, file);
    try {
      if (statSync(candidate).isFile()) {
        accessSync(candidate, fsConstants.X_OK);
        return { path: candidate };
      }
    } catch {
      // keep looking
    }
  }
  return { error: `exec: "${file}": executable file not found in $PATH` };
}

function goArgv(argv: readonly string[]): string {
  return `[${argv.join(' ')}]`;
}

export class ExecHandler {
  private readonly server = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => {
      for (const protocol of SUPPORTED_PROTOCOLS) {
        if (offered.has(protocol)) {
          return protocol;
        }
      }
      return false;
    },
  });
  private readonly sessions = new Set<{ child?: ChildProcess; socket: WebSocket }>();

  constructor(
    private readonly options: {
      readonly store: Store;
      readonly kubelet: Kubelet;
      readonly network: LabNetwork;
      readonly authenticator: Authenticator;
      readonly log: (line: string) => void;
    },
  ) {}

  /** Kills every running exec (server shutdown). */
  closeAll(): void {
    for (const session of this.sessions) {
      killGroup(session.child);
      session.socket.terminate();
    }
    this.sessions.clear();
    this.server.close();
  }

  /** The `upgrade` event handler of the HTTPS server. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => undefined);
    try {
      const parameters = this.check(request);
      const upgrade = (request.headers.upgrade ?? '').toLowerCase();
      if (upgrade !== 'websocket') {
        throw badRequest('unable to upgrade connection: the lab API server serves exec over WebSocket only (v5.channel.k8s.io, v4.channel.k8s.io)');
      }
      this.server.handleUpgrade(request, socket, head, (webSocket) => this.run(webSocket, parameters));
    } catch (error) {
      if (error instanceof ApiError) {
        rejectUpgrade(socket, error.code, JSON.stringify(error.toStatus()), 'application/json');
      } else if (error instanceof KubeletError) {
        rejectUpgrade(socket, 500, error.message, 'text/plain; charset=utf-8');
      } else {
        this.options.log(`[exec] ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        rejectUpgrade(socket, 500, 'internal error', 'text/plain; charset=utf-8');
      }
    }
  }

  /** The API server's and the kubelet's checks, in their order. */
  private check(request: IncomingMessage): ExecParameters {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach|portforward)$/.exec(url.pathname);
    const user = this.options.authenticator.authenticate(request.headers.authorization);
    if (match === null) {
      throw notFoundPath();
    }
    const namespace = decodeURIComponent(match[1]);
    const podName = decodeURIComponent(match[2]);
    const subresource = match[3];
    authorize(user, { verb: 'create', group: '', resource: 'pods', subresource, namespace, name: podName });
    if (subresource !== 'exec') {
      throw badRequest(`unable to upgrade connection: pods/${subresource} is not served by the lab`);
    }
    const params = url.searchParams;
    const command = params.getAll('command');
    const stdin = flag(params, 'stdin');
    const stdout = flag(params, 'stdout');
    const stderr = flag(params, 'stderr');
    const tty = flag(params, 'tty');
    if (command.length === 0) {
      throw badRequest('you must specify at least 1 command');
    }
    if (!stdin && !stdout && !stderr) {
      throw badRequest('you must specify at least 1 of stdin, stdout, stderr');
    }
    const entry = this.options.store.get('pods', namespace, podName);
    if (entry === undefined) {
      throw notFound('', 'pods', podName);
    }
    const pod = entry.object as Pod;
    let container = params.get('container') ?? '';
    const names = pod.spec.containers.map((item) => item.name);
    if (container === '') {
      if (names.length === 1) {
        container = names[0];
      } else {
        throw badRequest(`a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`);
      }
    } else if (!names.includes(container) && !(pod.spec.initContainers ?? []).some((item) => item.name === container)) {
      throw badRequest(`container ${container} is not valid for pod ${podName}`);
    }
    const nodeName = pod.spec.nodeName ?? '';
    if (nodeName === '') {
      throw badRequest(`pod ${podName} does not have a host assigned`);
    }
    if (this.options.store.get('nodes', undefined, nodeName) === undefined) {
      throw notFound('', 'nodes', nodeName);
    }
    if (!this.options.kubelet.hasNode(nodeName) || this.options.kubelet.runtime(pod.metadata.uid ?? '') === undefined) {
      throw new KubeletError('pod does not exist');
    }
    if (this.options.kubelet.runningContainerId(pod.metadata.uid ?? '', container) === undefined) {
      throw new KubeletError(`container not found ("${container}")`);
    }
    return { namespace, podName, command, container, stdin, stdout, stderr, tty };
  }

  private run(socket: WebSocket, parameters: ExecParameters): void {
    const protocol = socket.protocol;
    const base64 = protocol.includes('base64');
    const statusProtocol = protocol.startsWith('v4.') || protocol.startsWith('v5.');
    const session: { child?: ChildProcess; socket: WebSocket } = { socket };
    this.sessions.add(session);

    const send = (channel: number, data: Buffer | string): void => {
      if (socket.readyState !== socket.OPEN) {
        return;
      }
      const payload = typeof data === 'string' ? Buffer.from(data) : data;
      if (base64) {
        socket.send(String.fromCharCode(48 + channel) + payload.toString('base64'));
      } else {
        socket.send(Buffer.concat([Buffer.from([channel]), payload]));
      }
    };
    let done = false;
    const finish = (status: Record<string, unknown> | undefined, plainError?: string): void => {
      if (done) {
        return;
      }
      done = true;
      if (statusProtocol && status !== undefined) {
        send(ERROR, JSON.stringify(status));
      } else if (plainError !== undefined) {
        send(ERROR, plainError);
      }
      this.sessions.delete(session);
      if (socket.readyState === socket.OPEN) {
        socket.close(1000);
      }
    };

    const pod = this.options.store.get('pods', parameters.namespace, parameters.podName)?.object as Pod | undefined;
    const uid = pod?.metadata.uid ?? '';
    const containerId = this.options.kubelet.runningContainerId(uid, parameters.container);
    if (pod === undefined || containerId === undefined) {
      const message = `container not found ("${parameters.container}")`;
      finish({ metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 }, message);
      return;
    }
    const resolved = resolveExecutable(parameters.command[0]);
    if (resolved.error !== undefined) {
      // containerd's answer when runc cannot start the process.
      const message = `error executing command in container: failed to exec in container: failed to start exec "${randomHex(32)}": OCI runtime exec failed: exec failed: unable to start container process: ${resolved.error}: unknown`;
      finish({ metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 }, message);
      return;
    }

    let child: ChildProcess;
    try {
      const spec = this.options.network.execSpec(uid, parameters.container, parameters.command);
      const containerSpec = pod.spec.containers.find((item) => item.name === parameters.container);
      const env: Record<string, string> = {
        PATH: CONTAINER_PATH,
        HOSTNAME: pod.spec.hostNetwork === true ? pod.spec.nodeName ?? parameters.podName : parameters.podName,
        HOME: '/root',
        KUBERNETES_SERVICE_HOST: KUBERNETES_SERVICE_IP,
        KUBERNETES_SERVICE_PORT: '443',
        KUBERNETES_SERVICE_PORT_HTTPS: '443',
        KUBERNETES_PORT: `tcp://${KUBERNETES_SERVICE_IP}:443`,
      };
      if (parameters.tty) {
        env.TERM = 'xterm';
      }
      for (const variable of containerSpec?.env ?? []) {
        if (typeof variable.name === 'string' && typeof variable.value === 'string') {
          env[variable.name] = variable.value;
        }
      }
      const python = parameters.tty ? pythonForTerminal() : undefined;
      // A TTY exec runs under a pseudo-terminal (a constant helper script; argv stays data).
      const [file, args] = python === undefined ? [spec.file, [...spec.args]] : [python, ['-c', PTY_HELPER, spec.file, ...spec.args]];
      child = spawn(file, args, {
        cwd: '/',
        env,
        // Its own process group, so that closing the socket kills what it started too.
        detached: true,
        stdio: [parameters.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', ...(python === undefined ? [] : (['pipe'] as const))],
      });
    } catch (error) {
      const message = `error executing command in container: ${error instanceof Error ? error.message : String(error)}`;
      finish({ metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 }, message);
      return;
    }
    session.child = child;
    if (child.pid !== undefined) {
      this.options.network.trackExecProcess(uid, child.pid);
    }
    this.options.log(`[exec] ${parameters.namespace}/${parameters.podName}/${parameters.container} pid ${child.pid ?? '?'} ${goArgv(parameters.command)}`);

    child.stdout?.on('data', (chunk: Buffer) => {
      if (parameters.stdout) {
        send(STDOUT, chunk);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (parameters.tty && parameters.stdout) {
        send(STDOUT, chunk);
      } else if (parameters.stderr) {
        send(STDERR, chunk);
      }
    });
    child.stdin?.on('error', () => undefined);

    socket.on('message', (raw: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      let data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.isBuffer(raw) ? raw : Buffer.from(raw);
      if (data.length === 0) {
        return;
      }
      let channel = data[0];
      if (!isBinary || base64) {
        channel = data[0] - 48;
        data = Buffer.concat([Buffer.from([channel]), Buffer.from(data.subarray(1).toString(), 'base64')]);
      }
      const payload = data.subarray(1);
      if (channel === STDIN) {
        child.stdin?.write(payload);
      } else if (channel === CLOSE && protocol.startsWith('v5.')) {
        if (payload[0] === STDIN) {
          child.stdin?.end();
        }
      } else if (channel === RESIZE) {
        const control = child.stdio[3];
        if (control !== undefined && control !== null && 'write' in control) {
          try {
            const size = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
            if (Number.isInteger(size.Width) && Number.isInteger(size.Height)) {
              control.write(`${String(size.Width)} ${String(size.Height)}\n`);
            }
          } catch {
            // not a size: ignore, as the kubelet does
          }
        }
      }
    });
    socket.on('close', () => {
      if (!done) {
        done = true;
        this.sessions.delete(session);
        killGroup(child);
      }
    });
    socket.on('error', () => undefined);

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let streamsClosed = false;
    const report = (): void => {
      if (exit === undefined) {
        return;
      }
      const code = exit.code ?? 128 + signalNumber(exit.signal);
      if (code === 0) {
        finish({ metadata: {}, status: 'Success' });
        return;
      }
      const message = `command terminated with non-zero exit code: error executing command ${goArgv(parameters.command)}, exit code ${code}`;
      finish(
        {
          metadata: {},
          status: 'Failure',
          message,
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
        },
        message,
      );
    };
    child.on('error', (error) => {
      const message = `error executing command in container: ${error.message}`;
      finish({ metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 }, message);
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (streamsClosed) {
        report();
      } else {
        // Output still in the pipes goes first; a background process holding them open does not hold the exec.
        setTimeout(report, 1000).unref();
      }
    });
    child.on('close', () => {
      streamsClosed = true;
      report();
    });
  }
}

/**
 * Runs argv[1:] on a pseudo-terminal: stdin to the terminal, the terminal to stdout, window
 * sizes ("<cols> <rows>" lines) from fd 3; exits with the command's exit code.
 */
const PTY_HELPER = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    finally:
        os._exit(127)
inputs = [0, fd, 3]
pending = b''
while fd in inputs:
    ready = select.select(inputs, [], [])[0]
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            os.write(fd, data)
        else:
            inputs.remove(0)
            os.write(fd, b'\\x04')
    if 3 in ready:
        data = os.read(3, 4096)
        if not data:
            inputs.remove(3)
        pending += data
        while b'\\n' in pending:
            line, pending = pending.split(b'\\n', 1)
            try:
                cols, rows = (int(part) for part in line.split())
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
            except (ValueError, OSError):
                pass
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if data:
            os.write(1, data)
        else:
            inputs.remove(fd)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(code if code >= 0 else 128 - code)
`;

let pythonPath: string | null | undefined;

/** Debian's python3 (the helper's only need), or undefined: TTY execs then run without a terminal. */
function pythonForTerminal(): string | undefined {
  if (pythonPath === undefined) {
    pythonPath = ['/usr/bin/python3', '/usr/local/bin/python3'].find((candidate) => {
      try {
        accessSync(candidate, fsConstants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null;
  }
  return pythonPath ?? undefined;
}

/** What the kubelet answers in plain text (the API server passes it through). */
class KubeletError extends Error {}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };
  return signal === null ? 0 : numbers[signal] ?? 9;
}

function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

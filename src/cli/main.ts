import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { parsersByFormat, stripCorpusHeader } from '../parsers/index.js';
import { DebugPodManager, removeAllDebugPods } from '../node/debugPodManager.js';
import type { ConsentRequest, DebugPodProgress } from '../node/debugPodManager.js';
import { DEFAULT_DEBUG_NAMESPACE, newOwnerId } from '../node/debugPodSpec.js';
import { describeError, isCancellation } from '../node/errors.js';
import type { Logger } from '../node/logger.js';
import { NodeExec } from '../node/nodeExec.js';
import { DebugPodNodeRunner } from '../node/nodeRunner.js';
import { DiagnosticError, createDiagnosticContext, parsePodRef } from '../diagnostics/context.js';
import type { PodRef } from '../diagnostics/context.js';
import { DIG_QUERY_TYPES, digInPod, isValidDnsName } from '../diagnostics/dig.js';
import type { DigQueryType } from '../diagnostics/dig.js';
import { runInNetns } from '../diagnostics/netns.js';
import { showVeth } from '../diagnostics/veth.js';
import { UsageError, parseArgs, usageText } from './args.js';
import type { ParsedCommand } from './args.js';
import { clean, formatCleanup, formatDig, formatVeth } from './format.js';
import { isDataPlaneCommand, runDataPlaneCommand, validateDataPlaneArgs } from './dataPlaneCommands.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** CLI debug pods live at most this long (they are deleted at exit; this is the safety net). */
const CLI_LIFETIME_SECONDS = 900;

/** The streams and environment the CLI talks to (the real process ones by default). */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  readonly program: string;
}

/**
 * Runs one CLI invocation and returns its exit code. `signal` aborts it (SIGINT/SIGTERM);
 * debug pods it created are deleted before it returns, whatever happened.
 */
export async function main(argv: readonly string[], io: CliIo, signal?: AbortSignal): Promise<number> {
  let parsed: ParsedCommand;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${io.program}: ${error.message}\nRun "${io.program} --help" for usage.\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  const { command, options } = parsed;
  if (command === 'help') {
    io.stdout.write(usageText(io.program));
    return EXIT_OK;
  }
  if (command === 'version') {
    io.stdout.write(`${readVersion()}\n`);
    return EXIT_OK;
  }
  if (command === 'parse') {
    return runParse(parsed, io);
  }

  const logger = stderrLogger(io, options.verbose);
  const needsDebugPod = command === 'veth' || command === 'dig' || command === 'exec' || isDataPlaneCommand(command);
  if (needsDebugPod && !options.yes && io.stdin.isTTY !== true) {
    io.stderr.write(
      `${io.program}: refusing to create a privileged debug pod without asking, and there is no terminal to ask on (stdin is not a TTY). ` +
        'Pass --yes to allow it.\n',
    );
    return EXIT_USAGE;
  }
  if (options.type !== undefined && !(DIG_QUERY_TYPES as readonly string[]).includes(options.type.toUpperCase())) {
    io.stderr.write(`${io.program}: --type must be one of ${DIG_QUERY_TYPES.join(', ')}.\n`);
    return EXIT_USAGE;
  }

  let ref: PodRef | undefined;
  try {
    if (isDataPlaneCommand(command)) {
      validateDataPlaneArgs(parsed);
    } else if (needsDebugPod) {
      ref = parsePodRef(parsed.args[0]);
    }
    if (command === 'dig' && !isValidDnsName(parsed.args[1])) {
      throw new DiagnosticError('invalid-input', `Not a DNS name: ${JSON.stringify(parsed.args[1])} (letters, digits, "-", "_" and dots only).`);
    }
  } catch (error) {
    return reportError(error, io, options.json);
  }

  let kubeConfig: KubeConfig;
  try {
    kubeConfig = loadKubeConfig(options.kubeconfig, options.context);
  } catch (error) {
    return reportError(error, io, options.json);
  }

  if (command === 'cleanup') {
    try {
      const result = await removeAllDebugPods(kubeConfig, options.debugNamespace ?? DEFAULT_DEBUG_NAMESPACE, logger);
      io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatCleanup(result)}\n`);
      return result.problems.length > 0 && result.deleted.length === 0 ? EXIT_FAILURE : EXIT_OK;
    } catch (error) {
      return reportError(error, io, options.json);
    }
  }

  const execLimitSeconds = command === 'exec' ? (options.timeoutSeconds ?? 60) : command === 'conntrack' && options.events ? (options.durationSeconds ?? 60) : undefined;
  const manager = new DebugPodManager({
    kubeConfig,
    ownerId: `cli-${newOwnerId()}`,
    logger,
    settings: {
      namespace: options.debugNamespace,
      image: options.image,
      lifetimeSeconds: Math.max(CLI_LIFETIME_SECONDS, Math.ceil((execLimitSeconds ?? 0) + 120)),
      idleTimeoutSeconds: 0,
      startTimeoutSeconds: command !== 'exec' && options.timeoutSeconds !== undefined ? options.timeoutSeconds : 120,
    },
    consent: (request) => (options.yes ? Promise.resolve(true) : askConsent(request, io)),
  });
  const runner = new DebugPodNodeRunner(manager, new NodeExec(kubeConfig, logger));
  const context = createDiagnosticContext(kubeConfig, runner, logger);
  const showProgress = !options.json && (io.stderr.isTTY === true || options.verbose);
  const onProgress = showProgress
    ? (progress: DebugPodProgress) => io.stderr.write(`${clean(progress.message)}${progress.stage === 'running' || progress.stage === 'reusing' ? '' : '...'}\n`)
    : undefined;

  try {
    const sweep = await manager.sweepExpired();
    for (const item of sweep.deleted) {
      logger.info(`swept expired debug pod ${item.namespace}/${item.name} (${item.reason})`);
    }
    if (isDataPlaneCommand(command)) {
      return await runDataPlaneCommand(parsed, context, {
        write: (text) => io.stdout.write(text),
        writeError: (text) => io.stderr.write(text),
        json: options.json,
        signal,
        onProgress,
      });
    }
    if (ref === undefined) {
      throw new UsageError('no pod given');
    }
    if (command === 'veth') {
      const result = await showVeth(context, ref, { signal, onProgress, containerName: options.container });
      io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatVeth(result)}\n`);
      return EXIT_OK;
    }
    if (command === 'dig') {
      const type = (options.type?.toUpperCase() ?? 'A') as DigQueryType;
      const result = await digInPod(context, ref, parsed.args[1], { signal, onProgress, type, containerName: options.container });
      io.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatDig(result)}\n`);
      return EXIT_OK;
    }
    const result = await runInNetns(context, ref, parsed.rest, {
      signal,
      onProgress,
      containerName: options.container,
      timeoutMs: (execLimitSeconds ?? 60) * 1000,
      onStdout: options.json ? undefined : (chunk) => io.stdout.write(chunk),
      onStderr: options.json ? undefined : (chunk) => io.stderr.write(chunk),
    });
    if (options.json) {
      io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else if (result.exec.truncated) {
      logger.info('output was larger than the in-memory cap; it was all streamed');
    }
    return result.exec.exitCode;
  } catch (error) {
    return reportError(error, io, options.json);
  } finally {
    await manager.dispose();
  }
}

function reportError(error: unknown, io: CliIo, json: boolean): number {
  const { code, message } = describeError(error);
  if (json) {
    io.stdout.write(`${JSON.stringify({ error: { code, message } }, null, 2)}\n`);
  } else {
    io.stderr.write(`${io.program}: ${clean(message)}\n`);
  }
  if (error instanceof UsageError || DiagnosticError.is(error, 'invalid-input')) {
    return EXIT_USAGE;
  }
  if (isCancellation(error)) {
    return 130;
  }
  return EXIT_FAILURE;
}

/** Loads `file` (else $KUBECONFIG / ~/.kube/config / in-cluster) and switches to `context` if given. */
export function loadKubeConfig(file: string | undefined, context: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (file !== undefined) {
    if (!fs.existsSync(file)) {
      throw new DiagnosticError('invalid-input', `Kubeconfig file ${JSON.stringify(file)} does not exist.`);
    }
    kubeConfig.loadFromFile(file);
  } else {
    kubeConfig.loadFromDefault();
  }
  if (context !== undefined) {
    if (!kubeConfig.getContexts().some((item) => item.name === context)) {
      throw new DiagnosticError('invalid-input', `Context ${JSON.stringify(context)} is not in the kubeconfig.`);
    }
    kubeConfig.setCurrentContext(context);
  }
  if (kubeConfig.getCurrentCluster() === null) {
    throw new DiagnosticError('invalid-input', 'No cluster: the kubeconfig has no current context. Pass --kubeconfig FILE or set KUBECONFIG.');
  }
  return kubeConfig;
}

async function runParse(parsed: ParsedCommand, io: CliIo): Promise<number> {
  const [format, file] = parsed.args;
  const parser = parsersByFormat[format];
  if (parser === undefined) {
    io.stderr.write(`${io.program}: unknown format ${JSON.stringify(format)}; one of: ${Object.keys(parsersByFormat).join(', ')}.\n`);
    return EXIT_USAGE;
  }
  let text: string;
  try {
    text = file === undefined || file === '-' ? await readAll(io.stdin) : fs.readFileSync(file, 'utf8');
  } catch (error) {
    io.stderr.write(`${io.program}: cannot read ${file ?? 'stdin'}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_FAILURE;
  }
  // Saved outputs in the corpus start with a "# source:" header that is not tool output.
  if (/^# source:/.test(text)) {
    text = stripCorpusHeader(text);
  }
  const result = parser(text);
  if (parsed.options.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    io.stdout.write(`${JSON.stringify(result.value, null, 2)}\n`);
    for (const problem of result.problems) {
      io.stderr.write(`line ${problem.line}: ${clean(problem.reason)}: ${clean(problem.text)}\n`);
    }
  }
  return EXIT_OK;
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer | string) => chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}

function askConsent(request: ConsentRequest, io: CliIo): Promise<boolean> {
  const text =
    `\nTo run this, ${io.program} creates a privileged debug pod on node ${request.nodeName}:\n` +
    `  cluster:   ${request.context} (${request.server})\n` +
    `  namespace: ${request.namespace}\n` +
    `  image:     ${request.image}\n` +
    `  It ${request.privileges.join('; ')}.\n` +
    `  It is deleted when this command ends (and stops by itself after ${request.lifetimeSeconds} s).\n` +
    'Create it? [y/N] ';
  return new Promise((resolve) => {
    const prompt = readline.createInterface({ input: io.stdin, output: io.stderr, terminal: false });
    let answered = false;
    prompt.question(clean(text), (answer) => {
      answered = true;
      resolve(/^\s*y(es)?\s*$/i.test(answer));
      prompt.close();
    });
    // End of input without an answer is a no; close() after an answer fires this too.
    prompt.on('close', () => {
      if (!answered) {
        resolve(false);
      }
    });
  });
}

function stderrLogger(io: CliIo, verbose: boolean): Logger {
  return {
    info: (message) => {
      if (verbose) {
        io.stderr.write(`info: ${clean(message)}\n`);
      }
    },
    warn: (message) => {
      if (verbose) {
        io.stderr.write(`warning: ${clean(message)}\n`);
      }
    },
    error: (message) => io.stderr.write(`error: ${clean(message)}\n`),
  };
}

function readVersion(): string {
  let directory = __dirname;
  for (;;) {
    const candidate = path.join(directory, 'package.json');
    if (fs.existsSync(candidate)) {
      try {
        const data = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { version?: string };
        return data.version ?? 'unknown';
      } catch {
        return 'unknown';
      }
    }
    const parent = path.dirname(directory);
    if (parent === directory) {
      return 'unknown';
    }
    directory = parent;
  }
}

/** The name the user typed: `kubectl netinspect` when run as the kubectl plugin. */
export function programName(argv1: string | undefined): string {
  const base = path.basename(argv1 ?? 'kube-net-inspector').replace(/\.js$/, '');
  return base === 'kubectl-netinspect' ? 'kubectl netinspect' : 'kube-net-inspector';
}

/**
 * The process entry: wires SIGINT/SIGTERM to cancellation (a second signal exits at once),
 * runs {@link main}, exits with its code once stdout has drained.
 */
export function runCli(): void {
  const controller = new AbortController();
  let signalExit: number | undefined;
  const onSignal = (name: NodeJS.Signals): void => {
    if (signalExit !== undefined) {
      process.exit(signalExit);
    }
    signalExit = name === 'SIGINT' ? 130 : 143;
    process.stderr.write(`\n${name}: cancelling and deleting the debug pods (press again to quit at once)...\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, program: programName(process.argv[1]) };
  main(process.argv.slice(2), io, controller.signal).then(
    (code) => {
      const exitCode = signalExit ?? code;
      process.stdout.write('', () => process.exit(exitCode));
    },
    (error: unknown) => {
      process.stderr.write(`${io.program}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}

if (require.main === module) {
  runCli();
}

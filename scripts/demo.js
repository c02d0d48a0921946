#!/usr/bin/env node
'use strict';
/**
 * `npm run demo [-- --port N]`: the extension in VS Code in the browser, against the lab.
 *
 * 1. builds the extension and the lab (`npm run build`);
 * 2. brings the lab up (or reuses a running one, which then stays up afterwards);
 * 3. installs code-server into ~/.cache when missing, installs the extension into a fresh
 *    profile and starts code-server on 127.0.0.1 with KUBECONFIG set to the lab's kubeconfig;
 * 4. prints the URL and waits; Ctrl-C (or SIGTERM, SIGHUP) stops code-server and, if this run
 *    started the lab, brings it down.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ensureCodeServer, startCodeServer } = require('./codeServer');

const root = path.resolve(__dirname, '..');

function step(title) {
  process.stdout.write(`\n[demo] ${title}\n`);
}

/** The compiled lab CLI, wherever tsconfig.json sends the compiler's output. */
function labCliPath() {
  let outDir = 'out';
  try {
    outDir = JSON.parse(fs.readFileSync(path.join(root, 'tsconfig.json'), 'utf8')).compilerOptions?.outDir ?? outDir;
  } catch {
    // A tsconfig with comments: keep the default.
  }
  return path.join(root, outDir, 'lab', 'cli.js');
}

function parsePort(argv) {
  const index = argv.indexOf('--port');
  if (index < 0) {
    return 0;
  }
  const port = Number(argv[index + 1]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`--port needs a port number, got ${JSON.stringify(argv[index + 1])}`);
  }
  return port;
}

/** Runs a command asynchronously (so signals are still handled), resolving with its output. */
function run(file, args, { capture = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: root, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    let stdout = '';
    child.stdout?.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) {
        resolve(stdout);
      } else {
        reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (exit ${code ?? signal})${capture ? `:\n${stdout}` : ''}`));
      }
    });
  });
}

const state = { startedLab: false, server: null, stopping: null };

/** Stops code-server and the lab (if this run started it); runs once, whatever calls it. */
function teardown() {
  if (!state.stopping) {
    state.stopping = (async () => {
      if (state.server) {
        step('stopping code-server');
        await state.server.stop().catch((error) => process.stderr.write(`[demo] ${error.message}\n`));
        state.server = null;
      }
      if (state.startedLab) {
        step('lab down');
        spawnSync(process.execPath, [labCliPath(), 'down'], { cwd: root, stdio: 'inherit' });
        state.startedLab = false;
      }
    })();
  }
  return state.stopping;
}

async function main() {
  const port = parsePort(process.argv.slice(2));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stdout.write(`\n[demo] ${signal}: tearing down\n`);
      teardown().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }

  step('build');
  await run('npm', ['run', '-s', 'build']);

  step('lab up');
  const labCli = labCliPath();
  if (!fs.existsSync(labCli)) {
    throw new Error(`the build did not produce the lab CLI ${labCli}`);
  }
  const running = spawnSync(process.execPath, [labCli, 'status'], { cwd: root, stdio: 'ignore' }).status === 0;
  if (running) {
    process.stdout.write('[demo] reusing the lab that is already running (it stays up afterwards)\n');
  } else {
    state.startedLab = true;
  }
  const upOutput = await run(process.execPath, [labCli, 'up'], { capture: true });
  const kubeconfig = upOutput.trim().split('\n').pop()?.trim() ?? '';
  if (!kubeconfig || !fs.existsSync(kubeconfig)) {
    throw new Error(`lab up did not print a kubeconfig path as its last line:\n${upOutput}`);
  }
  process.stdout.write(`[demo] lab kubeconfig: ${kubeconfig}\n`);

  step('code-server');
  ensureCodeServer();
  state.server = await startCodeServer({ extensionRoot: root, kubeconfig, port });
  const { extension } = state.server;
  process.stdout.write(`[demo] installed ${extension.id}@${extension.version} (packaged with ${extension.tool}) in ${state.server.installSeconds.toFixed(1)} s\n`);

  process.stdout.write([
    '',
    `  Kubernetes Network Inspector is running in VS Code at:`,
    '',
    `    ${state.server.url}`,
    '',
    `  KUBECONFIG=${kubeconfig}`,
    `  code-server log: ${state.server.logFile}`,
    `  (bound to 127.0.0.1; from another machine: ssh -L ${state.server.port}:127.0.0.1:${state.server.port} <this host>)`,
    '',
    '  Press Ctrl-C to stop code-server' + (state.startedLab ? ' and the lab.' : ' (the lab was already running and stays up).'),
    '',
  ].join('\n') + '\n');

  // Until a signal, or until code-server ends by itself.
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      if (state.server?.hasExited()) {
        clearInterval(timer);
        const log = fs.readFileSync(state.server.logFile, 'utf8').split('\n').slice(-30).join('\n');
        process.stderr.write(`[demo] code-server exited by itself; the end of its log:\n${log}\n`);
        resolve();
      }
    }, 1000);
  });
  await teardown();
  process.exit(1);
}

main().catch(async (error) => {
  process.stderr.write(`\n[demo] ${error.message}\n`);
  await teardown();
  process.exit(1);
});

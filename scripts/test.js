#!/usr/bin/env node
'use strict';
/**
 * `npm test`: every test of the project, in one run of node's test runner.
 *
 * 1. installs what the tests need and a fresh machine lacks (Debian packages, code-server in
 *    ~/.cache), builds the extension and the lab;
 * 2. brings the lab up (or reuses one that is already running, and then leaves it running);
 * 3. runs unit, integration (against the lab) and end-to-end (code-server + Chromium) tests;
 * 4. brings the lab down on every exit path, if this run started it.
 *
 * The lab needs root (network namespaces, iptables). Without root the run fails and says so:
 * skipping the lab and end-to-end tests would report a green run that tested little.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ensureDebianPackages } = require('./systemDeps');

const root = path.resolve(__dirname, '..');
const outDir = path.join(root, 'out');
const labCli = path.join(outDir, 'lab', 'cli.js');

function step(title) {
  process.stdout.write(`\n[test] ${title}\n`);
}

function run(file, args, options = {}) {
  const result = spawnSync(file, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    throw new Error(`${[file, ...args].join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
  return result;
}

function labStatus() {
  return spawnSync(process.execPath, [labCli, 'status'], { cwd: root, encoding: 'utf8' }).status === 0;
}

let startedLab = false;
let child = null;

function labDown() {
  if (!startedLab) {
    return;
  }
  startedLab = false;
  step('lab down');
  spawnSync(process.execPath, [labCli, 'down'], { cwd: root, stdio: 'inherit' });
}

function onSignal(signal) {
  if (child) {
    child.kill('SIGTERM');
  }
  labDown();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

async function main() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('npm test runs the lab (network namespaces, iptables) and needs root. Run it as root, e.g. sudo npm test.');
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  step('system packages');
  ensureDebianPackages(['lab', 'e2e']);

  step('build');
  run('npm', ['run', '-s', 'build']);

  step('code-server for the end-to-end tests');
  run(process.execPath, [path.join(__dirname, 'codeServer.js'), 'ensure']);

  step('lab up');
  let kubeconfig;
  if (labStatus()) {
    process.stdout.write('[test] reusing the lab that is already running (it stays up afterwards)\n');
  } else {
    startedLab = true;
  }
  const up = spawnSync(process.execPath, [labCli, 'up'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (up.status !== 0) {
    throw new Error(`lab up failed (exit ${up.status}):\n${up.stdout}`);
  }
  const lines = up.stdout.trim().split('\n');
  kubeconfig = lines[lines.length - 1].trim();
  if (!fs.existsSync(kubeconfig)) {
    throw new Error(`lab up did not print a kubeconfig path:\n${up.stdout}`);
  }
  process.stdout.write(`[test] lab kubeconfig: ${kubeconfig}\n`);

  step('tests: unit, integration, e2e');
  const suites = ['unit', 'integration', 'e2e'].map((name) => path.join(outDir, 'test', name)).filter((dir) => fs.existsSync(dir));
  const code = await new Promise((resolve) => {
    child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...suites], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, KNI_LAB_KUBECONFIG: kubeconfig },
    });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-4096);
    });
    child.on('exit', (status, signal) => {
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tail)?.[1] ?? 'NaN');
      summary = { passed: count('pass'), failed: count('fail'), skipped: count('skipped') };
      resolve(status ?? (signal ? 1 : 0));
    });
  });
  child = null;
  return code;
}

/** Counts from the test runner's closing lines, repeated as the run's very last line. */
let summary = null;

function printSummary() {
  if (summary && Number.isFinite(summary.passed) && Number.isFinite(summary.failed)) {
    process.stdout.write(`\ntests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped || 0} skipped\n`);
  }
}

main()
  .then((code) => {
    labDown();
    printSummary();
    process.exit(code);
  })
  .catch((error) => {
    process.stderr.write(`\n[test] ${error.message}\n`);
    labDown();
    process.exit(1);
  });

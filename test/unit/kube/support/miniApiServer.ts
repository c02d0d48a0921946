/**
 * A small Kubernetes API double on 127.0.0.1 for unit tests of the cluster model: list (with
 * `limit`/`continue` paging and a resourceVersion) and watch (newline-delimited events, sent
 * as objects change) for namespaces, nodes, pods and services; 401/403 answers on demand.
 * It is the model's dependency, not the thing under test; the real lab API lives in lab/.
 */

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { KubeConfig } from '@kubernetes/client-node';

/** The resources served. */
export type Resource = 'namespaces' | 'nodes' | 'pods' | 'services';

interface StoredObject {
  readonly metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string> };
  readonly [key: string]: unknown;
}

interface Watcher {
  readonly resource: Resource;
  readonly namespace: string | undefined;
  readonly response: http.ServerResponse;
}

const kinds: Record<Resource, string> = { namespaces: 'Namespace', nodes: 'Node', pods: 'Pod', services: 'Service' };

/** The API double. */
export class MiniApiServer {
  private readonly server = http.createServer((request, response) => this.handle(request, response));
  private readonly store: Record<Resource, Map<string, StoredObject>> = {
    namespaces: new Map(),
    nodes: new Map(),
    pods: new Map(),
    services: new Map(),
  };
  private readonly watchers = new Set<Watcher>();
  private revision = 100;
  /** Paths (without query) answered with 403 Forbidden, e.g. `/api/v1/pods`. */
  readonly forbidden = new Set<string>();
  /** When set, every request is answered with 401. */
  unauthorized = false;
  /** When set, watch requests are answered with this status instead of a stream. */
  watchStatus: number | undefined;
  /** Requests seen, as `METHOD path?query`. */
  readonly requests: string[] = [];

  /** Starts listening on 127.0.0.1 (an ephemeral port unless `port` is given). */
  async start(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** A kubeconfig for this server (plain HTTP, which client-node allows with skip-TLS). */
  kubeConfig(contextNamespace?: string): KubeConfig {
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: 'mini', server: `http://127.0.0.1:${this.port}`, skipTLSVerify: true }],
      users: [{ name: 'tester', token: 'test-token' }],
      contexts: [{ name: 'mini', cluster: 'mini', user: 'tester', ...(contextNamespace === undefined ? {} : { namespace: contextNamespace }) }],
      currentContext: 'mini',
    });
    return config;
  }

  /** Adds or replaces an object and tells the watchers. */
  put(resource: Resource, object: StoredObject): void {
    const key = keyOf(object);
    const existed = this.store[resource].has(key);
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.revision) } };
    this.store[resource].set(key, stored);
    this.notify(resource, existed ? 'MODIFIED' : 'ADDED', stored);
  }

  /** Deletes an object and tells the watchers. */
  remove(resource: Resource, namespace: string | undefined, name: string): void {
    const key = `${namespace ?? ''}/${name}`;
    const object = this.store[resource].get(key);
    if (object === undefined) {
      return;
    }
    this.store[resource].delete(key);
    const deleted = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.revision) } };
    this.notify(resource, 'DELETED', deleted);
  }

  /** Ends every open watch stream (the client should re-watch). */
  closeWatches(): void {
    for (const watcher of this.watchers) {
      watcher.response.end();
    }
    this.watchers.clear();
  }

  /** Number of open watch streams. */
  get openWatches(): number {
    return this.watchers.size;
  }

  async stop(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private notify(resource: Resource, type: string, object: StoredObject): void {
    for (const watcher of this.watchers) {
      if (watcher.resource !== resource) {
        continue;
      }
      if (watcher.namespace !== undefined && watcher.namespace !== object.metadata.namespace) {
        continue;
      }
      watcher.response.write(`${JSON.stringify({ type, object: withKind(resource, object) })}\n`);
    }
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    this.requests.push(`${request.method ?? 'GET'} ${url.pathname}${url.search}`);
    if (this.unauthorized) {
      sendJson(response, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const route = parsePath(url.pathname);
    if (route === undefined) {
      sendJson(response, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    if (this.forbidden.has(url.pathname)) {
      const where = route.namespace === undefined ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
      sendJson(
        response,
        403,
        status(403, 'Forbidden', `${route.resource} is forbidden: User "tester" cannot ${url.searchParams.get('watch') === 'true' ? 'watch' : 'list'} resource "${route.resource}" in API group "" ${where}`),
      );
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      if (this.watchStatus !== undefined) {
        sendJson(response, this.watchStatus, status(this.watchStatus, 'InternalError', 'watch refused by the test'));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      response.flushHeaders();
      const watcher: Watcher = { resource: route.resource, namespace: route.namespace, response };
      this.watchers.add(watcher);
      request.on('close', () => this.watchers.delete(watcher));
      return;
    }
    const all = [...this.store[route.resource].values()]
      .filter((object) => route.namespace === undefined || object.metadata.namespace === route.namespace)
      .sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const offset = Number(Buffer.from(url.searchParams.get('continue') ?? '', 'base64url').toString() || '0');
    const page = limit > 0 ? all.slice(offset, offset + limit) : all.slice(offset);
    const next = limit > 0 && offset + limit < all.length ? Buffer.from(String(offset + limit)).toString('base64url') : undefined;
    sendJson(response, 200, {
      kind: `${kinds[route.resource]}List`,
      apiVersion: 'v1',
      metadata: { resourceVersion: String(this.revision), ...(next === undefined ? {} : { continue: next }) },
      items: page.map((object) => withKind(route.resource, object)),
    });
  }
}

function parsePath(pathname: string): { resource: Resource; namespace: string | undefined } | undefined {
  const cluster = /^\/api\/v1\/(namespaces|nodes|pods|services)$/.exec(pathname);
  if (cluster !== null) {
    return { resource: cluster[1] as Resource, namespace: undefined };
  }
  const namespaced = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|services)$/.exec(pathname);
  if (namespaced !== null) {
    return { resource: namespaced[2] as Resource, namespace: decodeURIComponent(namespaced[1] ?? '') };
  }
  return undefined;
}

function keyOf(object: StoredObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function withKind(resource: Resource, object: StoredObject): StoredObject {
  return { apiVersion: 'v1', kind: kinds[resource], ...object };
}

function status(code: number, reason: string, message: string): unknown {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details: {}, code };
}

function sendJson(response: http.ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** A pod object as the API returns it. */
export function podObject(
  namespace: string,
  name: string,
  fields: { phase?: string; podIP?: string; nodeName?: string; hostNetwork?: boolean } = {},
): StoredObject {
  return {
    metadata: { name, namespace, uid: `uid-${namespace}-${name}`, creationTimestamp: '2024-05-01T10:00:00Z' } as StoredObject['metadata'],
    spec: {
      ...(fields.nodeName === undefined ? {} : { nodeName: fields.nodeName }),
      ...(fields.hostNetwork === undefined ? {} : { hostNetwork: fields.hostNetwork }),
      containers: [{ name: 'main', image: 'registry.example/app:1' }],
    },
    status: {
      phase: fields.phase ?? 'Running',
      ...(fields.podIP === undefined ? {} : { podIP: fields.podIP, podIPs: [{ ip: fields.podIP }] }),
      containerStatuses: [
        {
          name: 'main',
          image: 'registry.example/app:1',
          imageID: '',
          ready: (fields.phase ?? 'Running') === 'Running',
          restartCount: 0,
          containerID: `containerd://${'ab'.repeat(32)}`,
          state: (fields.phase ?? 'Running') === 'Running' ? { running: { startedAt: '2024-05-01T10:00:05Z' } } : { waiting: { reason: 'ContainerCreating' } },
        },
      ],
    },
  };
}

/** A ClusterIP service object. */
export function serviceObject(namespace: string, name: string, clusterIP: string, port = 80): StoredObject {
  return {
    metadata: { name, namespace },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports: [{ name: 'http', port, protocol: 'TCP', targetPort: 8080 }], selector: { app: name } },
    status: { loadBalancer: {} },
  };
}

/** A node object with an InternalIP and a Ready condition. */
export function nodeObject(name: string, internalIP: string, ready = true): StoredObject {
  return {
    metadata: { name, labels: { 'kubernetes.io/os': 'linux' } },
    spec: { podCIDR: '198.18.1.0/24', podCIDRs: ['198.18.1.0/24'] },
    status: {
      addresses: [
        { type: 'InternalIP', address: internalIP },
        { type: 'Hostname', address: name },
      ],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'KubeletReady' : 'KubeletNotReady' }],
      nodeInfo: { operatingSystem: 'linux', kubeletVersion: 'v1.32.0', containerRuntimeVersion: 'containerd://1.7.0', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', architecture: 'amd64', bootID: '', machineID: '', systemUUID: '', kubeProxyVersion: '' },
    },
  };
}

/** A namespace object. */
export function namespaceObject(name: string, labels: Record<string, string> = {}): StoredObject {
  return { metadata: { name, labels } as StoredObject['metadata'], status: { phase: 'Active' } };
}

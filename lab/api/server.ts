/**
 * The HTTPS front of the lab's API server: authentication, routing of Kubernetes REST paths,
 * content negotiation (JSON, Table, PartialObjectMetadata), lists with resourceVersion and
 * limit/continue, watches, writes through the registry, and the exec upgrade.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Authenticator, UserInfo } from './auth';
import { allowReason, authorize, authorizeNonResource, isAllowed } from './auth';
import { apiGroupDocument, apiGroupList, apiResourceList, apiVersions, openApiDocument, openApiRoot, versionInfo } from './discovery';
import type { ExecHandler } from './exec';
import type { Kubelet } from './kubelet';
import type { KubeObject, Pod } from './objects';
import { isRecord } from './objects';
import { patchTypeOf } from './patch';
import { decodeObject as decodeProtobufObject, decodeReview } from './protobuf';
import type { Registry } from './registry';
import type { ResourceInfo } from './resources';
import { apiVersionOf, findResource } from './resources';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors';
import type { StoredEntry, Store } from './store';
import { ApiError, badRequest, internalError, methodNotAllowed, notAcceptable, notFoundPath, unsupportedMediaType } from './status';
import type { IncludeObject } from './table';
import { buildTable } from './table';
import { WatchHub } from './watch';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

type Representation = { kind: 'json' } | { kind: 'table'; apiVersion: string } | { kind: 'partial'; apiVersion: string };

/** Picks the first representation in the Accept header that the lab can produce. */
export function negotiate(accept: string | undefined): Representation | undefined {
  if (accept === undefined || accept.trim() === '') {
    return { kind: 'json' };
  }
  for (const clause of accept.split(',')) {
    const [typeText, ...paramTexts] = clause.split(';');
    const type = typeText.trim().toLowerCase();
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') {
      continue;
    }
    const params: Record<string, string> = {};
    for (const text of paramTexts) {
      const [key, value] = text.split('=');
      if (key !== undefined && value !== undefined) {
        params[key.trim()] = value.trim();
      }
    }
    if (params.as === undefined) {
      return { kind: 'json' };
    }
    const version = params.v ?? '';
    if (params.g === 'meta.k8s.io' && (version === 'v1' || version === 'v1beta1')) {
      if (params.as === 'Table') {
        return { kind: 'table', apiVersion: `meta.k8s.io/${version}` };
      }
      if (params.as === 'PartialObjectMetadata' || params.as === 'PartialObjectMetadataList') {
        return { kind: 'partial', apiVersion: `meta.k8s.io/${version}` };
      }
    }
  }
  return undefined;
}

interface ResourcePath {
  readonly info: ResourceInfo;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

interface ContinueToken {
  readonly rv: number;
  readonly start: string;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { v?: string; rv?: number; start?: string };
    if (parsed.v !== 'meta.k8s.io/v1' || typeof parsed.rv !== 'number' || typeof parsed.start !== 'string') {
      throw new Error('bad token');
    }
    return { rv: parsed.rv, start: parsed.start };
  } catch {
    throw badRequest(`continue key is not valid: ${token === '' ? 'empty' : 'incorrect encoded start resourceVersion (version meta.k8s.io/v1)'}`);
  }
}

function firstIndexAtOrAfter(entries: readonly StoredEntry[], key: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle].key < key) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return low;
}

function partialObject(apiVersion: string, object: KubeObject): Record<string, unknown> {
  return { kind: 'PartialObjectMetadata', apiVersion, metadata: object.metadata };
}

function includeObjectOf(params: URLSearchParams): IncludeObject {
  const value = params.get('includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function integerParam(params: URLSearchParams, name: string): number | undefined {
  const value = params.get(name);
  if (value === null || value === '') {
    return undefined;
  }
  if (!/^-?\d+$/.test(value)) {
    throw badRequest(`${name}: Invalid value: "${value}": strconv.ParseInt: parsing "${value}": invalid syntax`);
  }
  return Number.parseInt(value, 10);
}

export interface LabApiServerOptions {
  readonly store: Store;
  readonly registry: Registry;
  readonly kubelet: Kubelet;
  readonly authenticator: Authenticator;
  readonly exec: ExecHandler;
  readonly tls: { readonly key: Buffer; readonly cert: Buffer };
  readonly log: (line: string) => void;
}

export class LabApiServer {
  readonly watches: WatchHub;
  private readonly server: https.Server;
  private address = '127.0.0.1:0';

  constructor(private readonly options: LabApiServerOptions) {
    this.watches = new WatchHub(options.store);
    this.server = https.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' }, (request, response) => {
      void this.handle(request, response);
    });
    this.server.on('upgrade', (request: IncomingMessage, socket, head: Buffer) => options.exec.handleUpgrade(request, socket, head));
    this.server.on('clientError', (_error, socket) => socket.destroy());
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 70_000;
    this.server.requestTimeout = 0;
  }

  /** Listens on 127.0.0.1 only; port 0 picks a free port. Resolves to the port. */
  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        const address = this.server.address() as AddressInfo;
        this.address = `127.0.0.1:${address.port}`;
        resolve(address.port);
      });
    });
  }

  close(): Promise<void> {
    this.watches.closeAll();
    this.options.exec.closeAll();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = Date.now();
    const headers: Record<string, string> = { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' };
    let user: UserInfo | undefined;
    let status = 200;
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    try {
      user = this.options.authenticator.authenticate(request.headers.authorization);
      status = await this.route(request, response, url, user, headers);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : internalError(error instanceof Error ? error.message : String(error));
      if (!(error instanceof ApiError)) {
        this.options.log(`[api] ${request.method ?? ''} ${url.pathname}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      }
      status = apiError.code;
      if (!response.headersSent) {
        this.sendJson(response, apiError.code, JSON.stringify(apiError.toStatus()), headers);
      } else {
        response.end();
      }
    }
    // One line per request (a watch logs when it starts); never a header, so never a token.
    this.options.log(`[api] ${request.method ?? ''} ${url.pathname}${url.search.length > 0 ? url.search : ''} ${status} ${Date.now() - started}ms ${user?.username ?? '-'}`);
  }

  private sendJson(response: ServerResponse, code: number, body: string, headers: Record<string, string>): void {
    const payload = Buffer.from(body);
    response.writeHead(code, { ...headers, 'Content-Type': 'application/json', 'Content-Length': String(payload.length) });
    response.end(payload);
  }

  private sendText(response: ServerResponse, code: number, body: string, headers: Record<string, string>): void {
    const payload = Buffer.from(body);
    response.writeHead(code, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(payload.length) });
    response.end(payload);
  }

  private async readBody(request: IncomingMessage): Promise<string> {
    return (await this.readBodyBuffer(request)).toString('utf8');
  }

  private async readBodyBuffer(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) {
        throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks);
  }

  private async readJson(request: IncomingMessage, kind: string): Promise<unknown> {
    const contentType = (request.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
    if (contentType === 'application/vnd.kubernetes.protobuf') {
      const decoded = decodeProtobufObject(await this.readBodyBuffer(request), kind);
      if (decoded === undefined) {
        throw unsupportedMediaType(contentType);
      }
      return decoded;
    }
    if (contentType !== 'application/json' && contentType !== '*/*') {
      throw unsupportedMediaType(contentType);
    }
    const text = await this.readBody(request);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw badRequest(`the object provided is unrecognized (must be of type ${kind}): couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Handles one request; returns the status code sent. */
  private async route(request: IncomingMessage, response: ServerResponse, url: URL, user: UserInfo, headers: Record<string, string>): Promise<number> {
    const method = request.method ?? 'GET';
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    switch (pathname) {
      case '/version':
        authorizeNonResource(user, method.toLowerCase(), pathname);
        this.sendJson(response, 200, JSON.stringify(versionInfo(), null, 2), headers);
        return 200;
      case '/healthz':
      case '/livez':
      case '/readyz':
        authorizeNonResource(user, method.toLowerCase(), pathname);
        this.sendText(response, 200, 'ok', headers);
        return 200;
      case '/api':
        this.sendJson(response, 200, JSON.stringify(apiVersions(this.address)), headers);
        return 200;
      case '/apis':
        this.sendJson(response, 200, JSON.stringify(apiGroupList()), headers);
        return 200;
      case '/openapi/v3':
        this.sendJson(response, 200, JSON.stringify(openApiRoot((text) => createHash('sha512').update(text).digest('hex').toUpperCase())), headers);
        return 200;
    }
    if (pathname.startsWith('/openapi/v3/')) {
      const document = openApiDocument(pathname.slice('/openapi/v3/'.length));
      if (document === undefined) {
        throw notFoundPath();
      }
      this.sendJson(response, 200, document, headers);
      return 200;
    }
    const segments = pathname.split('/').filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
    let group: string;
    let version: string;
    let rest: string[];
    if (segments[0] === 'api' && segments.length >= 2) {
      group = '';
      version = segments[1];
      rest = segments.slice(2);
    } else if (segments[0] === 'apis' && segments.length >= 2) {
      group = segments[1];
      if (segments.length === 2) {
        const document = apiGroupDocument(group);
        if (document === undefined) {
          throw notFoundPath();
        }
        this.sendJson(response, 200, JSON.stringify(document), headers);
        return 200;
      }
      version = segments[2];
      rest = segments.slice(3);
    } else {
      throw notFoundPath();
    }
    if (rest.length === 0) {
      const list = apiResourceList(group, version);
      if (list === undefined) {
        throw notFoundPath();
      }
      this.sendJson(response, 200, JSON.stringify(list), headers);
      return 200;
    }
    if (group === 'authorization.k8s.io' || group === 'authentication.k8s.io') {
      return this.review(request, response, group, version, rest, user, headers);
    }
    const target = this.parseResourcePath(group, version, rest);
    return this.serveResource(request, response, url, target, user, headers);
  }

  private parseResourcePath(group: string, version: string, rest: string[]): ResourcePath {
    let namespace: string | undefined;
    let parts = rest;
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      const candidate = findResource(group, version, parts[2]);
      if (candidate !== undefined && candidate.namespaced) {
        namespace = parts[1];
        parts = parts.slice(2);
      }
    }
    const info = findResource(group, version, parts[0]);
    if (info === undefined || parts.length > 3) {
      throw notFoundPath();
    }
    if (namespace === undefined && info.namespaced && parts.length > 1) {
      // A namespaced resource addressed by name without a namespace.
      throw notFoundPath();
    }
    return { info, namespace, name: parts[1], subresource: parts[2] };
  }

  private async serveResource(request: IncomingMessage, response: ServerResponse, url: URL, target: ResourcePath, user: UserInfo, headers: Record<string, string>): Promise<number> {
    const { info, namespace, name, subresource } = target;
    const params = url.searchParams;
    const method = request.method ?? 'GET';
    const dryRun = params.getAll('dryRun').includes('All');
    if (subresource !== undefined && !['status', 'exec', 'log'].includes(subresource)) {
      throw notFoundPath();
    }
    if (subresource === 'exec') {
      authorize(user, { verb: method === 'GET' ? 'get' : 'create', group: info.group, resource: info.name, subresource, namespace, name });
      throw badRequest('Upgrade request required');
    }
    if (subresource === 'log') {
      if (method !== 'GET') {
        throw methodNotAllowed();
      }
      authorize(user, { verb: 'get', group: info.group, resource: info.name, subresource, namespace, name });
      return this.serveLog(response, namespace ?? '', name ?? '', params, headers);
    }
    if (name === undefined) {
      switch (method) {
        case 'GET': {
          const watch = params.get('watch') === 'true' || params.get('watch') === '1';
          authorize(user, { verb: watch ? 'watch' : 'list', group: info.group, resource: info.name, namespace });
          return watch ? this.serveWatch(request, response, info, namespace, params, headers) : this.serveList(request, response, info, namespace, params, headers);
        }
        case 'POST': {
          authorize(user, { verb: 'create', group: info.group, resource: info.name, namespace });
          if (info.namespaced && namespace === undefined) {
            throw methodNotAllowed();
          }
          const body = await this.readJson(request, info.kind);
          const result = this.options.registry.create(info, namespace, body, { dryRun });
          return this.sendWrite(response, result.code, result.entry, result.warnings, headers);
        }
        case 'DELETE': {
          authorize(user, { verb: 'deletecollection', group: info.group, resource: info.name, namespace });
          return this.deleteCollection(response, info, namespace, params, headers);
        }
        default:
          throw methodNotAllowed();
      }
    }
    switch (method) {
      case 'GET': {
        authorize(user, { verb: 'get', group: info.group, resource: info.name, subresource, namespace, name });
        const entry = this.options.store.require(info.name, namespace, name);
        const representation = negotiate(request.headers.accept);
        if (representation === undefined) {
          throw notAcceptable();
        }
        if (representation.kind === 'table') {
          const table = buildTable(info, [entry], {
            includeObject: includeObjectOf(params),
            noHeaders: params.get('noHeaders') === 'true',
            apiVersion: representation.apiVersion,
            metadata: { resourceVersion: String(entry.resourceVersion) },
          });
          this.sendJson(response, 200, JSON.stringify(table), headers);
        } else if (representation.kind === 'partial') {
          this.sendJson(response, 200, JSON.stringify(partialObject(representation.apiVersion, entry.object)), headers);
        } else {
          this.sendJson(response, 200, entry.typedJson, headers);
        }
        return 200;
      }
      case 'PUT': {
        authorize(user, { verb: 'update', group: info.group, resource: info.name, subresource, namespace, name });
        const body = await this.readJson(request, info.kind);
        const result = this.options.registry.update(info, namespace, name, body, subresource);
        return this.sendWrite(response, result.code, result.entry, result.warnings, headers);
      }
      case 'PATCH': {
        authorize(user, { verb: 'patch', group: info.group, resource: info.name, subresource, namespace, name });
        const contentType = request.headers['content-type'] ?? '';
        const type = patchTypeOf(contentType);
        if (type === undefined) {
          throw unsupportedMediaType(contentType);
        }
        const text = await this.readBody(request);
        let patch: unknown;
        try {
          patch = JSON.parse(text) as unknown;
        } catch (error) {
          throw badRequest(`error decoding patch: ${error instanceof Error ? error.message : String(error)}`);
        }
        const result = this.options.registry.patch(info, namespace, name, type, patch, subresource);
        return this.sendWrite(response, result.code, result.entry, result.warnings, headers);
      }
      case 'DELETE': {
        authorize(user, { verb: 'delete', group: info.group, resource: info.name, namespace, name });
        if (subresource !== undefined) {
          throw methodNotAllowed();
        }
        const text = await this.readBody(request);
        let options: Record<string, unknown> = {};
        if (text.trim() !== '') {
          try {
            const parsed = JSON.parse(text) as unknown;
            options = isRecord(parsed) ? parsed : {};
          } catch (error) {
            throw badRequest(`the object provided is unrecognized (must be of type DeleteOptions): couldn't get version/kind; json parse error: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        const grace = typeof options.gracePeriodSeconds === 'number' ? options.gracePeriodSeconds : integerParam(params, 'gracePeriodSeconds');
        const preconditions = isRecord(options.preconditions) ? (options.preconditions as { uid?: string; resourceVersion?: string }) : undefined;
        const bodyDryRun = Array.isArray(options.dryRun) && options.dryRun.includes('All');
        const result = this.options.registry.delete(info, namespace, name, { gracePeriodSeconds: grace, preconditions, dryRun: dryRun || bodyDryRun });
        this.sendJson(response, result.code, result.body, headers);
        return result.code;
      }
      default:
        throw methodNotAllowed();
    }
  }

  private sendWrite(response: ServerResponse, code: number, entry: StoredEntry, warnings: readonly string[], headers: Record<string, string>): number {
    const extra: Record<string, string | string[]> = { ...headers };
    if (warnings.length > 0) {
      extra.Warning = warnings.map((text) => `299 - ${JSON.stringify(text)}`);
    }
    const payload = Buffer.from(entry.typedJson);
    response.writeHead(code, { ...extra, 'Content-Type': 'application/json', 'Content-Length': String(payload.length) });
    response.end(payload);
    return code;
  }

  private selectorFilter(info: ResourceInfo, params: URLSearchParams): { matches: (object: KubeObject) => boolean; filtered: boolean } {
    const labelSelector = parseLabelSelector(params.get('labelSelector') ?? '');
    const fieldSelector = parseFieldSelector(params.get('fieldSelector') ?? '', info);
    const filtered = labelSelector.length > 0 || fieldSelector.length > 0;
    return {
      filtered,
      matches: (object) => matchesLabels(labelSelector, object.metadata.labels) && matchesFields(info, fieldSelector, object),
    };
  }

  private serveList(request: IncomingMessage, response: ServerResponse, info: ResourceInfo, namespace: string | undefined, params: URLSearchParams, headers: Record<string, string>): number {
    const representation = negotiate(request.headers.accept);
    if (representation === undefined) {
      throw notAcceptable();
    }
    const { matches, filtered } = this.selectorFilter(info, params);
    const limit = integerParam(params, 'limit');
    const continueText = params.get('continue');
    const store = this.options.store;
    let listVersion = store.currentRevision;
    let startKey: string | undefined;
    if (continueText !== null && continueText !== '') {
      // Pages are read from the live state (the lab keeps no snapshots), under the first page's version.
      const token = decodeContinue(continueText);
      listVersion = token.rv;
      startKey = token.start;
    }
    const entries = store.list(info.name, namespace);
    let index = startKey === undefined ? 0 : firstIndexAtOrAfter(entries, startKey);
    const selected: StoredEntry[] = [];
    const max = limit !== undefined && limit > 0 ? limit : Number.POSITIVE_INFINITY;
    for (; index < entries.length && selected.length < max; index++) {
      if (matches(entries[index].object)) {
        selected.push(entries[index]);
      }
    }
    // Like etcd-backed lists: a continue token only when something is left to read.
    let more = false;
    for (let probe = index; probe < entries.length; probe++) {
      if (matches(entries[probe].object)) {
        more = true;
        break;
      }
    }
    const metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: String(listVersion) };
    if (more && selected.length > 0) {
      metadata.continue = encodeContinue(listVersion, `${selected[selected.length - 1].key}\u0000`);
      if (!filtered) {
        metadata.remainingItemCount = entries.length - index;
      }
    }
    let body: string;
    if (representation.kind === 'table') {
      body = JSON.stringify(
        buildTable(info, selected, {
          includeObject: includeObjectOf(params),
          noHeaders: params.get('noHeaders') === 'true',
          apiVersion: representation.apiVersion,
          metadata,
        }),
      );
    } else if (representation.kind === 'partial') {
      body = JSON.stringify({
        kind: 'PartialObjectMetadataList',
        apiVersion: representation.apiVersion,
        metadata,
        items: selected.map((entry) => partialObject(representation.apiVersion, entry.object)),
      });
    } else {
      body = `{"kind":${JSON.stringify(`${info.kind}List`)},"apiVersion":${JSON.stringify(apiVersionOf(info))},"metadata":${JSON.stringify(metadata)},"items":[${selected.map((entry) => entry.json).join(',')}]}`;
    }
    this.sendJson(response, 200, body, headers);
    return 200;
  }

  private serveWatch(request: IncomingMessage, response: ServerResponse, info: ResourceInfo, namespace: string | undefined, params: URLSearchParams, headers: Record<string, string>): number {
    const representation = negotiate(request.headers.accept);
    if (representation === undefined) {
      throw notAcceptable();
    }
    const { matches } = this.selectorFilter(info, params);
    const timeout = integerParam(params, 'timeoutSeconds');
    const sendInitialEvents = params.get('sendInitialEvents') === 'true';
    const allowBookmarks = params.get('allowWatchBookmarks') === 'true';
    if (sendInitialEvents && (params.get('resourceVersionMatch') !== 'NotOlderThan' || !allowBookmarks)) {
      throw new ApiError(422, 'Invalid', 'ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks to true', {
        kind: 'ListOptions',
        group: 'meta.k8s.io',
        causes: [{ reason: 'FieldValueForbidden', message: 'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan and allowWatchBookmarks to true', field: 'sendInitialEvents' }],
      });
    }
    this.watches.serve(request, response, {
      info,
      namespace: info.namespaced ? namespace : undefined,
      matches,
      resourceVersion: params.get('resourceVersion') ?? undefined,
      allowBookmarks,
      sendInitialEvents,
      timeoutSeconds: timeout !== undefined && timeout > 0 ? timeout : undefined,
      table: representation.kind === 'table' ? { apiVersion: representation.apiVersion, includeObject: includeObjectOf(params) } : undefined,
      headers,
    });
    return 200;
  }

  private deleteCollection(response: ServerResponse, info: ResourceInfo, namespace: string | undefined, params: URLSearchParams, headers: Record<string, string>): number {
    const { matches } = this.selectorFilter(info, params);
    const entries = this.options.store.list(info.name, namespace).filter((entry) => matches(entry.object));
    const deleted: string[] = [];
    for (const entry of entries) {
      const result = this.options.registry.delete(info, entry.object.metadata.namespace, entry.object.metadata.name ?? '', { gracePeriodSeconds: integerParam(params, 'gracePeriodSeconds') });
      const body = JSON.parse(result.body) as Record<string, unknown>;
      if (body.kind !== 'Status') {
        delete body.kind;
        delete body.apiVersion;
        deleted.push(JSON.stringify(body));
      } else {
        deleted.push(entry.json);
      }
    }
    const body = `{"kind":${JSON.stringify(`${info.kind}List`)},"apiVersion":${JSON.stringify(apiVersionOf(info))},"metadata":{"resourceVersion":"${this.options.store.currentRevision}"},"items":[${deleted.join(',')}]}`;
    this.sendJson(response, 200, body, headers);
    return 200;
  }

  private serveLog(response: ServerResponse, namespace: string, name: string, params: URLSearchParams, headers: Record<string, string>): number {
    const pod = this.options.store.require('pods', namespace, name).object as Pod;
    const names = pod.spec.containers.map((container) => container.name);
    let container = params.get('container') ?? '';
    if (container === '') {
      if (names.length !== 1) {
        throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`);
      }
      container = names[0];
    } else if (!names.includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    const status = pod.status?.containerStatuses?.find((item) => item.name === container);
    if (status?.state.waiting !== undefined) {
      const reason = status.state.waiting.reason === 'ImagePullBackOff' || status.state.waiting.reason === 'ErrImagePull' ? 'trying and failing to pull image' : status.state.waiting.reason ?? 'ContainerCreating';
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${reason}`);
    }
    // The lab's containers are stand-ins that write nothing to stdout.
    this.sendText(response, 200, '', headers);
    return 200;
  }

  private async review(request: IncomingMessage, response: ServerResponse, group: string, version: string, rest: string[], user: UserInfo, headers: Record<string, string>): Promise<number> {
    const method = request.method ?? 'GET';
    const resource = rest[0];
    const known =
      version === 'v1' &&
      rest.length === 1 &&
      ((group === 'authorization.k8s.io' && (resource === 'selfsubjectaccessreviews' || resource === 'selfsubjectrulesreviews')) || (group === 'authentication.k8s.io' && resource === 'selfsubjectreviews'));
    if (!known) {
      throw notFoundPath();
    }
    if (method !== 'POST') {
      throw methodNotAllowed();
    }
    const contentType = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    // kubectl sends its review requests as protobuf.
    const body = contentType === 'application/vnd.kubernetes.protobuf' ? decodeReview(await this.readBodyBuffer(request)) : await this.readJson(request, resource);
    const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
    const apiVersion = `${group}/${version}`;
    let result: Record<string, unknown>;
    if (resource === 'selfsubjectreviews') {
      result = { kind: 'SelfSubjectReview', apiVersion, metadata: { creationTimestamp: null }, status: { userInfo: { username: user.username, groups: user.groups } } };
    } else if (resource === 'selfsubjectaccessreviews') {
      let allowed: boolean;
      if (isRecord(spec.resourceAttributes)) {
        const attributes = spec.resourceAttributes;
        allowed = isAllowed(user, {
          verb: String(attributes.verb ?? ''),
          group: String(attributes.group ?? ''),
          resource: String(attributes.resource ?? ''),
          subresource: attributes.subresource === undefined ? undefined : String(attributes.subresource),
          namespace: attributes.namespace === undefined ? undefined : String(attributes.namespace),
          name: attributes.name === undefined ? undefined : String(attributes.name),
        });
      } else if (isRecord(spec.nonResourceAttributes)) {
        allowed = user.admin || String(spec.nonResourceAttributes.verb ?? '') === 'get';
      } else {
        throw new ApiError(422, 'Invalid', 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified', {
          group: 'authorization.k8s.io',
          kind: 'SelfSubjectAccessReview',
          causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified', field: 'spec.resourceAttributes' }],
        });
      }
      const status: Record<string, unknown> = { allowed };
      if (allowed) {
        status.reason = allowReason(user);
      }
      result = { kind: 'SelfSubjectAccessReview', apiVersion, metadata: { creationTimestamp: null }, spec, status };
    } else {
      const resourceRules = user.admin
        ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]
        : [
            { verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['namespaces', 'nodes', 'pods', 'pods/log', 'pods/status', 'services', 'events'] },
            { verbs: ['get', 'list', 'watch'], apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
            { verbs: ['get', 'list', 'watch'], apiGroups: ['coordination.k8s.io'], resources: ['leases'] },
            { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
          ];
      const nonResourceRules = user.admin ? [{ verbs: ['*'], nonResourceURLs: ['*'] }] : [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/version', '/version/'] }];
      result = { kind: 'SelfSubjectRulesReview', apiVersion, metadata: { creationTimestamp: null }, spec, status: { resourceRules, nonResourceRules, incomplete: false } };
    }
    this.sendJson(response, 201, JSON.stringify(result), headers);
    return 201;
  }
}

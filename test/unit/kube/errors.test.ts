/**
 * Error classification against the errors client-node really throws: requests to a closed
 * loopback port, to a local HTTP server answering 401/403, to a local TLS server with a
 * self-signed certificate (generated here with openssl), and watch failures.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { CoreV1Api, FetchError, KubeConfig, Watch } from '@kubernetes/client-node';

import {
  ClusterError,
  classifyError,
  KubeconfigError,
  parseForbiddenMessage,
  TimeoutError,
} from '../../../src/kube/errors.js';

const forbiddenMessage =
  'pods is forbidden: User "system:serviceaccount:dev:viewer" cannot list resource "pods" in API group "" at the cluster scope';

function kubeConfigFor(server: string, extra: { caData?: string; skipTLSVerify?: boolean } = {}): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: extra.skipTLSVerify ?? false, ...(extra.caData === undefined ? {} : { caData: extra.caData }) }],
    users: [{ name: 'u', token: 'token' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return config;
}

async function thrownBy(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('classifyError with real client-node errors', () => {
  const server = http.createServer((request, response) => {
    if (request.url?.startsWith('/api/v1/namespaces')) {
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
      return;
    }
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: forbiddenMessage, reason: 'Forbidden', details: { kind: 'pods' }, code: 403 }),
    );
  });
  let base = '';

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('ECONNREFUSED from a closed port is unreachable', async () => {
    const port = await freePort();
    const api = kubeConfigFor(`http://127.0.0.1:${port}`, { skipTLSVerify: true }).makeApiClient(CoreV1Api);
    const error = await thrownBy(() => api.listNamespace());
    const problem = classifyError(error);
    assert.equal(problem.kind, 'unreachable');
    assert.equal(problem.code, 'ECONNREFUSED');
    assert.match(problem.detail, /ECONNREFUSED/);
  });

  it('ENOTFOUND as node-fetch reports it is unreachable', () => {
    // Built with client-node's own FetchError class (no DNS traffic from a unit test).
    const systemError = Object.assign(new Error('getaddrinfo ENOTFOUND kube.invalid'), {
      code: 'ENOTFOUND',
      errno: -3008,
      syscall: 'getaddrinfo',
      hostname: 'kube.invalid',
    });
    const error = new FetchError(
      'request to https://kube.invalid:6443/api/v1/namespaces failed, reason: getaddrinfo ENOTFOUND kube.invalid',
      'system',
      systemError,
    );
    const problem = classifyError(error);
    assert.equal(problem.kind, 'unreachable');
    assert.equal(problem.code, 'ENOTFOUND');
  });

  it('a 401 ApiException is unauthorized, or expired when the credential has run out', async () => {
    const api = kubeConfigFor(base, { skipTLSVerify: true }).makeApiClient(CoreV1Api);
    const error = await thrownBy(() => api.listNamespace());
    const problem = classifyError(error);
    assert.equal(problem.kind, 'unauthorized');
    assert.equal(problem.status, 401);
    assert.equal(problem.detail, 'Unauthorized');

    const now = new Date('2025-01-02T00:00:00Z');
    const expired = classifyError(error, { credentialExpiresAt: new Date('2025-01-01T00:00:00Z'), now });
    assert.equal(expired.kind, 'expired');
    const valid = classifyError(error, { credentialExpiresAt: new Date('2025-02-01T00:00:00Z'), now });
    assert.equal(valid.kind, 'unauthorized');
  });

  it('a 403 ApiException is forbidden, with verb, resource and user from the Status', async () => {
    const api = kubeConfigFor(base, { skipTLSVerify: true }).makeApiClient(CoreV1Api);
    const error = await thrownBy(() => api.listPodForAllNamespaces());
    const problem = classifyError(error);
    assert.equal(problem.kind, 'forbidden');
    assert.equal(problem.status, 403);
    assert.equal(problem.detail, forbiddenMessage);
    assert.deepEqual(problem.forbidden, {
      user: 'system:serviceaccount:dev:viewer',
      verb: 'list',
      resource: 'pods',
      apiGroup: '',
    });
  });

  it('a failed watch request (statusCode on a plain Error) is classified by status', async () => {
    const watch = new Watch(kubeConfigFor(base, { skipTLSVerify: true }));
    const error = await new Promise<unknown>((resolve) => {
      void watch.watch('/api/v1/pods', {}, () => undefined, resolve);
    });
    assert.ok(error instanceof Error);
    assert.equal((error as Error & { statusCode?: number }).statusCode, 403);
    assert.equal(classifyError(error).kind, 'forbidden');
  });
});

describe('classifyError with TLS failures', () => {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-tls-'));
  let server: https.Server | undefined;
  let certificate = '';
  let base = '';

  before(async () => {
    const keyFile = path.join(directory, 'key.pem');
    const certFile = path.join(directory, 'cert.pem');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=other.test', '-addext', 'subjectAltName=DNS:other.test'],
      { stdio: 'ignore' },
    );
    certificate = fs.readFileSync(certFile, 'utf8');
    server = https.createServer({ key: fs.readFileSync(keyFile), cert: certificate }, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"kind":"NamespaceList","apiVersion":"v1","metadata":{},"items":[]}');
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('an untrusted self-signed server certificate is a certificate problem', async () => {
    const api = kubeConfigFor(base).makeApiClient(CoreV1Api);
    const problem = classifyError(await thrownBy(() => api.listNamespace()));
    assert.equal(problem.kind, 'certificate');
    assert.equal(problem.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  it('a trusted certificate for another name is a certificate problem', async () => {
    const api = kubeConfigFor(base, { caData: Buffer.from(certificate).toString('base64') }).makeApiClient(CoreV1Api);
    const problem = classifyError(await thrownBy(() => api.listNamespace()));
    assert.equal(problem.kind, 'certificate');
    assert.equal(problem.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });
});

describe('classifyError with other inputs', () => {
  it('never throws, whatever it gets', () => {
    const hostile = { get message(): string { throw new Error('boom'); } };
    for (const value of [undefined, null, 42, 'text', {}, [], hostile, Symbol('s')]) {
      const problem = classifyError(value);
      assert.ok(typeof problem.kind === 'string');
    }
  });

  it('passes typed errors through', () => {
    const problem = { kind: 'forbidden', message: 'm', detail: 'd' } as const;
    assert.equal(classifyError(new ClusterError(problem)), problem);
    assert.equal(classifyError(new KubeconfigError('noConfig', 'none', ['/x'])).kind, 'noConfig');
    const timeout = classifyError(new TimeoutError('list pods', 30_000));
    assert.equal(timeout.kind, 'unreachable');
    assert.equal(timeout.code, 'ETIMEDOUT');
  });

  it('reads exec credential plugin messages about expiry as expired', () => {
    const error = new Error('error: refresh token has expired or been revoked, please run "login" again');
    assert.equal(classifyError(error).kind, 'expired');
  });

  it('reads namespace-scoped RBAC denials', () => {
    const detail = parseForbiddenMessage(
      'services is forbidden: User "jane" cannot watch resource "services" in API group "" in the namespace "shop"',
    );
    assert.deepEqual(detail, { user: 'jane', verb: 'watch', resource: 'services', apiGroup: '', namespace: 'shop' });
    assert.deepEqual(parseForbiddenMessage('something else'), {});
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';

import { KubeconfigError } from '../../../src/kube/errors.js';
import {
  chooseContext,
  configForContext,
  contextFingerprint,
  contextNamespace,
  credentialExpiry,
  jwtExpiry,
  listContexts,
  loadKubeconfig,
  resolveKubeconfigPaths,
} from '../../../src/kube/kubeconfig.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-kubeconfig-'));
after(() => fs.rmSync(directory, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(directory, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

function kubeconfigYaml(options: {
  current?: string;
  clusters: Array<[string, string]>;
  users: Array<[string, string]>;
  contexts: Array<[string, string, string, string?]>;
  extraUser?: string;
}): string {
  const lines = ['apiVersion: v1', 'kind: Config'];
  if (options.current !== undefined) {
    lines.push(`current-context: ${options.current}`);
  }
  lines.push('clusters:');
  for (const [name, server] of options.clusters) {
    lines.push(`- name: ${name}`, '  cluster:', `    server: ${server}`, '    certificate-authority: certs/ca.crt');
  }
  lines.push('users:');
  for (const [name, token] of options.users) {
    lines.push(`- name: ${name}`, '  user:', `    token: ${token}`);
  }
  if (options.extraUser !== undefined) {
    lines.push(options.extraUser);
  }
  lines.push('contexts:');
  for (const [name, cluster, user, namespace] of options.contexts) {
    lines.push(`- name: ${name}`, '  context:', `    cluster: ${cluster}`, `    user: ${user}`);
    if (namespace !== undefined) {
      lines.push(`    namespace: ${namespace}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('resolveKubeconfigPaths', () => {
  const home = '/home/jane';

  it('prefers the setting, then KUBECONFIG, then ~/.kube/config', () => {
    assert.deepEqual(resolveKubeconfigPaths({ setting: ['~/a.yaml', 'rel/b.yaml'], kubeconfigEnv: '/env', homeDir: home, baseDir: '/work' }), {
      paths: ['/home/jane/a.yaml', '/work/rel/b.yaml'],
      source: 'setting',
    });
    assert.deepEqual(resolveKubeconfigPaths({ setting: [], kubeconfigEnv: '/one:/two::/one', homeDir: home, delimiter: ':' }), {
      paths: ['/one', '/two'],
      source: 'env',
    });
    assert.deepEqual(resolveKubeconfigPaths({ setting: '', kubeconfigEnv: '', homeDir: home }), {
      paths: ['/home/jane/.kube/config'],
      source: 'default',
    });
  });

  it('splits setting entries on the delimiter too', () => {
    assert.deepEqual(resolveKubeconfigPaths({ setting: '/a:/b', homeDir: home, delimiter: ':' }).paths, ['/a', '/b']);
  });
});

describe('loadKubeconfig', () => {
  const first = write(
    'first/config',
    kubeconfigYaml({
      current: 'dev',
      clusters: [['dev-cluster', 'https://198.18.0.1:6443']],
      users: [['dev-user', 'first-token']],
      contexts: [['dev', 'dev-cluster', 'dev-user', 'shop']],
    }),
  );
  const second = write(
    'second/config',
    kubeconfigYaml({
      current: 'prod',
      clusters: [
        ['dev-cluster', 'https://198.18.0.99:6443'],
        ['prod-cluster', 'https://198.18.0.2:6443'],
      ],
      users: [
        ['dev-user', 'second-token'],
        ['prod-user', 'prod-token'],
      ],
      contexts: [
        ['dev', 'prod-cluster', 'prod-user'],
        ['prod', 'prod-cluster', 'prod-user'],
      ],
    }),
  );

  it('merges like kubectl: first definition and first current-context win, missing files skipped', () => {
    const missing = path.join(directory, 'nope', 'config');
    const loaded = loadKubeconfig([first, missing, second]);
    assert.deepEqual(loaded.files, [first, second]);
    assert.deepEqual(loaded.missing, [missing]);
    assert.equal(loaded.currentContext, 'dev');
    assert.equal(loaded.config.getCluster('dev-cluster')?.server, 'https://198.18.0.1:6443');
    assert.equal(loaded.config.getUser('dev-user')?.token, 'first-token');
    assert.equal(loaded.config.getContextObject('dev')?.cluster, 'dev-cluster');
    assert.deepEqual(
      listContexts(loaded.config).map((context) => [context.name, context.server]),
      [
        ['dev', 'https://198.18.0.1:6443'],
        ['prod', 'https://198.18.0.2:6443'],
      ],
    );
    assert.equal(loaded.warnings.length, 3);
    // Relative certificate paths are resolved against their own file.
    assert.equal(loaded.config.getCluster('prod-cluster')?.caFile, path.join(directory, 'second', 'certs', 'ca.crt'));
  });

  it('takes current-context from a later file when the first sets none', () => {
    const noCurrent = write(
      'nocurrent/config',
      kubeconfigYaml({ clusters: [['x', 'https://198.18.0.3:6443']], users: [['x', 't']], contexts: [['x', 'x', 'x']] }),
    );
    assert.equal(loadKubeconfig([noCurrent, second]).currentContext, 'prod');
  });

  it('throws noConfig when no file exists and invalidConfig when none can be read', () => {
    assert.throws(
      () => loadKubeconfig([path.join(directory, 'absent')]),
      (error: unknown) => error instanceof KubeconfigError && error.code === 'noConfig',
    );
    const broken = write('broken/config', 'clusters: [unclosed\n');
    assert.throws(
      () => loadKubeconfig([broken]),
      (error: unknown) => error instanceof KubeconfigError && error.code === 'invalidConfig',
    );
    const empty = write('empty/config', '');
    const loaded = loadKubeconfig([empty, first]);
    assert.deepEqual(loaded.files, [first]);
    assert.equal(loaded.warnings.length, 1);
  });

  it('makes a per-context copy and fingerprints what a session depends on', () => {
    const loaded = loadKubeconfig([first, second]);
    const prod = configForContext(loaded.config, 'prod');
    assert.equal(prod.getCurrentContext(), 'prod');
    assert.equal(prod.getCurrentCluster()?.server, 'https://198.18.0.2:6443');
    assert.equal(contextNamespace(prod), 'default');
    assert.equal(contextNamespace(configForContext(loaded.config, 'dev')), 'shop');
    assert.equal(loaded.config.getCurrentContext(), 'dev');
    assert.throws(() => configForContext(loaded.config, 'missing'), (error: unknown) => error instanceof KubeconfigError && error.code === 'noContext');
    assert.notEqual(contextFingerprint(loaded.config, 'dev'), contextFingerprint(loaded.config, 'prod'));
    assert.equal(contextFingerprint(loaded.config, 'dev'), contextFingerprint(loadKubeconfig([first]).config, 'dev'));
  });
});

describe('chooseContext', () => {
  const contexts = ['dev', 'prod', 'test'];

  it('uses the remembered choice while the file keeps its current-context', () => {
    assert.equal(chooseContext(contexts, 'dev', { context: 'prod', fileCurrentContext: 'dev' }), 'prod');
  });

  it('follows the file when its current-context changed since the choice', () => {
    assert.equal(chooseContext(contexts, 'test', { context: 'prod', fileCurrentContext: 'dev' }), 'test');
  });

  it('ignores a remembered context that no longer exists, and has none without a current-context', () => {
    assert.equal(chooseContext(contexts, 'dev', { context: 'gone', fileCurrentContext: 'dev' }), 'dev');
    assert.equal(chooseContext(contexts, undefined, undefined), undefined);
    assert.equal(chooseContext(contexts, 'missing', undefined), undefined);
  });
});

describe('credentialExpiry', () => {
  it('reads the exp claim of a JWT bearer token', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'jane', exp: 1_700_000_000 })).toString('base64url');
    const token = `eyJhbGciOiJSUzI1NiJ9.${payload}.c2lnbmF0dXJl`;
    assert.equal(jwtExpiry(token)?.toISOString(), new Date(1_700_000_000_000).toISOString());
    assert.equal(jwtExpiry('opaque-token'), undefined);
    assert.equal(jwtExpiry('a.b.c'), undefined);
  });

  it("reads a client certificate's notAfter", () => {
    const keyFile = path.join(directory, 'client.key');
    const certFile = path.join(directory, 'client.crt');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '3', '-subj', '/CN=jane'],
      { stdio: 'ignore' },
    );
    const notAfter = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-enddate'], { encoding: 'utf8' })
      .trim()
      .replace(/^notAfter=/, '');
    const file = write(
      'cert/config',
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: c',
        'clusters:',
        '- name: c',
        '  cluster:',
        '    server: https://198.18.0.5:6443',
        'users:',
        '- name: u',
        '  user:',
        `    client-certificate-data: ${fs.readFileSync(certFile).toString('base64')}`,
        `    client-key-data: ${fs.readFileSync(keyFile).toString('base64')}`,
        'contexts:',
        '- name: c',
        '  context:',
        '    cluster: c',
        '    user: u',
        '',
      ].join('\n'),
    );
    const expiry = credentialExpiry(loadKubeconfig([file]).config);
    assert.equal(expiry?.toISOString(), new Date(notAfter).toISOString());
  });
});

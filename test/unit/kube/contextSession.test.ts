import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ClusterModel } from '../../../src/kube/clusterModel.js';
import { ContextSession } from '../../../src/kube/contextSession.js';
import type { ContextMemory } from '../../../src/kube/contextSession.js';
import type { RememberedContext } from '../../../src/kube/kubeconfig.js';
import { silentLogger } from '../../../src/util/log.js';
import { MiniApiServer, podObject } from './support/miniApiServer.js';

async function waitFor(what: string, predicate: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function kubeconfigText(port: number, current: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `current-context: ${current}`,
    'clusters:',
    '- name: mini',
    '  cluster:',
    `    server: http://127.0.0.1:${port}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: tester',
    '  user:',
    '    token: test-token',
    'contexts:',
    '- name: alpha',
    '  context:',
    '    cluster: mini',
    '    user: tester',
    '- name: beta',
    '  context:',
    '    cluster: mini',
    '    user: tester',
    '    namespace: shop',
    '- name: gamma',
    '  context:',
    '    cluster: mini',
    '    user: tester',
    '',
  ].join('\n');
}

describe('ContextSession', () => {
  const server = new MiniApiServer();
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-session-'));
  const file = path.join(directory, 'kube', 'config');

  before(async () => {
    await server.start();
    server.put('pods', podObject('shop', 'web-1', { podIP: '198.19.1.10' }));
  });
  after(async () => {
    await server.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('follows the kubeconfig: missing file, current-context, a switch, and edits on disk', async () => {
    let remembered: RememberedContext | undefined;
    const memory: ContextMemory = {
      get: () => remembered,
      set: (value) => {
        remembered = value;
      },
    };
    const model = new ClusterModel({ log: silentLogger, coalesceMs: 10 });
    const session = new ContextSession({ model, memory, log: silentLogger, homeDir: directory });
    try {
      // No file yet: the status says so and the model is not connecting.
      session.configure({ setting: [file] });
      assert.equal(session.status.kind, 'noConfig');
      assert.equal(model.state.phase, 'error');

      // The file appears (its directory did not exist): the watcher notices.
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, kubeconfigText(server.port, 'alpha'));
      await waitFor('active alpha', () => session.status.kind === 'active' && session.status.context === 'alpha');
      await waitFor('ready', () => model.state.phase === 'ready');
      assert.deepEqual(
        session.contexts().map((context) => context.name),
        ['alpha', 'beta', 'gamma'],
      );

      // Switch in memory: remembered with the file's current-context at the time.
      await session.switchContext('beta');
      assert.deepEqual(remembered, { context: 'beta', fileCurrentContext: 'alpha' });
      await waitFor('ready on beta', () => model.state.phase === 'ready' && model.target?.contextName === 'beta');
      const status = session.status as { kind: string; namespace?: string };
      assert.equal(status.namespace, 'shop');

      // An unrelated rewrite keeps the choice and does not restart.
      const starts: string[] = [];
      model.onDidChangeState((state) => starts.push(state.phase));
      fs.writeFileSync(file, kubeconfigText(server.port, 'alpha'));
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(model.target?.contextName, 'beta');
      assert.ok(!starts.includes('connecting'));

      // `kubectl config use-context gamma` changes the file's current-context: the file wins.
      fs.writeFileSync(file, kubeconfigText(server.port, 'gamma'));
      await waitFor('follows the file', () => session.status.kind === 'active' && session.status.context === 'gamma');
      await waitFor('ready on gamma', () => model.state.phase === 'ready' && model.target?.contextName === 'gamma');

      // The file goes away.
      fs.rmSync(file);
      await waitFor('noConfig again', () => session.status.kind === 'noConfig');
    } finally {
      session.dispose();
      model.dispose();
    }
  });
});

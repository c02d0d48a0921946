/**
 * The Kubernetes extension integration without VS Code: Cluster Explorer nodes (made by the
 * end-to-end test's provider fixture, and in the shape the real extension's explorer gives)
 * become pod, service and node targets, and anything else does not; the configuration API's
 * kubeconfig path is read safely; and ContextSession follows a kubeconfig another tool selects.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { contextOfEvent, kubeconfigOfPath, kubernetesToolsExtensionId, targetOfExplorerNode } from '../../../src/features/kubernetesToolsTargets.js';
import { ClusterModel } from '../../../src/kube/clusterModel.js';
import { ContextSession } from '../../../src/kube/contextSession.js';
import { silentLogger } from '../../../src/util/log.js';
import { MiniApiServer } from '../kube/support/miniApiServer.js';

function repositoryRoot(): string {
  let directory = __dirname;
  while (!fs.existsSync(path.join(directory, 'package.json')) || JSON.parse(fs.readFileSync(path.join(directory, 'package.json'), 'utf8')).name !== 'kube-net-inspector') {
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error('package.json not found');
    }
    directory = parent;
  }
  return directory;
}

/** The provider fixture's explorer model (plain JavaScript, no `vscode`). */
interface ProviderKind {
  readonly manifestKind: string;
  readonly abbreviation: string;
}
interface ProviderCluster {
  readonly KINDS: Record<'node' | 'pod' | 'service', ProviderKind>;
  readonly ContextNode: new (name: string, active: boolean) => object;
  readonly ResourceFolderNode: new (kind: ProviderKind) => object;
  readonly ResourceNode: new (kind: ProviderKind, name: string, metadata: Record<string, unknown>) => object;
  readonly ErrorNode: new (message: string) => object;
  resolveCommandTarget(target: unknown): unknown;
  contextValueOf(node: object): string | undefined;
}

const root = repositoryRoot();
const provider = require(path.join(root, 'test', 'e2e', 'fixtures', 'k8s-tools-provider', 'cluster.js')) as ProviderCluster;

/** A kind as the real extension's `ResourceKind` class makes it (kuberesources.ts): getters on the prototype. */
class RealResourceKind {
  constructor(
    readonly displayName: string,
    readonly pluralDisplayName: string,
    readonly manifestKind: string,
    readonly abbreviation: string,
    readonly apiName?: string,
  ) {}

  get label(): string {
    return this.displayName;
  }
}

describe('Cluster Explorer nodes to targets', () => {
  it('uses the id that vscode-kubernetes-tools-api looks the extension up by', () => {
    // The library's constants module is the one part of it that loads without VS Code.
    const constants = require('vscode-kubernetes-tools-api/js/constants') as { MS_KUBERNETES_EXTENSION_ID: string };
    assert.equal(kubernetesToolsExtensionId, constants.MS_KUBERNETES_EXTENSION_ID);
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'test', 'e2e', 'fixtures', 'k8s-tools-provider', 'package.json'), 'utf8')) as { publisher: string; name: string };
    assert.equal(`${manifest.publisher}.${manifest.name}`, kubernetesToolsExtensionId, 'the provider fixture has the real id');
  });

  it('maps the provider fixture\'s pod, service and node nodes, resolved by its resolveCommandTarget', () => {
    const pod = new provider.ResourceNode(provider.KINDS.pod, 'web-4rjfz2q6f2-2hxt9', { name: 'web-4rjfz2q6f2-2hxt9', namespace: 'lab-apps', uid: 'u1' });
    const service = new provider.ResourceNode(provider.KINDS.service, 'web', { name: 'web', namespace: 'lab-apps' });
    const node = new provider.ResourceNode(provider.KINDS.node, 'lab-worker2', { name: 'lab-worker2' });
    assert.deepEqual(targetOfExplorerNode(provider.resolveCommandTarget(pod)), { kind: 'pod', namespace: 'lab-apps', name: 'web-4rjfz2q6f2-2hxt9' });
    assert.deepEqual(targetOfExplorerNode(provider.resolveCommandTarget(service)), { kind: 'service', namespace: 'lab-apps', name: 'web' });
    assert.deepEqual(targetOfExplorerNode(provider.resolveCommandTarget(node)), { kind: 'node', name: 'lab-worker2' });
    // The contextValues our package.json menus match.
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      contributes: { menus: Record<string, Array<{ command: string; when?: string }>> };
    };
    const explorerEntries = manifest.contributes.menus['view/item/context']?.filter((entry) => entry.when?.includes('view == extension.vsKubernetesExplorer')) ?? [];
    const matching = (item: object): string[] => {
      const contextValue = provider.contextValueOf(item) ?? '';
      return explorerEntries
        .filter((entry) => {
          const regex = /viewItem =~ \/(.+)\/(\w*)/.exec(entry.when ?? '');
          return regex !== null && new RegExp(regex[1] ?? '', regex[2]).test(contextValue);
        })
        .map((entry) => entry.command);
    };
    assert.deepEqual(matching(pod).sort(), ['kubeNet.copyPodIp', 'kubeNet.digInPod', 'kubeNet.openPodNetnsTerminal', 'kubeNet.runInPodNetns', 'kubeNet.showVeth']);
    assert.deepEqual(matching(service), ['kubeNet.copyClusterIp']);
    assert.deepEqual(matching(node), []);
    assert.deepEqual(matching(new provider.ContextNode('lab', true)), []);
  });

  it('maps the shape the real extension gives, namespace from the metadata when the node has none', () => {
    const podKind = new RealResourceKind('Pod', 'Pods', 'Pod', 'pod', 'pods');
    assert.deepEqual(targetOfExplorerNode({ nodeType: 'resource', resourceKind: podKind, name: 'client', namespace: 'lab-apps', metadata: { namespace: 'lab-apps' } }), {
      kind: 'pod',
      namespace: 'lab-apps',
      name: 'client',
    });
    assert.deepEqual(targetOfExplorerNode({ nodeType: 'resource', resourceKind: podKind, name: 'client', namespace: null, metadata: { namespace: 'default' } }), {
      kind: 'pod',
      namespace: 'default',
      name: 'client',
    });
    const nodeKind = new RealResourceKind('Node', 'Nodes', 'Node', 'node', 'nodes');
    assert.deepEqual(targetOfExplorerNode({ nodeType: 'resource', resourceKind: nodeKind, name: 'ip-10-0-1-5.eu-west-1.compute.internal', namespace: undefined }), {
      kind: 'node',
      name: 'ip-10-0-1-5.eu-west-1.compute.internal',
    });
  });

  it('gives undefined for everything else', () => {
    const podKind = new RealResourceKind('Pod', 'Pods', 'Pod', 'pod', 'pods');
    const deploymentKind = new RealResourceKind('Deployment', 'Deployments', 'Deployment', 'deployment', 'deployments');
    const unknown: unknown[] = [
      undefined,
      null,
      'pod/web',
      42,
      [],
      // The provider's other nodes, resolved.
      provider.resolveCommandTarget(new provider.ContextNode('lab', true)),
      provider.resolveCommandTarget(new provider.ContextNode('lab-viewer', false)),
      provider.resolveCommandTarget(new provider.ResourceFolderNode(provider.KINDS.pod)),
      provider.resolveCommandTarget(new provider.ErrorNode('boom')),
      // Not an explorer node at all: resolveCommandTarget says undefined.
      provider.resolveCommandTarget({ kind: 'pod', namespace: 'lab-apps', name: 'web' }),
      // Other kinds and malformed resource nodes.
      { nodeType: 'resource', resourceKind: deploymentKind, name: 'web', namespace: 'lab-apps' },
      { nodeType: 'resource', name: 'web', namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: { abbreviation: 'pod' }, name: 'web', namespace: 'lab-apps' },
      { nodeType: 'folder.resource', resourceKind: podKind },
      { nodeType: 'helm.release', name: 'web' },
      { nodeType: 'extension' },
      // A pod without a namespace anywhere.
      { nodeType: 'resource', resourceKind: podKind, name: 'web', namespace: null },
      // Names that no API server gives: hostile or malformed.
      { nodeType: 'resource', resourceKind: podKind, name: '../../etc/passwd', namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: podKind, name: 'web; rm -rf /', namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: podKind, name: 'Web', namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: podKind, name: '', namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: podKind, name: 'a'.repeat(254), namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: podKind, name: 'web', namespace: 'lab.apps' },
      { nodeType: 'resource', resourceKind: podKind, name: 'web', namespace: 'n'.repeat(64) },
      { nodeType: 'resource', resourceKind: podKind, name: ['web'], namespace: 'lab-apps' },
      { nodeType: 'resource', resourceKind: podKind, name: 'web', namespace: { toString: () => 'lab-apps' } },
    ];
    for (const value of unknown) {
      assert.equal(targetOfExplorerNode(value), undefined, JSON.stringify(value));
    }
  });
});

describe('the configuration API\'s answers', () => {
  it('reads a host kubeconfig path list and refuses WSL paths and anything unknown', () => {
    assert.deepEqual(kubeconfigOfPath({ pathType: 'host', hostPath: '/home/me/.kube/config' }), { kind: 'host', paths: '/home/me/.kube/config' });
    assert.deepEqual(kubeconfigOfPath({ pathType: 'host', hostPath: '/a/config:/b/config' }), { kind: 'host', paths: '/a/config:/b/config' });
    assert.equal(kubeconfigOfPath({ pathType: 'wsl', wslPath: '/home/me/.kube/config' }).kind, 'unsupported');
    for (const value of [undefined, null, '/home/me/.kube/config', { pathType: 'host' }, { pathType: 'host', hostPath: '  ' }, { pathType: 'host', hostPath: '/a\0b' }, { pathType: 'ssh', hostPath: '/x' }]) {
      assert.equal(kubeconfigOfPath(value).kind, 'unsupported', JSON.stringify(value));
    }
  });

  it('takes context names from onDidChangeContext and ignores null', () => {
    assert.equal(contextOfEvent('lab-viewer'), 'lab-viewer');
    assert.equal(contextOfEvent(null), undefined);
    assert.equal(contextOfEvent(''), undefined);
    assert.equal(contextOfEvent({ name: 'lab' }), undefined);
  });
});

describe('ContextSession.followKubeconfig', () => {
  const server = new MiniApiServer();
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-k8stools-'));

  function kubeconfig(file: string, contexts: readonly string[], current: string): string {
    const text = [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${current}`,
      'clusters:',
      '- name: mini',
      '  cluster:',
      `    server: http://127.0.0.1:${server.port}`,
      'users:',
      '- name: tester',
      '  user:',
      '    token: test-token',
      'contexts:',
      ...contexts.flatMap((name) => [`- name: ${name}`, '  context:', '    cluster: mini', '    user: tester']),
      '',
    ].join('\n');
    const target = path.join(directory, file);
    fs.writeFileSync(target, text);
    return target;
  }

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  it('reads the followed files instead of KUBECONFIG, lets the setting win, and lets go', async () => {
    const fromEnv = kubeconfig('env.yaml', ['env-context'], 'env-context');
    const first = kubeconfig('tools-a.yaml', ['tools-a', 'shared'], 'tools-a');
    const second = kubeconfig('tools-b.yaml', ['tools-b', 'shared'], 'shared');
    const fromSetting = kubeconfig('setting.yaml', ['setting-context'], 'setting-context');
    const model = new ClusterModel({ log: silentLogger, coalesceMs: 10 });
    const session = new ContextSession({ model, memory: { get: () => undefined, set: () => undefined }, log: silentLogger, homeDir: directory, watchFiles: false });
    const active = (): string | undefined => (session.status.kind === 'active' ? session.status.context : undefined);
    try {
      session.configure({ kubeconfigEnv: fromEnv });
      assert.equal(active(), 'env-context');

      session.followKubeconfig(first);
      assert.equal(active(), 'tools-a');
      assert.deepEqual(session.paths, [first]);
      assert.equal(model.target?.contextName, 'tools-a');

      // A KUBECONFIG-style list: merged in order, the first current-context wins.
      session.followKubeconfig(`${second}${path.delimiter}${first}`);
      assert.deepEqual(session.paths, [second, first]);
      assert.equal(active(), 'shared');
      assert.deepEqual(
        session.contexts().map((context) => context.name),
        ['shared', 'tools-a', 'tools-b'],
      );

      // Settings and KUBECONFIG change (configure again): still following.
      session.configure({ kubeconfigEnv: fromEnv, setting: [] });
      assert.equal(active(), 'shared');

      // Our own setting wins over what the other tool selects.
      session.configure({ kubeconfigEnv: fromEnv, setting: [fromSetting] });
      assert.equal(active(), 'setting-context');
      session.configure({ kubeconfigEnv: fromEnv });
      assert.equal(active(), 'shared');

      // Not following any more: KUBECONFIG again.
      session.followKubeconfig(undefined);
      assert.equal(active(), 'env-context');
      assert.deepEqual(session.paths, [fromEnv]);
    } finally {
      session.dispose();
      model.dispose();
    }
  });
});

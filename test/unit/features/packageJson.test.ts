import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { commandIds, viewIds, webviewTypes } from '../../../src/features/commandIds.js';

function repositoryRoot(): string {
  let directory = __dirname;
  while (!fs.existsSync(path.join(directory, 'package.json'))) {
    const parent = path.dirname(directory);
    if (parent === directory) {
      throw new Error('package.json not found');
    }
    directory = parent;
  }
  return directory;
}

interface Contributes {
  commands: Array<{ command: string; title: string; category?: string }>;
  menus: Record<string, Array<{ command: string; when?: string }>>;
  views: Record<string, Array<{ id: string }>>;
  viewsContainers: { activitybar: Array<{ id: string; icon: string }> };
  viewsWelcome: Array<{ view: string; contents: string }>;
  configuration: { properties: Record<string, unknown> };
}

const root = repositoryRoot();
const packageText = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
const manifest = JSON.parse(packageText) as { contributes: Contributes; activationEvents: string[]; engines: { vscode: string } };
const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;

describe('package.json contributions', () => {
  it('declares exactly the command ids of commandIds.ts, each with a title and the category', () => {
    const declared = manifest.contributes.commands.map((command) => command.command).sort();
    for (const id of Object.values(commandIds)) {
      assert.ok(declared.includes(id), `${id} is not declared in package.json`);
    }
    for (const command of manifest.contributes.commands) {
      assert.ok((Object.values(commandIds) as string[]).includes(command.command), `${command.command} is not in commandIds.ts`);
      assert.equal(command.category, '%category%');
      assert.match(command.title, /^%.+%$/);
    }
  });

  it('menus name only declared commands', () => {
    const declared = new Set(manifest.contributes.commands.map((command) => command.command));
    for (const [menu, entries] of Object.entries(manifest.contributes.menus)) {
      for (const entry of entries) {
        assert.ok(declared.has(entry.command), `${menu}: ${entry.command}`);
      }
    }
  });

  it('has a localized string for every %key%', () => {
    const keys = [...packageText.matchAll(/"%([^"%]+)%"/g)].map((match) => match[1] ?? '');
    assert.ok(keys.length > 10);
    for (const key of keys) {
      assert.ok(typeof nls[key] === 'string' && nls[key].length > 0, `package.nls.json lacks ${key}`);
    }
  });

  it('contributes the view container, the view and its welcome content', () => {
    assert.equal(manifest.contributes.viewsContainers.activitybar[0]?.id, viewIds.container);
    const icon = manifest.contributes.viewsContainers.activitybar[0]?.icon ?? '';
    assert.ok(fs.existsSync(path.join(root, icon)));
    assert.match(fs.readFileSync(path.join(root, icon), 'utf8'), /currentColor/);
    assert.deepEqual(
      manifest.contributes.views[viewIds.container]?.map((view) => view.id),
      [viewIds.cluster],
    );
    assert.ok(manifest.contributes.viewsWelcome.every((entry) => entry.view === viewIds.cluster));
    assert.ok(manifest.activationEvents.includes(`onView:${viewIds.cluster}`));
    assert.ok(manifest.activationEvents.includes(`onWebviewPanel:${webviewTypes.report}`));
  });

  it('declares only settings that the code reads', () => {
    const debugPodSettings = ['image', 'namespace', 'imagePullSecrets', 'lifetimeSeconds', 'idleTimeoutSeconds'];
    assert.deepEqual(
      Object.keys(manifest.contributes.configuration.properties).sort(),
      ['kubeNet.kubeconfig', 'kubeNet.namespaces.hideSystem', ...debugPodSettings.map((name) => `kubeNet.debugPod.${name}`)].sort(),
    );
    const sources = ['src/extension.ts', 'src/features/clusterTree.ts', 'src/features/diagnostics/debugPods.ts']
      .map((file) => fs.readFileSync(path.join(root, file), 'utf8'))
      .join('\n');
    assert.match(sources, /get<unknown>\('kubeconfig'\)/);
    assert.match(sources, /'namespaces\.hideSystem'/);
    assert.match(sources, /'kubeNet\.debugPod'/);
    for (const name of debugPodSettings) {
      assert.match(sources, new RegExp(`get<unknown>\\('${name}'\\)`), `kubeNet.debugPod.${name} is read`);
    }
  });
});

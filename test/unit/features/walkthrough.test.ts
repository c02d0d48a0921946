import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { commandIds, walkthroughIds } from '../../../src/features/commandIds.js';

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

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string };
  completionEvents?: string[];
}

const root = repositoryRoot();
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  contributes: {
    commands: Array<{ command: string }>;
    views: Record<string, Array<{ id: string }>>;
    viewsWelcome: Array<{ view: string; contents: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    walkthroughs?: Array<{ id: string; title: string; description: string; steps: Step[] }>;
  };
};
const nlsFiles = fs.readdirSync(root).filter((name) => /^package\.nls(\.[\w-]+)?\.json$/.test(name));
const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;

function localized(value: string, strings: Record<string, string> = nls): string {
  const match = /^%(.+)%$/.exec(value);
  return match ? (strings[match[1]] ?? value) : value;
}

const declaredCommands = new Set(manifest.contributes.commands.map((command) => command.command));
const views = new Set(Object.values(manifest.contributes.views).flat().map((view) => view.id));
const walkthrough = manifest.contributes.walkthroughs?.find((each) => each.id === walkthroughIds.tutorial);

/** A command a walkthrough button may run: ours, or the focus command VS Code makes for our views. */
function runnable(command: string): boolean {
  const focus = /^(.+)\.focus$/.exec(command);
  return focus !== null ? views.has(focus[1] ?? '') : declaredCommands.has(command);
}

describe('the tutorial walkthrough', () => {
  it('is contributed under the id of walkthroughIds, with a title and a description', () => {
    assert.ok(walkthrough, `package.json contributes the walkthrough ${walkthroughIds.tutorial}`);
    assert.ok(localized(walkthrough.title).length > 0);
    assert.ok(localized(walkthrough.description).length > 0);
  });

  it("follows the tutorial's steps, in its order", () => {
    assert.deepEqual(
      walkthrough?.steps.map((step) => step.id),
      ['podAndServiceIps', 'enterPodNetns', 'findVeth', 'conntrack', 'rules', 'clusterDns', 'ipvs'],
    );
  });

  it('gives every step a page (markdown starting with a heading and showing the manual commands), in every language', () => {
    for (const file of nlsFiles) {
      const strings = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as Record<string, string>;
      for (const step of walkthrough?.steps ?? []) {
        const key = /^%(.+)%$/.exec(step.media.markdown ?? '')?.[1];
        const page = key === undefined ? step.media.markdown : (strings[key] ?? nls[key]);
        assert.ok(page, `${file}: step ${step.id} has a page`);
        const text = fs.readFileSync(path.join(root, page), 'utf8');
        assert.match(text, /^# \S/, `${page} starts with a heading`);
        assert.match(text, /```sh\n[\s\S]+?\n```/, `${page} shows the manual commands`);
      }
    }
  });

  it('gives every step buttons that run contributed commands, and completion events for them', () => {
    for (const step of walkthrough?.steps ?? []) {
      const description = localized(step.description);
      const buttons = [...description.matchAll(/^\[([^\]]+)\]\(command:([\w.-]+)\)$/gm)].map((match) => match[2] ?? '');
      assert.ok(buttons.length > 0, `step ${step.id} has a button`);
      for (const command of buttons) {
        assert.ok(runnable(command), `step ${step.id}: ${command} is contributed`);
      }
      const events = step.completionEvents ?? [];
      assert.ok(events.length > 0, `step ${step.id} can be completed`);
      for (const event of events) {
        const [kind, target] = event.split(':');
        if (kind === 'onCommand') {
          assert.ok(buttons.includes(target ?? ''), `step ${step.id}: ${event} is one of its buttons`);
        } else {
          assert.equal(kind, 'onView', `step ${step.id}: ${event}`);
          assert.ok(views.has(target ?? ''), `step ${step.id}: ${event} names a contributed view`);
        }
      }
    }
  });

  it('is opened by a command in the palette, the view title menu and the empty view', () => {
    assert.ok(declaredCommands.has(commandIds.openWalkthrough));
    const hidden = (manifest.contributes.menus.commandPalette ?? []).find((entry) => entry.command === commandIds.openWalkthrough);
    assert.ok(hidden === undefined || hidden.when === undefined, 'not hidden from the palette');
    assert.ok(manifest.contributes.menus['view/title']?.some((entry) => entry.command === commandIds.openWalkthrough));
    assert.ok(
      manifest.contributes.viewsWelcome.some((entry) => localized(entry.contents).includes(`(command:${commandIds.openWalkthrough})`)),
      'a welcome content links to it',
    );
  });
});

/**
 * English and Russian: every string of the manifest (package.nls.json) and of the code (the
 * messages @vscode/l10n-dev extracts from src/, see scripts/l10n.js) has a Russian translation
 * with the same `{0}` placeholders and the same command links, and l10n/bundle.l10n.json is what
 * the source gives today.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';

import { repoRoot } from '../parsers/corpusFiles.js';

/** What scripts/l10n.js exports (plain JavaScript, loaded at run time). */
interface L10nScript {
  extractMessages(root?: string): Promise<{ messages: Record<string, string>; problems: string[] }>;
  compareTranslation(english: Record<string, string>, translated: Record<string, unknown>, label: string): string[];
  translatedLanguages(root?: string): string[];
  placeholders(message: string): string[];
  links(message: string): string[];
}

const root = repoRoot();
const script = require(path.join(root, 'scripts', 'l10n.js')) as L10nScript;

function readJson<T>(...segments: string[]): T {
  return JSON.parse(fs.readFileSync(path.join(root, ...segments), 'utf8')) as T;
}

const packageText = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
const manifest = JSON.parse(packageText) as { l10n?: string; scripts: Record<string, string> };
const nls = readJson<Record<string, string>>('package.nls.json');
const nlsRu = readJson<Record<string, string>>('package.nls.ru.json');

describe('package.nls: the manifest in English and Russian', () => {
  it('every %key% of package.json exists in package.nls.json and package.nls.ru.json', () => {
    const keys = [...new Set([...packageText.matchAll(/"%([^"%]+)%"/g)].map((match) => match[1] ?? ''))];
    assert.ok(keys.length > 20, `only ${keys.length} %keys% in package.json`);
    for (const key of keys) {
      assert.ok(typeof nls[key] === 'string' && nls[key] !== '', `package.nls.json lacks ${key}`);
      assert.ok(typeof nlsRu[key] === 'string' && nlsRu[key] !== '', `package.nls.ru.json lacks ${key}`);
    }
  });

  it('package.nls.ru.json has every key of package.nls.json, no other, with the same placeholders and links', () => {
    assert.deepEqual(script.compareTranslation(nls, nlsRu, 'package.nls.ru.json'), []);
  });

  it('every file a localized manifest string names (walkthrough media) exists, in each language', () => {
    for (const [label, strings] of [['package.nls.json', nls], ['package.nls.ru.json', nlsRu]] as const) {
      for (const [key, value] of Object.entries(strings)) {
        if (/^[\w./-]+\.(md|svg|png|jpe?g|gif)$/.test(value)) {
          assert.ok(fs.existsSync(path.join(root, value)), `${label} ${key}: ${value} does not exist`);
        }
      }
    }
  });

  it('no title, name or description of the manifest is left as plain English', () => {
    // Strings a user reads in VS Code's UI; ids, when clauses, icons and paths are not text.
    const manifestJson = JSON.parse(packageText) as Record<string, unknown>;
    const plain: string[] = [];
    const visit = (value: unknown, trail: string): void => {
      if (Array.isArray(value)) {
        value.forEach((item, position) => visit(item, `${trail}[${position}]`));
      } else if (typeof value === 'object' && value !== null) {
        for (const [key, child] of Object.entries(value)) {
          visit(child, `${trail}.${key}`);
        }
      } else if (typeof value === 'string' && /\.(displayName|description|title|name|contents|contextualTitle|markdownDescription|patternErrorMessage|altText)$/.test(trail) && !/^%.+%$/.test(value)) {
        plain.push(`${trail}: ${value}`);
      }
    };
    visit({ displayName: manifestJson.displayName, description: manifestJson.description }, 'package');
    visit(manifestJson.contributes, 'contributes');
    assert.deepEqual(plain, []);
  });

  it('points VS Code at the l10n folder and has the npm script that regenerates it', () => {
    assert.equal(manifest.l10n, './l10n');
    assert.match(manifest.scripts.l10n ?? '', /scripts\/l10n\.js/);
    assert.ok(fs.existsSync(path.join(root, 'l10n', 'bundle.l10n.json')));
  });
});

describe('l10n bundles: the code in English and Russian', () => {
  let extracted: { messages: Record<string, string>; problems: string[] };
  before(async () => {
    extracted = await script.extractMessages(root);
  });

  it('every vscode.l10n.t and t call in src/ has a literal message (so it can be extracted)', () => {
    assert.deepEqual(extracted.problems, []);
    // Sanity: the extraction sees the pure modules' `t('…')` calls, not only vscode.l10n.t.
    for (const message of ['Nodes', 'Pods', 'Services', 'Copy command', "Pod side (in the pod's network namespace)"]) {
      assert.ok(message in extracted.messages, `the source's ${JSON.stringify(message)} was not extracted`);
    }
  });

  it('l10n/bundle.l10n.json is what the source gives (run npm run l10n after changing strings)', () => {
    assert.deepEqual(readJson<Record<string, string>>('l10n', 'bundle.l10n.json'), extracted.messages);
  });

  it('l10n/bundle.l10n.ru.json translates every message, with the same placeholders, and nothing else', () => {
    const ru = readJson<Record<string, string>>('l10n', 'bundle.l10n.ru.json');
    assert.deepEqual(script.compareTranslation(extracted.messages, ru, 'l10n/bundle.l10n.ru.json'), []);
  });

  it('Russian is Russian: most translations differ from the English and use Cyrillic', () => {
    const ru = readJson<Record<string, string>>('l10n', 'bundle.l10n.ru.json');
    const entries = Object.entries(extracted.messages);
    const cyrillic = entries.filter(([key]) => /[а-яё]/i.test(ru[key] ?? ''));
    // Some messages are the same in both (units, interface fields such as MTU and MAC, `{0} ms`).
    assert.ok(cyrillic.length / entries.length > 0.9, `only ${cyrillic.length} of ${entries.length} translations use Cyrillic`);
  });

  it('every translated language has both files', () => {
    for (const language of script.translatedLanguages(root)) {
      assert.ok(fs.existsSync(path.join(root, 'l10n', `bundle.l10n.${language}.json`)), `l10n/bundle.l10n.${language}.json`);
      assert.ok(fs.existsSync(path.join(root, `package.nls.${language}.json`)), `package.nls.${language}.json`);
    }
    assert.ok(script.translatedLanguages(root).includes('ru'));
  });
});

describe('the checks themselves', () => {
  it('find a missing key, a changed placeholder, a lost link and a stale key', () => {
    const english = { a: 'Pod {0} on {1}', b: 'See [the log](command:kubeNet.showLog)', c: 'Nodes' };
    const problems = script.compareTranslation(english, { a: 'Под {0}', b: 'См. журнал', old: 'Старое' }, 'x');
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.ok(problems.some((problem) => problem.includes('"c"') && problem.includes('no translation')));
    assert.ok(problems.some((problem) => problem.includes('placeholders')));
    assert.ok(problems.some((problem) => problem.includes('command:kubeNet.showLog')));
    assert.ok(problems.some((problem) => problem.includes('"old"')));
    assert.deepEqual(script.placeholders('{1} and {0} and {1}'), ['{0}', '{1}']);
    assert.deepEqual(script.links('[a](command:x) [b](https://example.com)'), ['command:x', 'https://example.com']);
  });
});

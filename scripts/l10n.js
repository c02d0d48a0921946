#!/usr/bin/env node
'use strict';
/**
 * The extension's message bundle: `l10n/bundle.l10n.json` generated from the source with
 * @vscode/l10n-dev, and the translations (`l10n/bundle.l10n.<lang>.json`,
 * `package.nls.<lang>.json`) checked against it.
 *
 *   npm run l10n            regenerate l10n/bundle.l10n.json, then check every translation
 *   npm run l10n -- --check only check (fails when the bundle is out of date)
 *
 * Why not `l10n-dev export ./src` alone: it only sees `vscode.l10n.t('…')` calls in files that
 * import `vscode`. The pure modules of src/features (tree nodes, report converters, hovers) take
 * the translate function as a parameter named `t` (`vscode.l10n.t` in the extension, English in
 * unit tests), so that they run without VS Code. Here every call `t('…')` is shown to l10n-dev
 * as `vscode.l10n.t('…')` (found with the TypeScript parser, not by text search), so the same
 * extractor reads both kinds of call.
 */
const fs = require('node:fs');
const path = require('node:path');

/** The repository root: the nearest directory above `from` whose package.json is ours. */
function findRoot(from = __dirname) {
  let dir = from;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, 'utf8')).name === 'kube-net-inspector') {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`no kube-net-inspector package.json above ${from}`);
    }
    dir = parent;
  }
}

function sourceFiles(dir) {
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      files.push(...sourceFiles(child));
    } else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      files.push(child);
    }
  }
  return files;
}

/** True for a string literal or a template without substitutions: what l10n-dev can read. */
function isLiteral(ts, node) {
  return node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node));
}

/** `vscode.l10n.t` / `l10n.t` as a callee. */
function isL10nT(ts, expression) {
  return (
    ts.isPropertyAccessExpression(expression) &&
    expression.name.text === 't' &&
    ((ts.isIdentifier(expression.expression) && expression.expression.text === 'l10n') ||
      (ts.isPropertyAccessExpression(expression.expression) && expression.expression.name.text === 'l10n'))
  );
}

/**
 * One source file as l10n-dev should see it: each `t(…)` call written as `vscode.l10n.t(…)`
 * and an `import * as vscode` at the top. Also returns the translate calls whose message is
 * not a literal (l10n-dev cannot read those; only the wrappers that forward a message may do it).
 */
function prepareSource(ts, file, text) {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const calleeStarts = [];
  const problems = [];
  const visit = (node) => {
    if (ts.isCallExpression(node)) {
      const bare = ts.isIdentifier(node.expression) && node.expression.text === 't';
      if (bare) {
        calleeStarts.push(node.expression.getStart(source));
      }
      if ((bare || isL10nT(ts, node.expression)) && !isLiteral(ts, node.arguments[0])) {
        const forwarded = node.arguments[0] !== undefined && ts.isIdentifier(node.arguments[0]) && node.arguments[0].text === 'message';
        if (!forwarded) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
          problems.push(`${file}:${line + 1}: the message of ${node.expression.getText(source)}(…) is not a string literal, so it cannot be translated`);
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  let rewritten = text;
  for (const start of calleeStarts.sort((a, b) => b - a)) {
    rewritten = `${rewritten.slice(0, start)}vscode.l10n.t${rewritten.slice(start + 1)}`;
  }
  return { contents: `import * as vscode from 'vscode';\n${rewritten}`, problems };
}

/**
 * Every message of the source, as l10n-dev exports it (`{ message: message }` in the order of
 * the files), and the calls it cannot read.
 * @returns {Promise<{ messages: Record<string, string>, problems: string[] }>}
 */
async function extractMessages(root = findRoot()) {
  const ts = require(require.resolve('typescript', { paths: [root] }));
  const { getL10nJson } = require(require.resolve('@vscode/l10n-dev', { paths: [root] }));
  const files = sourceFiles(path.join(root, 'src'));
  const scripts = [];
  const problems = [];
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    if (!/\bt\(/.test(text)) {
      continue;
    }
    const prepared = prepareSource(ts, path.relative(root, file), text);
    problems.push(...prepared.problems);
    scripts.push({ contents: prepared.contents, extension: '.ts' });
  }
  const bundle = await getL10nJson(scripts);
  const messages = {};
  for (const [key, value] of Object.entries(bundle)) {
    if (typeof value !== 'string') {
      problems.push(`message with a comment is not supported here: ${JSON.stringify(key)}`);
      continue;
    }
    messages[key] = value;
  }
  return { messages, problems };
}

/** The `{0}`-style placeholders of a message, as a sorted set. */
function placeholders(message) {
  return [...new Set(message.match(/\{\d+\}/g) ?? [])].sort();
}

/** Command and web links of a Markdown string (welcome content), which a translation must keep. */
function links(message) {
  return [...(message.match(/\]\(([^)\s]+)\)/g) ?? [])].map((link) => link.slice(2, -1)).sort();
}

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The languages that have a translation: `bundle.l10n.<lang>.json` or `package.nls.<lang>.json`. */
function translatedLanguages(root = findRoot()) {
  const languages = new Set();
  for (const name of fs.existsSync(path.join(root, 'l10n')) ? fs.readdirSync(path.join(root, 'l10n')) : []) {
    const match = /^bundle\.l10n\.([\w-]+)\.json$/.exec(name);
    if (match) {
      languages.add(match[1]);
    }
  }
  for (const name of fs.readdirSync(root)) {
    const match = /^package\.nls\.([\w-]+)\.json$/.exec(name);
    if (match) {
      languages.add(match[1]);
    }
  }
  return [...languages].sort();
}

/**
 * Compares a translation with its English source: every key translated (a non-empty string),
 * no key the source does not have, the same placeholders and the same links.
 * @returns {string[]} the problems, one line each
 */
function compareTranslation(english, translated, label) {
  const problems = [];
  for (const [key, source] of Object.entries(english)) {
    const value = translated[key];
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${label}: no translation of ${JSON.stringify(key)}`);
      continue;
    }
    const expected = placeholders(source).join(' ');
    const actual = placeholders(value).join(' ');
    if (expected !== actual) {
      problems.push(`${label}: ${JSON.stringify(key)} has placeholders [${expected}] but its translation has [${actual}]`);
    }
    if (links(source).join(' ') !== links(value).join(' ')) {
      problems.push(`${label}: ${JSON.stringify(key)} links to [${links(source).join(' ')}] but its translation to [${links(value).join(' ')}]`);
    }
  }
  for (const key of Object.keys(translated)) {
    if (!(key in english)) {
      problems.push(`${label}: ${JSON.stringify(key)} is not a message of the source (any more)`);
    }
  }
  return problems;
}

/**
 * Checks the whole localization: the bundle is what the source gives, and each language has
 * every message of the bundle and of package.nls.json.
 * @returns {Promise<{ messages: Record<string, string>, problems: string[] }>}
 */
async function checkLocalization(root = findRoot()) {
  const { messages, problems } = await extractMessages(root);
  const bundleFile = path.join(root, 'l10n', 'bundle.l10n.json');
  const bundle = fs.existsSync(bundleFile) ? readJson(bundleFile) : {};
  const stale = Object.keys(messages).length !== Object.keys(bundle).length || Object.keys(messages).some((key) => bundle[key] !== messages[key]);
  if (stale) {
    problems.push('l10n/bundle.l10n.json is not what the source gives: run npm run l10n');
  }
  const nls = readJson(path.join(root, 'package.nls.json'));
  for (const language of translatedLanguages(root)) {
    const translatedBundle = path.join(root, 'l10n', `bundle.l10n.${language}.json`);
    const translatedNls = path.join(root, `package.nls.${language}.json`);
    problems.push(...compareTranslation(messages, fs.existsSync(translatedBundle) ? readJson(translatedBundle) : {}, `l10n/bundle.l10n.${language}.json`));
    problems.push(...compareTranslation(nls, fs.existsSync(translatedNls) ? readJson(translatedNls) : {}, `package.nls.${language}.json`));
  }
  return { messages, problems };
}

async function main() {
  const root = findRoot();
  const checkOnly = process.argv.includes('--check');
  if (!checkOnly) {
    const { messages } = await extractMessages(root);
    fs.mkdirSync(path.join(root, 'l10n'), { recursive: true });
    fs.writeFileSync(path.join(root, 'l10n', 'bundle.l10n.json'), `${JSON.stringify(messages, null, 2)}\n`);
    process.stdout.write(`l10n/bundle.l10n.json: ${Object.keys(messages).length} messages\n`);
  }
  const { messages, problems } = await checkLocalization(root);
  for (const problem of problems) {
    process.stderr.write(`${problem}\n`);
  }
  process.stdout.write(`${Object.keys(messages).length} messages, languages: ${translatedLanguages(root).join(', ') || 'none'}; ${problems.length} problem(s)\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}

module.exports = { extractMessages, checkLocalization, compareTranslation, translatedLanguages, placeholders, links, findRoot };

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}

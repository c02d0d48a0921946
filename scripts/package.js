#!/usr/bin/env node
'use strict';
/**
 * `npm run package` (after `npm run build`): the .vsix, made by @vscode/vsce through the same
 * function the end-to-end tests install from (scripts/codeServer.js packageExtension), written to
 * `<name>-<version>.vsix` at the repository root. Prints vsce's output and the sizes; fails
 * when vsce warns about anything, so a package with warnings is never produced quietly.
 *
 * Usage: `node scripts/package.js [--out FILE]`.
 */
const fs = require('node:fs');
const path = require('node:path');
const { packageExtension } = require('./codeServer');

const root = path.join(__dirname, '..');

function kib(bytes) {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

function main() {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const outIndex = process.argv.indexOf('--out');
  const outFile = path.resolve(outIndex > 0 && process.argv[outIndex + 1] ? process.argv[outIndex + 1] : path.join(root, `${manifest.name}-${manifest.version}.vsix`));
  const result = packageExtension(root, outFile);
  if (result.tool !== 'vsce') {
    throw new Error('@vscode/vsce is missing: run npm install (npm run package only packages with vsce)');
  }
  process.stdout.write(result.output.endsWith('\n') ? result.output : `${result.output}\n`);
  const bundles = fs
    .readdirSync(path.join(root, 'dist'))
    .filter((name) => name.endsWith('.js'))
    .map((name) => `dist/${name} ${kib(fs.statSync(path.join(root, 'dist', name)).size)}`);
  process.stdout.write(`Size: ${path.basename(outFile)} ${kib(fs.statSync(outFile).size)}; ${bundles.join(', ')}\n`);
  if (result.warnings.length > 0) {
    throw new Error(`vsce warned (${result.warnings.length}); fix these before shipping:\n  ${result.warnings.join('\n  ')}`);
  }
}

try {
  main();
} catch (error) {
  process.stderr.write(`[package] ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

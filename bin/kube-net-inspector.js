#!/usr/bin/env node
'use strict';
// Entry of `kube-net-inspector` and of the kubectl plugin `kubectl-netinspect`.
// It runs the compiled CLI: from the bundle when there is one, else from the TypeScript
// output of a checkout (KNI_OUT_DIR names another output directory, e.g. for tests).
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const candidates = [];
if (process.env.KNI_OUT_DIR) {
  candidates.push(path.resolve(root, process.env.KNI_OUT_DIR, 'src', 'cli', 'main.js'));
}
candidates.push(path.join(root, 'dist', 'cli.js'), path.join(root, 'out', 'src', 'cli', 'main.js'));

const entry = candidates.find((file) => fs.existsSync(file));
if (entry === undefined) {
  process.stderr.write(`kube-net-inspector: not built yet (looked for ${candidates.join(', ')}); run "npm run build:tsc" first.\n`);
  process.exit(1);
}
require(entry).runCli();

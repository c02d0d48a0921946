// @ts-check
'use strict';

/**
 * Two bundles:
 * - extension: the extension host side (Node), src/extension.ts -> dist/extension.js (CommonJS).
 *   @kubernetes/client-node 1.x is ESM-only; bundling it into CommonJS here is what lets the
 *   extension run on the Node of VS Code 1.90 (20.9, no require(esm)).
 *   Also the rules index worker, src/features/rules/rulesWorker.ts -> dist/rulesWorker.js.
 * - webview: the report panel front end (browser), webview-ui/src/main.ts -> dist/webview.js,
 *   and the conntrack view, webview-ui/src/conntrack.ts -> dist/conntrack.js, plus their
 *   stylesheets and the codicon font copied to dist/.
 */

const fs = require('node:fs');
const path = require('node:path');
const webpack = require('webpack');

const root = __dirname;

/**
 * Copies plain files into the output directory (no extra dependency on copy-webpack-plugin).
 * @param {Array<{ from: string, to: string }>} files paths relative to the repository root / output
 */
function copyFiles(files) {
  return {
    /** @param {import('webpack').Compiler} compiler */
    apply(compiler) {
      compiler.hooks.thisCompilation.tap('CopyFiles', (compilation) => {
        compilation.hooks.processAssets.tap(
          { name: 'CopyFiles', stage: webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
          () => {
            for (const file of files) {
              const source = path.join(root, file.from);
              compilation.fileDependencies.add(source);
              compilation.emitAsset(file.to, new webpack.sources.RawSource(fs.readFileSync(source)));
            }
          },
        );
      });
    },
  };
}

/** @type {(env: unknown, argv: { mode?: string }) => import('webpack').Configuration[]} */
module.exports = (_env, argv) => {
  const production = argv.mode !== 'development';

  /** @type {import('webpack').Configuration} */
  const extension = {
    name: 'extension',
    target: 'node20',
    mode: production ? 'production' : 'development',
    // rulesWorker: the worker thread of the rules index, loaded from beside extension.js (dist/).
    entry: { extension: './src/extension.ts', rulesWorker: './src/features/rules/rulesWorker.ts' },
    output: {
      path: path.join(root, 'dist'),
      filename: '[name].js',
      library: { type: 'commonjs2' },
      devtoolModuleFilenameTemplate: '../[resource-path]',
    },
    devtool: production ? 'hidden-source-map' : 'source-map',
    // The real __dirname of dist/ at run time, not the source file's.
    node: { __dirname: false, __filename: false },
    externals: {
      vscode: 'commonjs vscode',
      // Optional native speed-ups of ws; ws requires them inside try/catch.
      bufferutil: 'commonjs bufferutil',
      'utf-8-validate': 'commonjs utf-8-validate',
      // Optional dependency of node-fetch 2, required inside try/catch.
      encoding: 'commonjs encoding',
    },
    resolve: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      // Sources import './x.js' (nodenext style); let webpack find the .ts file.
      extensionAlias: { '.js': ['.ts', '.js'] },
      conditionNames: ['node', 'import', 'require', 'default'],
      mainFields: ['module', 'main'],
      // Code that can never run in the extension host, left out of the bundle (an empty module
      // stands in; the import still resolves):
      alias: {
        // node-fetch 2 (client-node's HTTP) takes `Url.URL || whatwgUrl.URL`: Node always has
        // URL, so the polyfill (and its 260 KB IDNA table, tr46) is never reached.
        'whatwg-url': false,
        // Only client-node's `Cp` (kubectl cp) uses tar-fs; the extension never copies files.
        'tar-fs': false,
      },
    },
    module: {
      rules: [
        {
          test: /\.ts$/,
          exclude: /node_modules/,
          use: [
            {
              loader: 'ts-loader',
              options: { transpileOnly: true, configFile: path.join(root, 'tsconfig.webpack.json') },
            },
          ],
        },
      ],
    },
    performance: { hints: false },
    infrastructureLogging: { level: 'warn' },
  };

  /** @type {import('webpack').Configuration} */
  const webview = {
    name: 'webview',
    target: ['web', 'es2022'],
    mode: production ? 'production' : 'development',
    entry: { webview: './webview-ui/src/main.ts', conntrack: './webview-ui/src/conntrack.ts' },
    output: { path: path.join(root, 'dist'), filename: '[name].js' },
    // No eval-based source maps: the webview CSP forbids eval.
    devtool: production ? false : 'inline-source-map',
    resolve: {
      extensions: ['.ts', '.js'],
      extensionAlias: { '.js': ['.ts', '.js'] },
    },
    module: {
      rules: [
        {
          test: /\.ts$/,
          exclude: /node_modules/,
          use: [
            {
              loader: 'ts-loader',
              options: { transpileOnly: true, configFile: path.join(root, 'webview-ui', 'tsconfig.json') },
            },
          ],
        },
      ],
    },
    plugins: [
      copyFiles([
        { from: 'webview-ui/src/style.css', to: 'webview.css' },
        { from: 'webview-ui/src/conntrack.css', to: 'conntrack.css' },
        { from: 'node_modules/@vscode/codicons/dist/codicon.css', to: 'codicons/codicon.css' },
        { from: 'node_modules/@vscode/codicons/dist/codicon.ttf', to: 'codicons/codicon.ttf' },
      ]),
    ],
    performance: { hints: false },
    infrastructureLogging: { level: 'warn' },
  };

  return [extension, webview];
};

/**
 * The activation figure of `npm run bench`: the extension as it ships (the .vsix, see
 * scripts/codeServer.js packageExtension) in code-server with Chromium, against the lab.
 *
 * Measured in the page, from the click on the "Kubernetes Network" activity-bar item (which
 * fires the activation event `onView:kubeNet.cluster`) to the frame after the tree's first row
 * of the cluster (a namespace read from the API) is in the page. The baseline, in the same
 * session: the click on the built-in Extensions view (opened for the first time, like ours) to
 * the frame after its first row (our extension, installed) is in the page: the same kind of
 * work for VS Code (create a view, ask a service for data, render a list). The extension's own
 * "[Timing]" log lines split our figure into VS Code's part (click → `activate()` called) and
 * ours (`activate()` → first rows handed to VS Code), which includes connecting to the cluster.
 *
 * Runs when code-server is installed (`node scripts/codeServer.js ensure`), Chromium exists and
 * the extension is built (`npm run build`); the cluster is KNI_LAB_KUBECONFIG's, or a lab of its
 * own (API only, prefix "benchlab", stopped afterwards). Otherwise it says why it is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Page } from 'playwright-core';
import { CHROMIUM_PATH, VsCodeSession, findRepoRoot, loadCodeServerModule, poll, withTimeout } from '../e2e/harness';

/** The result, or why there is none. */
export type ActivationFigure = { readonly skipped: string } | { readonly line: string };

/** Prefix of the lab this figure starts when none is given (never the default "knilab"). */
const BENCH_LAB_PREFIX = 'benchlab';
const STEP_TIMEOUT_MS = 60_000;

interface Manifest {
  readonly displayName: string;
  readonly publisher: string;
  readonly name: string;
  readonly contributes: {
    readonly viewsContainers: { readonly activitybar: ReadonlyArray<{ readonly id: string; readonly title: string }> };
    readonly views: Record<string, ReadonlyArray<{ readonly id: string; readonly name: string }>>;
  };
}

function localized(value: string, nls: Record<string, string>): string {
  const match = /^%(.+)%$/.exec(value);
  return match ? (nls[match[1]] ?? value) : value;
}

/** Names from the manifest (English), so that the figure follows the contributions. */
function manifestNames(root: string): { displayName: string; containerTitle: string; viewName: string } {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
  const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
  const container = manifest.contributes.viewsContainers.activitybar[0];
  const view = manifest.contributes.views[container.id]?.find((each) => each.id === 'kubeNet.cluster');
  if (view === undefined) {
    throw new Error('package.json has no kubeNet.cluster view');
  }
  return { displayName: localized(manifest.displayName, nls), containerTitle: localized(container.title, nls), viewName: localized(view.name, nls) };
}

/** Why the figure cannot run here, or undefined when it can. */
function missingPrerequisite(root: string): string | undefined {
  const paths = (loadCodeServerModule() as unknown as { codeServerPaths(): { marker: string } }).codeServerPaths();
  if (!fs.existsSync(paths.marker)) {
    return 'code-server is not installed (node scripts/codeServer.js ensure, or npm test, installs it)';
  }
  if (!fs.existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`;
  }
  if (!fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    return 'the extension is not built (npm run build)';
  }
  return undefined;
}

/** A lab to measure against: KNI_LAB_KUBECONFIG's, or one started here (API only). */
function startLab(root: string): { kubeconfig: string; stop: () => void; own: boolean } {
  const given = process.env.KNI_LAB_KUBECONFIG;
  if (given && fs.existsSync(given)) {
    return { kubeconfig: given, stop: () => undefined, own: false };
  }
  const cli = path.join(__dirname, '..', '..', 'lab', 'cli.js');
  const env = { ...process.env, KNI_LAB_PREFIX: BENCH_LAB_PREFIX };
  const stop = (): void => {
    spawnSync(process.execPath, [cli, 'down'], { cwd: root, env, stdio: 'ignore', timeout: 180_000 });
  };
  try {
    const output = execFileSync(process.execPath, [cli, 'up', '--null-network', '--timeout', '60'], { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 120_000 });
    const kubeconfig = output.trim().split('\n').pop() ?? '';
    if (!fs.existsSync(kubeconfig)) {
      throw new Error(`lab up printed no kubeconfig: ${output}`);
    }
    return { kubeconfig, stop, own: true };
  } catch (error) {
    stop();
    throw error;
  }
}

/**
 * Resolves, in the page, with the epoch time of the frame after a row matching `labels`
 * appears under `rowSelector` (at once when one is there already).
 */
function firstRowAt(page: Page, rowSelector: string, labels: readonly string[]): Promise<number> {
  return page.evaluate(
    ({ selector, names }) =>
      new Promise<number>((resolve) => {
        const scope = globalThis as unknown as {
          document: { body: unknown; querySelectorAll(selector: string): ArrayLike<{ textContent: string | null; querySelector(selector: string): { textContent: string | null } | null }> };
          MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void; disconnect(): void };
          requestAnimationFrame(callback: () => void): void;
          performance: { timeOrigin: number; now(): number };
        };
        const present = (): boolean =>
          Array.from(scope.document.querySelectorAll(selector)).some((row) => {
            const text = (row.querySelector('.label-name') ?? row).textContent ?? '';
            return names.some((name) => text === name || text.includes(name));
          });
        const done = (): void => scope.requestAnimationFrame(() => resolve(scope.performance.timeOrigin + scope.performance.now()));
        if (present()) {
          done();
          return;
        }
        const observer = new scope.MutationObserver(() => {
          if (present()) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(scope.document.body, { childList: true, subtree: true, characterData: true });
      }),
    { selector: rowSelector, names: [...labels] },
  );
}

/** Clicks an activity-bar item by its accessible name and returns the epoch time of the click. */
async function clickActivity(page: Page, title: string): Promise<number> {
  const item = page.locator(`.part.activitybar a.action-label[aria-label="${title}"], .part.activitybar a.action-label[aria-label^="${title} ("]`).first();
  await item.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  const box = await item.boundingBox();
  if (box === null) {
    throw new Error(`the activity-bar item "${title}" has no box`);
  }
  // One input event, measured from just before it (no actionability checks in between).
  const clickedAt = Date.now();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  return clickedAt;
}

function timingLine(log: string, pattern: RegExp): number | undefined {
  const match = pattern.exec(log);
  return match === null ? undefined : Number(match[match.length - 1]);
}

/** Measures once in a fresh code-server session. */
async function measureOnce(root: string, kubeconfig: string, namespaces: readonly string[]): Promise<{ ours: number; baseline: number; toActivate: number; toRows: number; installSeconds: number }> {
  const names = manifestNames(root);
  const session = await VsCodeSession.start({ name: 'bench-activation', kubeconfig });
  try {
    const page = session.page;
    // Let start-up finish (the eager built-in extensions) before anything is measured: our
    // container is in the activity bar once the extension's contributions are loaded.
    await page.locator(`.part.activitybar a.action-label[aria-label^="${names.containerTitle}"]`).first().waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await page.waitForTimeout(1500);

    const extensionsRow = firstRowAt(page, '.extensions-viewlet .monaco-list-row', [names.displayName]);
    const extensionsClick = await clickActivity(page, 'Extensions');
    const baseline = (await withTimeout(extensionsRow, STEP_TIMEOUT_MS, 'the Extensions view to list the extension')) - extensionsClick;
    await page.waitForTimeout(500);

    const treeRow = firstRowAt(page, `.monaco-list[role="tree"][aria-label="${names.viewName}"] .monaco-list-row`, namespaces);
    const ourClick = await clickActivity(page, names.containerTitle);
    const ours = (await withTimeout(treeRow, STEP_TIMEOUT_MS, `the ${names.viewName} view to show a namespace of the cluster`)) - ourClick;

    // The extension's own timestamps (its log reaches the file a moment later).
    const timings = await poll(
      async () => {
        const log = session.extensionLog();
        const activated = timingLine(log, /\[Timing\] activate started at ([\d.]+)/);
        const rows = timingLine(log, /\[Timing\] tree: first (\d+) rows of the loaded cluster at ([\d.]+)/);
        return activated !== undefined && rows !== undefined ? { activated, rows } : undefined;
      },
      15_000,
      'the extension\'s "[Timing]" log lines',
    );
    return {
      ours,
      baseline,
      toActivate: timings.activated - ourClick,
      toRows: timings.rows - timings.activated,
      installSeconds: session.timings.installSeconds,
    };
  } finally {
    await session.dispose();
  }
}

/** The activation figure, measured in `runs` fresh sessions (median), or why it was skipped. */
export async function measureActivation(runs = 3): Promise<ActivationFigure> {
  const root = findRepoRoot();
  const missing = missingPrerequisite(root);
  if (missing !== undefined) {
    return { skipped: missing };
  }
  let lab: ReturnType<typeof startLab>;
  try {
    lab = startLab(root);
  } catch (error) {
    return { skipped: `no lab to measure against (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); set KNI_LAB_KUBECONFIG or check npm run lab -- up` };
  }
  const onSignal = (): void => {
    lab.stop();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    const kc = new KubeConfig();
    kc.loadFromFile(lab.kubeconfig);
    const api = kc.makeApiClient(CoreV1Api);
    const namespaces = (await api.listNamespace()).items.map((namespace) => namespace.metadata?.name ?? '').filter((name) => name !== '');
    const results = [];
    for (let run = 0; run < runs; run++) {
      results.push(await measureOnce(root, lab.kubeconfig, namespaces));
    }
    const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
    // The ratio of each session (both measured under the same load), then the median.
    const ratio = median(results.map((result) => result.ours / result.baseline));
    const ours = median(results.map((result) => result.ours));
    const baseline = median(results.map((result) => result.baseline));
    const toActivate = median(results.map((result) => result.toActivate));
    const toRows = median(results.map((result) => result.toRows));
    const size = fs.statSync(path.join(root, 'dist', 'extension.js')).size;
    return {
      line:
        `activation in code-server, click to the tree's first cluster row [${lab.own ? `lab ${BENCH_LAB_PREFIX} (API only)` : 'KNI_LAB_KUBECONFIG'}, ${namespaces.length} namespaces, ` +
        `dist/extension.js ${Math.round(size / 1024)} KiB, median of ${runs} sessions]: ${ratio.toFixed(2)}x baseline ` +
        `(${ours.toFixed(0)} ms vs ${baseline.toFixed(0)} ms for the Extensions view's first row; ` +
        `click → activate() ${toActivate.toFixed(0)} ms, activate() → first rows ${toRows.toFixed(0)} ms)`,
    };
  } finally {
    process.removeListener('SIGINT', onSignal);
    lab.stop();
  }
}

/**
 * End-to-end harness: the extension installed into a real VS Code (code-server, from
 * scripts/codeServer.js) and driven in a real Chromium (Debian's, through playwright-core).
 *
 * Each session gets a fresh code-server profile, extensions directory and Chromium profile in
 * one temp directory; {@link VsCodeSession.dispose} closes the browser, ends code-server with
 * everything it started and removes the directory, on every path. Every wait is bounded, so a
 * hang becomes a failure that says what it was waiting for.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, ConsoleMessage, Locator, Page } from 'playwright-core';

/** Debian's Chromium; KNI_CHROMIUM overrides it. */
export const CHROMIUM_PATH = process.env.KNI_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep Chromium headless, quiet and off the network apart from the page itself. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-domain-reliability',
  '--no-pings',
  // Resolve no host name at all: the page is on 127.0.0.1, and Chromium would otherwise look up
  // Google's hosts (accounts.google.com) at start even with background networking disabled.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/** How long VS Code may take to show its workbench. */
const WORKBENCH_TIMEOUT_MS = 90_000;
/** Default bound of the UI waits (a view appearing, a row expanding). */
const UI_TIMEOUT_MS = 30_000;

/** What scripts/codeServer.js exports (plain JavaScript, loaded at run time). */
interface CodeServerHandle {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly stateDir: string;
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspace: string;
  readonly logFile: string;
  readonly installSeconds: number;
  /** How the extension was packaged: `tool` is "vsce" (as `npm run package`) or the fallback; vsce's warnings. */
  readonly extension: { id: string; version: string; tool: string; warnings?: readonly string[] } | null;
  readonly listenSeconds: number;
  hasExited(): boolean;
  stop(): Promise<void>;
  stopNow(): void;
}

interface CodeServerModule {
  ensureCodeServer(): { installed: boolean; seconds: number; versionLine: string };
  startCodeServer(options: {
    extensionRoot?: string;
    extraExtensionRoots?: readonly string[];
    locale?: string;
    kubeconfig?: string;
    workspace?: string;
    settings?: Record<string, unknown>;
    env?: Record<string, string>;
    idleTimeoutSeconds?: number;
  }): Promise<CodeServerHandle>;
}

/** The repository root: the nearest directory above this file whose package.json is ours. */
export function findRepoRoot(from: string = __dirname): string {
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

/** Where screenshots and logs of the end-to-end tests go (git-ignored). */
export function artifactsDir(): string {
  return path.join(findRepoRoot(), 'test-artifacts');
}

/** scripts/codeServer.js of this checkout. */
export function loadCodeServerModule(): CodeServerModule {
  return require(path.join(findRepoRoot(), 'scripts', 'codeServer.js')) as CodeServerModule;
}

/**
 * The little of the DOM the page functions below use. The project compiles without the DOM
 * library (it is Node code), and these functions run in the page, not here.
 */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  readonly textContent: string | null;
  readonly innerText: string;
}
interface PageGlobals {
  readonly document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): ArrayLike<PageElement> };
  getComputedStyle(element: PageElement, pseudo?: string): { readonly backgroundColor: string };
}

/** A row of a tree view as VS Code renders it. */
export interface TreeRow {
  /** Position in the flattened tree (VS Code's `data-index`). */
  readonly index: number;
  /** Depth, 1 for top-level items. */
  readonly level: number;
  readonly label: string;
  readonly description: string;
  /** The row's accessible name (label plus description unless the item overrides it). */
  readonly ariaLabel: string;
  /** true/false for collapsible rows, undefined for leaves. */
  readonly expanded: boolean | undefined;
}

export interface SessionOptions {
  /** Names the artifacts of this session (screenshots, logs). */
  readonly name: string;
  /** KUBECONFIG of the extension host. */
  readonly kubeconfig?: string;
  /**
   * The extension to install; the repository root (its built dist/) by default. It is packaged
   * with vsce exactly as `npm run package` does (scripts/codeServer.js packageExtension), so the
   * tests run what ships.
   */
  readonly extensionRoot?: string;
  /** Directories of further extensions to install next to it (test fixtures, packaged whole). */
  readonly extraExtensionRoots?: readonly string[];
  /**
   * VS Code's display language (`--locale`, e.g. `ru`); it takes effect once a language pack
   * for it is installed (see test/e2e/russian.test.ts).
   */
  readonly locale?: string;
  readonly settings?: Record<string, unknown>;
}

/** Timings of a session start, in seconds. */
export interface SessionTimings {
  /** Packaging the VSIX and `code-server --install-extension`. */
  readonly installSeconds: number;
  /** code-server start until it listens. */
  readonly listenSeconds: number;
  /** Page navigation until the workbench (activity bar) is visible. */
  readonly firstPaintSeconds: number;
}

/** Rejects with a message naming `what` when `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A CSS attribute value in double quotes. */
function cssString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Calls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function poll<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string, explain?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      const detail = explain ? `\n${await explain().catch((error: unknown) => String(error))}` : '';
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${detail}`);
    }
    await delay(250);
  }
}

/** Matches a row's label: a string exactly, a RegExp by test. */
export type LabelMatcher = string | RegExp;

function matches(row: TreeRow, matcher: LabelMatcher): boolean {
  return typeof matcher === 'string' ? row.label === matcher : matcher.test(row.label);
}

function describeMatcher(matcher: LabelMatcher): string {
  return typeof matcher === 'string' ? JSON.stringify(matcher) : String(matcher);
}

/** Renders rows for an assertion message. */
export function formatRows(rows: readonly TreeRow[]): string {
  if (rows.length === 0) {
    return '  (no rows)';
  }
  return rows.map((row) => `  ${'  '.repeat(Math.max(0, row.level - 1))}${row.expanded === undefined ? ' ' : row.expanded ? 'v' : '>'} ${row.label}  ${row.description}`).join('\n');
}

/** Cleanups of what started sessions own (browser, code-server); a signal runs them all. */
const liveCleanups = new Set<() => Promise<void>>();
/** code-servers not stopped yet; the process 'exit' hook SIGKILLs them. */
const liveServers = new Set<CodeServerHandle>();
let signalHandlersInstalled = false;

/**
 * On Ctrl-C or SIGTERM the test process would die with code-server still running in its own
 * process group: end every live session first (also one still starting), then exit with the
 * signal's exit code. The test runner may itself call process.exit() on a signal (and a parent
 * runner that went away closes our stdout), so the 'exit' hook kills what is left, synchronously.
 */
function installSignalHandlers(): void {
  if (signalHandlersInstalled) {
    return;
  }
  signalHandlersInstalled = true;
  process.on('exit', () => {
    for (const server of liveServers) {
      server.stopNow();
    }
  });
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', () => undefined);
  }
  let ending = false;
  const codes = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Ctrl-C reaches the test runner and this process together, and the runner then sends
    // SIGTERM too: only the first signal starts the teardown, the others wait for it.
    process.on(signal, () => {
      if (ending) {
        return;
      }
      ending = true;
      process.stderr.write(`[e2e] ${signal}: stopping ${liveCleanups.size} code-server session(s)\n`);
      const cleanups = [...liveCleanups];
      void withTimeout(Promise.allSettled(cleanups.map((cleanup) => cleanup())), 40_000, 'sessions to end')
        .catch(() => undefined)
        .finally(() => process.exit(codes[signal]));
    });
  }
}

/** One code-server with the extension installed, and one Chromium page showing it. */
export class VsCodeSession {
  private disposing: Promise<void> | undefined;
  /** {@link dispose}, bound, as registered for signals. */
  private readonly disposer = (): Promise<void> => this.dispose();

  private constructor(
    readonly name: string,
    readonly server: CodeServerHandle,
    private readonly context: BrowserContext,
    readonly page: Page,
    readonly extensionId: string,
    readonly timings: SessionTimings,
    /** The page's console messages and uncaught errors, for the failure logs. */
    private readonly consoleLines: string[],
  ) {}

  /**
   * Packages and installs the extension, starts code-server and Chromium, opens the workspace
   * and waits for the workbench. Cleans up whatever it started when any step fails.
   */
  static async start(options: SessionOptions): Promise<VsCodeSession> {
    installSignalHandlers();
    const codeServer = loadCodeServerModule();
    codeServer.ensureCodeServer();
    const extensionRoot = options.extensionRoot ?? findRepoRoot();
    let server: CodeServerHandle | undefined;
    let context: BrowserContext | undefined;
    let cleaning: Promise<void> | undefined;
    const startCleanup = (): Promise<void> => {
      cleaning ??= (async () => {
        if (context && server) {
          const profile = path.join(server.stateDir, 'chromium-profile');
          await withTimeout(context.close(), 15_000, 'Chromium to close').catch(() => killProcessesMentioning(profile));
        }
        if (server) {
          await server.stop();
          liveServers.delete(server);
        }
      })();
      return cleaning;
    };
    liveCleanups.add(startCleanup);
    try {
      server = await withTimeout(
        codeServer.startCodeServer({
          extensionRoot,
          extraExtensionRoots: options.extraExtensionRoots,
          locale: options.locale,
          kubeconfig: options.kubeconfig,
          settings: options.settings,
          // A safety net: a server orphaned by a killed test runner ends by itself.
          idleTimeoutSeconds: 900,
        }),
        // Above startCodeServer's own bounds (install 120 s, listen 60 s), which fail first.
        240_000,
        'code-server to install the extension and start',
      );
      liveServers.add(server);
      // Chromium writes crash reports, caches and dconf state under XDG_CONFIG_HOME and
      // XDG_CACHE_HOME whatever its profile directory is: keep them in the session too.
      const chromiumHome = path.join(server.stateDir, 'chromium-xdg');
      context = await withTimeout(
        chromium.launchPersistentContext(path.join(server.stateDir, 'chromium-profile'), {
          executablePath: CHROMIUM_PATH,
          headless: true,
          args: CHROMIUM_ARGS,
          env: { ...process.env, XDG_CONFIG_HOME: path.join(chromiumHome, 'config'), XDG_CACHE_HOME: path.join(chromiumHome, 'cache') },
          // Playwright's launch protocol option (not in its typings): its scratch directory in
          // the session too, instead of a playwright-artifacts-* left in /tmp by a killed run.
          ...({ artifactsDir: path.join(server.stateDir, 'playwright-artifacts') } as object),
          viewport: { width: 1280, height: 800 },
        }),
        60_000,
        `Chromium (${CHROMIUM_PATH}) to start`,
      );
      const page = context.pages()[0] ?? (await context.newPage());
      const consoleLines: string[] = [];
      page.on('console', (message: ConsoleMessage) => consoleLines.push(`[${message.type()}] ${message.text()}`));
      page.on('pageerror', (error: Error) => consoleLines.push(`[pageerror] ${error.message}`));
      const navigationStart = Date.now();
      await page.goto(server.url, { timeout: WORKBENCH_TIMEOUT_MS });
      await page.locator('.monaco-workbench .part.activitybar').waitFor({ state: 'visible', timeout: WORKBENCH_TIMEOUT_MS });
      const timings: SessionTimings = {
        installSeconds: server.installSeconds,
        listenSeconds: server.listenSeconds,
        firstPaintSeconds: (Date.now() - navigationStart) / 1000,
      };
      const session = new VsCodeSession(options.name, server, context, page, server.extension?.id ?? '', timings, consoleLines);
      liveCleanups.delete(startCleanup);
      liveCleanups.add(session.disposer);
      return session;
    } catch (error) {
      liveCleanups.delete(startCleanup);
      if (server) {
        await VsCodeSession.saveServerLog(server, options.name);
      }
      await startCleanup();
      throw error;
    }
  }

  private static async saveServerLog(server: CodeServerHandle, name: string): Promise<void> {
    const target = path.join(artifactsDir(), `${name}-logs`);
    fs.mkdirSync(target, { recursive: true });
    if (fs.existsSync(server.logFile)) {
      fs.copyFileSync(server.logFile, path.join(target, 'code-server.log'));
    }
  }

  /**
   * Shows a view container of the activity bar by its title (e.g. "Kubernetes Network"),
   * waiting for it to be contributed; does nothing when it is already showing.
   */
  async openView(containerTitle: string): Promise<void> {
    const action = this.page.locator(`.part.activitybar a.action-label[aria-label=${cssString(containerTitle)}], .part.activitybar a.action-label[aria-label^=${cssString(`${containerTitle} (`)}]`).first();
    await action.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const tab = action.locator('xpath=..');
    if ((await tab.getAttribute('aria-selected')) !== 'true') {
      await action.click();
    }
    await poll(async () => ((await tab.getAttribute('aria-selected')) === 'true' ? true : undefined), UI_TIMEOUT_MS, `the "${containerTitle}" view container to open`);
  }

  /** The tree of a view, found by the view's name (its accessible name). */
  private treeSelector(viewName: string): string {
    return `.monaco-list[role="tree"][aria-label=${cssString(viewName)}]`;
  }

  /**
   * The rows the tree view named `viewName` currently renders, in order. Trees are virtual:
   * only rows within the visible area are in the page.
   */
  async treeItems(viewName: string): Promise<TreeRow[]> {
    return this.page.evaluate((selector: string) => {
      const { document } = globalThis as unknown as PageGlobals;
      const tree = document.querySelector(selector);
      if (!tree) {
        return [];
      }
      const rows = Array.from(tree.querySelectorAll('.monaco-list-row[role="treeitem"]'));
      return rows
        .map((row) => {
          const expanded = row.getAttribute('aria-expanded');
          return {
            index: Number(row.getAttribute('data-index')),
            level: Number(row.getAttribute('aria-level')),
            label: row.querySelector('.label-name')?.textContent ?? '',
            description: row.querySelector('.label-description')?.textContent ?? '',
            ariaLabel: row.getAttribute('aria-label') ?? '',
            expanded: expanded === null ? undefined : expanded === 'true',
          };
        })
        .sort((a, b) => a.index - b.index);
    }, this.treeSelector(viewName));
  }

  /** The message a tree view shows instead of (or above) its rows, e.g. a welcome text. */
  async viewMessage(viewName: string): Promise<string> {
    return this.page.evaluate((name: string) => {
      const { document } = globalThis as unknown as PageGlobals;
      const texts: string[] = [];
      for (const pane of Array.from(document.querySelectorAll('.part.sidebar .pane'))) {
        const title = pane.querySelector('.pane-header h3.title')?.textContent ?? '';
        const tree = pane.querySelector('.monaco-list[role="tree"]');
        if (title !== name && tree?.getAttribute('aria-label') !== name) {
          continue;
        }
        for (const element of Array.from(pane.querySelectorAll('.message:not(.hide), .welcome-view-content'))) {
          const text = element.innerText.trim();
          if (text) {
            texts.push(text);
          }
        }
      }
      return texts.join('\n');
    }, viewName);
  }

  /** Rows under the row at `parent` (its subtree, as far as rendered). */
  static childrenOf(rows: readonly TreeRow[], parent: TreeRow): TreeRow[] {
    const start = rows.findIndex((row) => row.index === parent.index);
    const children: TreeRow[] = [];
    for (const row of rows.slice(start + 1)) {
      if (row.level <= parent.level) {
        break;
      }
      children.push(row);
    }
    return children;
  }

  /**
   * Finds the row reached by following `labels` down the tree (each one matched among the
   * descendants of the previous row), or undefined when not rendered.
   */
  static findPath(rows: readonly TreeRow[], labels: readonly LabelMatcher[]): TreeRow | undefined {
    let scope: readonly TreeRow[] = rows;
    let found: TreeRow | undefined;
    for (const label of labels) {
      found = scope.find((row) => matches(row, label));
      if (!found) {
        return undefined;
      }
      scope = VsCodeSession.childrenOf(rows, found);
    }
    return found;
  }

  /**
   * Expands, one after the other, the rows along `labels` (e.g. ["lab-apps", /^Pods\b/]) in the
   * view `viewName`, waiting for each to appear and to show its children (pass
   * `waitForChildren: false` for a row that may legitimately be empty).
   */
  async expand(viewName: string, labels: readonly LabelMatcher[], options: { waitForChildren: boolean } = { waitForChildren: true }): Promise<TreeRow> {
    let row: TreeRow | undefined;
    for (let depth = 1; depth <= labels.length; depth += 1) {
      const prefix = labels.slice(0, depth);
      const what = `row ${prefix.map(describeMatcher).join(' > ')} in view "${viewName}"`;
      row = await poll(async () => VsCodeSession.findPath(await this.treeItems(viewName), prefix), UI_TIMEOUT_MS, what, () => this.describeView(viewName));
      if (row.expanded === undefined) {
        throw new Error(`${what} cannot be expanded (it is a leaf)\n${await this.describeView(viewName)}`);
      }
      if (!row.expanded) {
        await this.page.locator(`${this.treeSelector(viewName)} .monaco-list-row[data-index="${row.index}"] .monaco-tl-twistie`).click({ timeout: UI_TIMEOUT_MS });
      }
      // Expanded, and its children rendered (they load asynchronously after the twistie turns).
      row = await poll(
        async () => {
          const rows = await this.treeItems(viewName);
          const found = VsCodeSession.findPath(rows, prefix);
          const ready = found?.expanded && (!options.waitForChildren || VsCodeSession.childrenOf(rows, found).length > 0);
          return ready ? found : undefined;
        },
        UI_TIMEOUT_MS,
        `${what} to expand${options.waitForChildren ? ' and show its children' : ''}`,
        () => this.describeView(viewName),
      );
    }
    if (!row) {
      throw new Error('expand() needs at least one label');
    }
    return row;
  }

  /**
   * Polls the view until `predicate` holds for its rows; fails after `timeoutMs` with the rows
   * and any view message in the error.
   */
  async waitForRows(viewName: string, predicate: (rows: TreeRow[]) => boolean, what: string, timeoutMs: number = UI_TIMEOUT_MS): Promise<TreeRow[]> {
    return poll(
      async () => {
        const rows = await this.treeItems(viewName);
        return predicate(rows) ? rows : undefined;
      },
      timeoutMs,
      what,
      () => this.describeView(viewName),
    );
  }

  /** The view's rows and message, for failure messages. */
  async describeView(viewName: string): Promise<string> {
    const rows = await this.treeItems(viewName);
    const message = await this.viewMessage(viewName);
    return `view "${viewName}" shows:\n${formatRows(rows)}${message ? `\n  message: ${message}` : ''}`;
  }

  /** Runs a command by its title as the Command Palette lists it (e.g. "Kubernetes Network: Refresh"). */
  async runCommand(title: string): Promise<void> {
    // Something taking the focus (an editor that just opened) closes the palette; then the
    // command did not run, and it is asked for again.
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      if (await this.tryRunCommand(title)) {
        return;
      }
    }
    throw new Error(`the Command Palette closed three times before "${title}" could be chosen`);
  }

  /** One attempt of {@link runCommand}: false when the palette closed before the command ran. */
  private async tryRunCommand(title: string): Promise<boolean> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    try {
      await input.fill(`>${title}`, { timeout: 5_000 });
    } catch (error) {
      // A palette closing as it opened stays in the page for a moment, inert.
      if (!(await this.paletteUsable(input))) {
        await this.page.keyboard.press('Escape');
        return false;
      }
      throw error;
    }
    const rows = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
    let attempt = 0;
    const index = await poll(
      async () => {
        if (!(await this.paletteUsable(input))) {
          return -1;
        }
        const labels = await rows.evaluateAll((elements) => elements.map((element) => element.querySelector('.label-name')?.textContent ?? ''));
        const found = labels.indexOf(title);
        if (found < 0 && ++attempt % 4 === 0) {
          // The palette lists the commands known when the text was typed; an extension's
          // contributions may arrive later (just after start-up): type it again.
          await input.fill('>');
          await input.fill(`>${title}`);
        }
        return found >= 0 ? found : undefined;
      },
      UI_TIMEOUT_MS,
      `command "${title}" in the Command Palette`,
      async () => `palette lists: ${(await rows.evaluateAll((elements) => elements.map((element) => element.querySelector('.label-name')?.textContent ?? ''))).join(' | ')}`,
    );
    if (index < 0) {
      return false;
    }
    try {
      await rows.nth(index).click({ timeout: 5_000 });
    } catch (error) {
      if (!(await this.paletteUsable(input))) {
        return false;
      }
      throw error;
    }
    await input.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
    return true;
  }

  /** Whether the quick input can take input: shown, and not inert (closing, or under a modal). */
  private async paletteUsable(input: Locator): Promise<boolean> {
    if (!(await input.isVisible().catch(() => false))) {
      return false;
    }
    return input
      .evaluate((element) => (element as unknown as { closest(selector: string): unknown }).closest('[inert]') === null)
      .catch(() => false);
  }

  /**
   * Drags the sash between the side bar and the editor so the side bar is `width` pixels wide
   * (long descriptions are not cut off in screenshots).
   */
  async resizeSidebar(width: number): Promise<void> {
    const box = await this.page.locator('.part.sidebar').boundingBox();
    if (!box) {
      throw new Error('the side bar is not visible');
    }
    const y = box.y + box.height / 2;
    await this.page.mouse.move(box.x + box.width + 2, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + width, y, { steps: 8 });
    await this.page.mouse.up();
    // Off the sash, or the screenshot shows it highlighted.
    const viewport = this.page.viewportSize();
    await this.page.mouse.move((viewport?.width ?? 1280) - 10, (viewport?.height ?? 800) / 2);
    const highlighted = (): Promise<boolean> =>
      this.page.evaluate(() => {
        const { document, getComputedStyle } = globalThis as unknown as PageGlobals;
        return Array.from(document.querySelectorAll('.monaco-sash')).some((sash) => !/^(transparent|rgba\(0, 0, 0, 0\))$/.test(getComputedStyle(sash, '::before').backgroundColor));
      });
    await poll(async () => ((await highlighted()) ? undefined : true), 5_000, 'the sash highlight to fade');
  }

  /** Saves a screenshot of the page to test-artifacts/<name>.png and returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(artifactsDir(), `${name}.png`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await withTimeout(this.page.screenshot({ path: file }), 30_000, `screenshot ${name}`);
    return file;
  }

  /** The log files VS Code wrote for this session (server, extension host, output channels). */
  private logFiles(): string[] {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const child = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          walk(child);
        } else if (entry.isFile() && entry.name.endsWith('.log')) {
          files.push(child);
        }
      }
    };
    const logsDir = path.join(this.server.userDataDir, 'logs');
    if (fs.existsSync(logsDir)) {
      walk(logsDir);
    }
    return files;
  }

  /**
   * The extension's own log channels and the extension host log, concatenated (for failure
   * messages).
   */
  extensionLog(): string {
    const parts: string[] = [];
    for (const file of this.logFiles()) {
      const name = path.relative(this.server.userDataDir, file);
      if (file.includes(`${path.sep}${this.extensionId}${path.sep}`) || /output_logging_/.test(file)) {
        parts.push(`==> ${name}\n${fs.readFileSync(file, 'utf8')}`);
      } else if (/exthost\.log$/.test(file)) {
        const errors = fs.readFileSync(file, 'utf8').split('\n').filter((line) => /\[(error|warning)\]/.test(line));
        if (errors.length > 0) {
          parts.push(`==> ${name} (errors and warnings)\n${errors.join('\n')}`);
        }
      }
    }
    return parts.join('\n');
  }

  /**
   * Copies code-server's log, every VS Code log (extension host, our output channels) and the
   * page's console into test-artifacts/<name>-logs/. Returns that directory.
   */
  collectLogs(name: string = this.name): string {
    const target = path.join(artifactsDir(), `${name}-logs`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(target, { recursive: true });
    if (fs.existsSync(this.server.logFile)) {
      fs.copyFileSync(this.server.logFile, path.join(target, 'code-server.log'));
    }
    const logsDir = path.join(this.server.userDataDir, 'logs');
    for (const file of this.logFiles()) {
      const destination = path.join(target, 'vscode', path.relative(logsDir, file));
      fs.mkdirSync(path.dirname(destination), { recursive: true });
      fs.copyFileSync(file, destination);
    }
    fs.writeFileSync(path.join(target, 'browser-console.log'), `${this.consoleLines.join('\n')}\n`);
    return target;
  }

  /** Closes the browser and ends code-server; every call returns the same promise. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      try {
        await withTimeout(this.context.close(), 15_000, 'Chromium to close');
      } catch {
        killProcessesMentioning(path.join(this.server.stateDir, 'chromium-profile'));
      } finally {
        await withTimeout(this.server.stop(), 30_000, 'code-server to stop').finally(() => {
          liveServers.delete(this.server);
          liveCleanups.delete(this.disposer);
        });
      }
    })();
    return this.disposing;
  }
}

/**
 * SIGKILLs the processes whose command line contains `marker` (a path unique to this session,
 * such as its Chromium profile), for a browser that does not close.
 */
function killProcessesMentioning(marker: string): void {
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) {
      continue;
    }
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) {
        process.kill(Number(name), 'SIGKILL');
      }
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
}

/**
 * Shared by the data-plane end-to-end tests (rules, dataPlane): titles from the manifest, the
 * tree's context menu, the consent modal, reports and the conntrack view read from their
 * webview frames, the editor's cursor line, debug pods by label, and the lab's truth read
 * independently as root (`ip netns exec <node netns> iptables-save`, /proc/sys/net/netfilter).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Frame, Page } from 'playwright-core';
import { nodeNetnsName } from '../../lab/config';
import { OWNER_LABEL } from '../../src/node/debugPodSpec';
import { VsCodeSession, findRepoRoot, poll } from './harness';
import type { TreeRow } from './harness';

export const CONTAINER_TITLE = 'Kubernetes Network';
export const MANAGED_SELECTOR = 'app.kubernetes.io/managed-by=kube-net-inspector';
/** A diagnostic's bound in the lab: debug pod start and the exec. */
export const DIAGNOSTIC_TIMEOUT_MS = 90_000;
export const UI_TIMEOUT_MS = 30_000;

// ip, iptables-save and conntrack live in sbin, which a PATH from npm may lack.
const SBIN_PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean).join(':');

function localized(value: string, nls: Record<string, string>): string {
  const match = /^%(.+)%$/.exec(value);
  return match ? (nls[match[1] as string] ?? value) : value;
}

interface Manifest {
  contributes: {
    viewsContainers: { activitybar: Array<{ id: string; title: string }> };
    views: Record<string, Array<{ id: string; name: string; type?: string }>>;
    commands: Array<{ command: string; title: string; category?: string }>;
  };
}

/** Titles from the extension's own manifest, so the tests follow the contributions. */
export function manifestTitles(): { viewName: string; commandTitle: (id: string) => string; category: string } {
  const root = findRepoRoot();
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Manifest;
  const nls = JSON.parse(fs.readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
  const container = manifest.contributes.viewsContainers.activitybar.find((each) => localized(each.title, nls) === CONTAINER_TITLE);
  assert.ok(container, `no activity-bar container titled "${CONTAINER_TITLE}"`);
  const tree = manifest.contributes.views[container.id]?.find((view) => view.type === undefined || view.type === 'tree');
  assert.ok(tree, 'no tree view');
  const commandTitle = (id: string): string => {
    const command = manifest.contributes.commands.find((each) => each.command === id);
    assert.ok(command, `package.json does not contribute ${id}`);
    return localized(command.title, nls);
  };
  return { viewName: localized(tree.name, nls), commandTitle, category: localized('%category%', nls) };
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs a command in a lab node's network namespace, as root, and returns its stdout. */
export function inNodeNetns(node: string, argv: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', nodeNetnsName(node), ...argv], { encoding: 'utf8', timeout: 20_000, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, PATH: SBIN_PATH } });
}

/** Runs a command in any lab network namespace (a pod's), as root. */
export function inNetns(netns: string, argv: readonly string[]): string {
  return execFileSync('ip', ['netns', 'exec', netns, ...argv], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, PATH: SBIN_PATH } });
}

/** Reads /proc/sys/net/netfilter/nf_conntrack_NAME in a node's namespace. */
export function netfilterValue(node: string, name: 'count' | 'max'): number {
  return Number(inNodeNetns(node, ['cat', `/proc/sys/net/netfilter/nf_conntrack_${name}`]).trim());
}

/** Right-clicks a tree row and chooses `item` from its context menu. */
export async function contextMenu(session: VsCodeSession, viewName: string, row: TreeRow, item: string): Promise<void> {
  const page = session.page;
  const target = page.locator(`.monaco-list[role="tree"][aria-label="${viewName}"] .monaco-list-row[data-index="${row.index}"]`);
  await target.click({ button: 'right', timeout: UI_TIMEOUT_MS });
  const entry = page.getByRole('menuitem', { name: item, exact: true }).first();
  await entry.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  // Hover focuses the item; Enter runs it (VS Code's menus act on their own mouse-up handling).
  await entry.hover({ timeout: UI_TIMEOUT_MS });
  await poll(
    async () => ((await entry.evaluate((element) => (element as unknown as { matches(selector: string): boolean }).matches(':focus'))) ? true : undefined),
    UI_TIMEOUT_MS,
    `menu item "${item}" to take the focus`,
  );
  await page.keyboard.press('Enter');
  await entry.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
}

/** Accepts the debug pod consent modal after checking it names `expected`. */
export async function acceptConsent(page: Page, expected: readonly string[]): Promise<string> {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ state: 'visible', timeout: DIAGNOSTIC_TIMEOUT_MS });
  const text = (await dialog.innerText()).replace(/\s+/g, ' ');
  for (const part of expected) {
    assert.ok(text.includes(part), `the consent dialog names ${part}: ${text}`);
  }
  await dialog.getByRole('button', { name: 'Create Debug Pod', exact: true }).click({ timeout: UI_TIMEOUT_MS });
  await dialog.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
  return text;
}

/** Picks `label` in the open quick pick by typing it. */
export async function quickPick(page: Page, label: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
  await input.fill(label);
  const rows = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  const index = await poll(
    async () => {
      const labels = await rows.evaluateAll((elements) => elements.map((element) => element.querySelector('.label-name')?.textContent ?? ''));
      const found = labels.indexOf(label);
      return found >= 0 ? found : undefined;
    },
    UI_TIMEOUT_MS,
    `"${label}" in the quick pick`,
  );
  await rows.nth(index).click({ timeout: UI_TIMEOUT_MS });
  await input.waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS });
}

/** A report as the webview shows it, read from its DOM. */
export interface RenderedReport {
  readonly title: string;
  readonly subtitle: string;
  readonly sections: ReadonlyArray<{
    readonly heading: string;
    readonly pairs: ReadonlyArray<readonly [string, string]>;
    readonly columns: readonly string[];
    readonly rows: ReadonlyArray<readonly string[]>;
    readonly buttons: readonly string[];
    readonly text: string;
  }>;
}

/** The little of the DOM the page functions use (the project compiles without the DOM library). */
interface DomElement {
  readonly textContent: string | null;
  readonly tagName: string;
  readonly hidden: boolean;
  readonly children: ArrayLike<DomElement>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  scrollIntoView(): void;
}
interface DomGlobals {
  readonly document: { querySelector(selector: string): DomElement | null; querySelectorAll(selector: string): ArrayLike<DomElement> };
}

async function readReportFrame(frame: Frame): Promise<RenderedReport | undefined> {
  try {
    return await frame.evaluate(() => {
      const { document } = globalThis as unknown as DomGlobals;
      const main = document.querySelector('main#report');
      const title = main?.querySelector('header h1')?.textContent ?? '';
      if (!main || title === '') {
        return undefined;
      }
      const text = (element: DomElement | null | undefined): string => (element?.textContent ?? '').trim();
      const sections = Array.from(main.children)
        .filter((element) => element.tagName === 'SECTION')
        .map((section) => {
          const terms = Array.from(section.querySelectorAll('dl > dt')).map(text);
          const values = Array.from(section.querySelectorAll('dl > dd')).map(text);
          return {
            heading: text(section.querySelector('.section-heading h2')),
            pairs: terms.map((term, position) => [term, values[position] ?? ''] as [string, string]),
            columns: Array.from(section.querySelectorAll('thead th')).map(text),
            rows: Array.from(section.querySelectorAll('tbody tr')).map((row) => Array.from(row.querySelectorAll('td')).map(text)),
            buttons: Array.from(section.querySelectorAll('button.action')).map(text),
            text: text(section),
          };
        });
      return { title, subtitle: text(main.querySelector('header .subtitle')), sections };
    });
  } catch {
    // A frame navigating or gone: not the one.
    return undefined;
  }
}

/** Waits for a webview showing a report whose title matches, and returns what it shows. */
export async function waitForReport(page: Page, title: RegExp, ready: (report: RenderedReport) => boolean = () => true): Promise<{ report: RenderedReport; frame: Frame }> {
  return poll(
    async () => {
      for (const frame of page.frames()) {
        const report = await readReportFrame(frame);
        if (report && title.test(report.title) && ready(report)) {
          return { report, frame };
        }
      }
      return undefined;
    },
    DIAGNOSTIC_TIMEOUT_MS,
    `a report titled ${title} in a webview`,
    async () => {
      const titles: string[] = [];
      for (const frame of page.frames()) {
        const report = await readReportFrame(frame);
        if (report) {
          titles.push(report.title);
        }
      }
      return `reports shown: ${titles.join(' | ') || '(none)'}; notifications: ${(await notifications(page)).join(' | ') || '(none)'}`;
    },
  );
}

/** The notification toasts' texts. */
export async function notifications(page: Page): Promise<string[]> {
  return page.locator('.notifications-toasts .notification-list-item-message').allTextContents().catch(() => []);
}

/** The value of `key` in the report's key/value section whose heading matches. */
export function pairValue(report: RenderedReport, heading: RegExp, key: string): string {
  const section = report.sections.find((candidate) => heading.test(candidate.heading));
  assert.ok(section, `the report has a section ${heading}: ${report.sections.map((candidate) => candidate.heading).join(' | ')}`);
  const pair = section.pairs.find(([term]) => term === key);
  assert.ok(pair, `section "${section.heading}" has ${key}: ${section.pairs.map(([term]) => term).join(', ')}`);
  return pair[1];
}

/** The conntrack view as its webview shows it. */
export interface RenderedConntrack {
  readonly title: string;
  /** `data-loaded` of the root: set when every entry arrived. */
  readonly loaded: boolean;
  readonly usageCount: string | null;
  readonly usageMax: string | null;
  readonly usageText: string;
  readonly shown: string;
  readonly columns: readonly string[];
  /** The rows in the DOM (the visible ones), by column. */
  readonly rows: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly text: string;
}

async function readConntrackFrame(frame: Frame): Promise<RenderedConntrack | undefined> {
  try {
    return await frame.evaluate(() => {
      const { document } = globalThis as unknown as DomGlobals;
      const main = document.querySelector('main#conntrack');
      const title = main?.querySelector('header h1')?.textContent ?? '';
      if (!main || title === '') {
        return undefined;
      }
      const rows = Array.from(main.querySelectorAll('.ct-rows .ct-row'))
        .filter((row) => !row.hidden)
        .map((row) => {
          const cells: Record<string, string> = {};
          for (const cell of Array.from(row.querySelectorAll('.ct-cell'))) {
            cells[cell.getAttribute('data-column') ?? ''] = cell.textContent ?? '';
          }
          return cells;
        });
      return {
        title,
        loaded: main.getAttribute('data-loaded') !== null,
        usageCount: main.querySelector('#usage-count')?.textContent ?? null,
        usageMax: main.querySelector('#usage-max')?.textContent ?? null,
        usageText: main.querySelector('.ct-usage')?.textContent ?? '',
        shown: main.querySelector('#shown')?.textContent ?? '',
        columns: Array.from(main.querySelectorAll('.ct-header .ct-sort')).map((button) => button.textContent ?? ''),
        rows,
        text: main.textContent ?? '',
      };
    });
  } catch {
    return undefined;
  }
}

/** Waits for the conntrack view whose title matches to hold every entry (and `ready` to hold). */
export async function waitForConntrack(page: Page, title: RegExp, ready: (view: RenderedConntrack) => boolean = () => true): Promise<{ view: RenderedConntrack; frame: Frame }> {
  return poll(
    async () => {
      for (const frame of page.frames()) {
        const view = await readConntrackFrame(frame);
        if (view && view.loaded && title.test(view.title) && ready(view)) {
          return { view, frame };
        }
      }
      return undefined;
    },
    DIAGNOSTIC_TIMEOUT_MS,
    `a conntrack view titled ${title}`,
    async () => `notifications: ${(await notifications(page)).join(' | ') || '(none)'}`,
  );
}

/** Reads the conntrack view of `frame` again. */
export async function readConntrack(frame: Frame): Promise<RenderedConntrack> {
  const view = await readConntrackFrame(frame);
  assert.ok(view, 'the conntrack view is gone');
  return view;
}

/** The active editor's cursor line: its number (from the status bar) and its text (from the DOM). */
export async function cursorLine(page: Page): Promise<{ line: number; column: number; text: string }> {
  const status = (await page.locator('.statusbar-item[id="status.editor.selection"]').innerText({ timeout: UI_TIMEOUT_MS })).replace(/\s+/g, ' ');
  const match = /Ln (\d+), Col (\d+)/.exec(status);
  assert.ok(match, `the status bar shows the cursor position: ${status}`);
  const text = await page.evaluate(() => {
    const { document } = globalThis as unknown as DomGlobals;
    const editor = document.querySelector('.editor-group-container.active .monaco-editor') ?? document.querySelector('.monaco-editor.focused');
    const current = editor?.querySelector('.view-overlays .current-line');
    // The overlay line that holds the highlight and the text line share their `top`.
    const overlay = current === null || current === undefined ? null : (current as unknown as { parentElement: DomElement | null }).parentElement;
    const top = overlay?.getAttribute('style')?.match(/top:\s*([\d.]+)px/)?.[1];
    if (editor === null || editor === undefined || top === undefined) {
      return null;
    }
    const line = Array.from(editor.querySelectorAll('.view-lines .view-line')).find((candidate) => candidate.getAttribute('style')?.match(/top:\s*([\d.]+)px/)?.[1] === top);
    return line === undefined ? null : (line.textContent ?? '').replace(/\u00a0/g, ' ');
  });
  assert.ok(text !== null, 'the editor shows the cursor line');
  return { line: Number(match[1]), column: Number(match[2]), text };
}

/** The debug pods this tool created, by `ns/name` → node. */
export async function debugPods(api: CoreV1Api): Promise<Map<string, string>> {
  const list = await api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR });
  return new Map(list.items.filter((pod) => pod.metadata?.deletionTimestamp === undefined).map((pod) => [`${pod.metadata?.namespace}/${pod.metadata?.name}`, pod.spec?.nodeName ?? '']));
}

/** Waits until no debug pod exists that was not there before the test (gone from the API). */
export async function waitForNoNewDebugPods(api: CoreV1Api, before: ReadonlySet<string>, what: string, timeoutMs = 30_000): Promise<void> {
  await poll(
    async () => {
      const list = await api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR });
      return list.items.some((pod) => !before.has(`${pod.metadata?.namespace}/${pod.metadata?.name}`)) ? undefined : true;
    },
    timeoutMs,
    what,
    async () => `debug pods: ${[...(await debugPods(api)).keys()].join(', ')}`,
  );
}

/** Deletes the debug pods that were not there before (whatever failed). */
export async function deleteNewDebugPods(api: CoreV1Api, before: ReadonlySet<string>): Promise<void> {
  for (const name of (await debugPods(api).catch(() => new Map<string, string>())).keys()) {
    if (before.has(name)) {
      continue;
    }
    const [namespace, podName] = name.split('/');
    await api.deleteNamespacedPod({ namespace: namespace as string, name: podName as string, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

/** The debug pod owner ids a session's extension logged ("debug pods for context ... (owner id)"). */
export function ownerIds(log: string): Set<string> {
  return new Set([...log.matchAll(/\[DebugPods\] debug pods for context .* \(owner ([\w.-]+)\)/g)].map((match) => match[1] ?? ''));
}

/** The debug pods on the cluster whose owner is one of `owners`, as namespace/name. */
export async function ownedDebugPods(api: CoreV1Api, owners: ReadonlySet<string>): Promise<string[]> {
  const list = await api.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR });
  return list.items.filter((pod) => owners.has(pod.metadata?.labels?.[OWNER_LABEL] ?? '')).map((pod) => `${pod.metadata?.namespace}/${pod.metadata?.name}`);
}

/** Deletes the debug pods of `owners` (whatever failed); other windows' pods stay. */
export async function deleteOwnedDebugPods(api: CoreV1Api, owners: ReadonlySet<string>): Promise<void> {
  for (const name of await ownedDebugPods(api, owners).catch(() => [])) {
    const [namespace, podName] = name.split('/');
    await api.deleteNamespacedPod({ namespace: namespace as string, name: podName as string, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

/** Writes multi-line text as test diagnostics. */
export function diagnostic(t: TestContext, text: string): void {
  text.split('\n').forEach((line) => t.diagnostic(line));
}

/** The row of a tree item under `folderPath` labelled `label`, once rendered. */
export async function rowUnder(session: VsCodeSession, viewName: string, folderPath: ReadonlyArray<string | RegExp>, label: string): Promise<TreeRow> {
  return poll(
    async () => {
      const current = await session.treeItems(viewName);
      const folder = VsCodeSession.findPath(current, folderPath);
      return folder ? VsCodeSession.childrenOf(current, folder).find((row) => row.label === label) : undefined;
    },
    UI_TIMEOUT_MS,
    `${label} in the tree`,
    () => session.describeView(viewName),
  );
}

/** The path to the context row's children (the context row is there when the tree shows it). */
export async function contextPrefix(session: VsCodeSession, viewName: string, contextName: string): Promise<Array<string | RegExp>> {
  const rows = await session.waitForRows(viewName, (current) => current.length > 0, `any row in view "${viewName}"`);
  const contextRow = new RegExp(`(^|: )${escapeRegExp(contextName)}$`);
  return rows.some((row) => row.level === 1 && contextRow.test(row.label)) ? [contextRow] : [];
}

/**
 * The conntrack view's page (dist/conntrack.js, as built) in a real Chromium with 262,144
 * entries, fed the messages the host sends (the real encoder over a generated `conntrack -L`
 * listing, parsed by the real parser): only the rows on screen are in the DOM, the filter and
 * the sort give what a plain reading of the entries gives, scrolling reaches the last entry,
 * and the page asks the host only what it may. Timings are reported, not asserted. Needs no
 * lab and no code-server: the page is loaded from a file with a stand-in `acquireVsCodeApi`.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { conntrackViewModel } from '../../src/features/reports/conntrackReport';
import type { Translate } from '../../src/features/clusterNodes';
import { ConntrackCollector } from '../../src/diagnostics/conntrack';
import { encodeChunks } from '../../src/protocol/conntrack';
import type { ConntrackHostMessage } from '../../src/protocol/conntrack';
import { generateConntrackListing } from '../unit/parsers/generators';
import { CHROMIUM_PATH, artifactsDir, findRepoRoot, poll } from './harness';

const ENTRIES = 262_144;
// Like VS Code's: a placeholder without a value stays (the conntrack view fills its templates itself).
const t: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (match, position: string) => (args[Number(position)] === undefined ? match : String(args[Number(position)])));

/** A dark theme's variables, standing in for what VS Code puts on a webview's page. */
const THEME = `:root {
  --vscode-font-family: sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace; --vscode-editor-font-size: 13px;
  --vscode-foreground: #cccccc; --vscode-descriptionForeground: #9d9d9d; --vscode-editor-background: #1f1f1f;
  --vscode-button-foreground: #ffffff; --vscode-button-background: #0078d4; --vscode-button-hoverBackground: #026ec1;
  --vscode-button-secondaryForeground: #cccccc; --vscode-button-secondaryBackground: #313131;
  --vscode-input-foreground: #cccccc; --vscode-input-background: #313131; --vscode-input-border: #3c3c3c;
  --vscode-dropdown-foreground: #cccccc; --vscode-dropdown-background: #313131; --vscode-dropdown-border: #3c3c3c;
  --vscode-panel-border: #2b2b2b; --vscode-progressBar-background: #0078d4; --vscode-list-hoverBackground: #2a2d2e;
  --vscode-editorInfo-foreground: #3794ff; --vscode-editorWarning-foreground: #cca700; --vscode-editorError-foreground: #f14c4c;
  --vscode-errorForeground: #f85149; --vscode-textCodeBlock-background: #2b2b2b; --vscode-toolbar-hoverBackground: #5a5d5e50;
  --vscode-focusBorder: #0078d4;
}`;

/** The DOM the page functions use (the project compiles without the DOM library). */
interface DomElement {
  readonly textContent: string | null;
  readonly hidden: boolean;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}
interface PageWindow {
  readonly document: { querySelector(selector: string): DomElement | null; querySelectorAll(selector: string): ArrayLike<DomElement> };
  postMessage(message: unknown, origin: string): void;
  readonly posted: unknown[];
}

async function shown(page: Page): Promise<{ shown: string; rows: Array<Record<string, string>>; domRows: number }> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as PageWindow;
    const all = Array.from(document.querySelectorAll('.ct-rows .ct-row'));
    return {
      shown: document.querySelector('#shown')?.textContent ?? '',
      domRows: all.length,
      rows: all
        .filter((row) => !row.hidden)
        .map((row) => {
          const cells: Record<string, string> = {};
          for (const cell of Array.from(row.querySelectorAll('.ct-cell'))) {
            cells[cell.getAttribute('data-column') ?? ''] = cell.textContent ?? '';
          }
          return cells;
        }),
    };
  });
}

async function send(page: Page, message: ConntrackHostMessage): Promise<void> {
  if (message.type === 'rows') {
    // Typed arrays cross into the page as plain arrays and become Int32Array again there, as
    // VS Code's webview bridge hands them over.
    await page.evaluate((rows) => {
      const win = globalThis as unknown as PageWindow;
      win.postMessage({ ...rows, data: Int32Array.from(rows.data) }, '*');
    }, { ...message, data: Array.from(message.data) });
    return;
  }
  await page.evaluate((plain) => (globalThis as unknown as PageWindow).postMessage(plain, '*'), message as unknown as Record<string, unknown>);
}

test('the conntrack view holds 262,144 entries: virtual rows, filter and sort as a plain reading, scroll to the end', { timeout: 10 * 60_000 }, async (t0) => {
  const root = findRepoRoot();
  const dist = path.join(root, 'dist');
  assert.ok(fs.existsSync(path.join(dist, 'conntrack.js')), 'dist/conntrack.js: build the extension first (npm run build)');

  // The listing as the host reads it: the real collector over `conntrack -L` text.
  const generated = generateConntrackListing(ENTRIES);
  const collector = new ConntrackCollector();
  collector.push(generated.text);
  collector.end();
  const entries = collector.entries;
  assert.equal(entries.length, ENTRIES);
  const listing = {
    node: 'node-a',
    filters: [{}],
    entries,
    counts: collector.counts,
    entriesTruncated: false,
    shownByTool: collector.shownByTool,
    raw: '',
    rawTruncated: false,
    problems: [],
    notes: [],
    manualCommands: [{ where: 'node' as const, description: 'Every tracked connection', command: 'conntrack -L' }],
  };
  const usage = {
    node: 'node-a', count: ENTRIES - 20_000, max: ENTRIES, ratio: (ENTRIES - 20_000) / ENTRIES, buckets: 65_536, nearLimit: true, stats: null,
    tableFullEvents: [{ timestamp: '2024-05-01T10:00:00+0000', message: 'nf_conntrack: nf_conntrack: table full, dropping packet', conntrackTableFull: true, line: 1 }],
    kernelLogSource: 'dmesg', kernelLogLines: 1, warnings: [], manualCommands: [],
  };
  const view = conntrackViewModel({ kind: 'node', node: 'node-a' }, listing, usage, new Date(0), t);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-conntrack-view-'));
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  try {
    const html = path.join(dir, 'view.html');
    fs.writeFileSync(
      html,
      `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8"><style>${THEME}</style>
<link rel="stylesheet" href="${pathToFileURL(path.join(dist, 'codicons', 'codicon.css')).href}">
<link rel="stylesheet" href="${pathToFileURL(path.join(dist, 'conntrack.css')).href}"></head>
<body><main id="conntrack"></main>
<script>window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (message) => window.posted.push(message), getState: () => undefined, setState: () => undefined });</script>
<script src="${pathToFileURL(path.join(dist, 'conntrack.js')).href}"></script></body></html>`,
    );
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(html).href);
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as PageWindow).posted), [{ type: 'ready' }], 'the page says ready, and nothing else');

    const started = Date.now();
    await send(page, { type: 'init', generation: 1, view });
    for (const chunk of encodeChunks(entries, 1)) {
      await send(page, chunk);
    }
    await send(page, { type: 'done', generation: 1 });
    await poll(async () => ((await page.evaluate(() => (globalThis as unknown as PageWindow).document.querySelector('main#conntrack')?.getAttribute('data-loaded'))) === '1' ? true : undefined), 120_000, 'every entry in the page');
    // (Most of it is this test's own copying of the numbers into the page as JSON.)
    t0.diagnostic(`262,144 entries sent and shown in ${Date.now() - started} ms`);

    const all = await shown(page);
    assert.equal(all.shown, `${ENTRIES.toLocaleString('en-US')} of ${ENTRIES.toLocaleString('en-US')} entries`);
    assert.ok(all.domRows < 120, `only the rows on screen are in the DOM (${all.domRows})`);
    const first = entries[0];
    assert.ok(first);
    assert.equal(all.rows[0]?.source, `${first.original.src}:${first.original.sport}`);
    assert.match(await page.locator('.ct-usage').innerText(), /242,144 of 262,144/);
    await page.screenshot({ path: path.join(artifactsDir(), 'conntrack-262144.png') });

    // Filter: the sample connection's ClusterIP, compared with the entries read one by one.
    const sample = generated.sample;
    const expected = entries.filter((entry) => [entry.original.src, entry.original.dst, entry.reply?.src ?? '', entry.reply?.dst ?? ''].some((address) => address.includes(sample.clusterIP)));
    let filterStarted = Date.now();
    await page.locator('#filter').fill(sample.clusterIP);
    const filtered = await poll(async () => {
      const now = await shown(page);
      return now.shown.startsWith(`${expected.length.toLocaleString('en-US')} of`) ? now : undefined;
    }, 60_000, `${expected.length} entries for ${sample.clusterIP}`, async () => (await shown(page)).shown);
    t0.diagnostic(`filter on ${sample.clusterIP}: ${filtered.shown} in ${Date.now() - filterStarted} ms (typing included)`);
    assert.ok(filtered.rows.length > 0 && filtered.rows.every((row) => Object.values(row).some((cell) => cell.includes(sample.clusterIP))));

    // Sort by source, descending: the first row is the largest source address (and port).
    filterStarted = Date.now();
    await page.locator('#filter').fill('');
    await page.locator('.ct-header .ct-sort[data-column="source"]').click();
    await poll(async () => ((await page.locator('.ct-header [aria-sort="ascending"] .ct-sort').getAttribute('data-column').catch(() => null)) === 'source' ? true : undefined), 60_000, 'sorted ascending');
    t0.diagnostic(`ascending: ${JSON.stringify((await shown(page)).rows.slice(0, 2))}`);
    await page.locator('.ct-header .ct-sort[data-column="source"]').click();
    // By address, then port; an entry without a port (ICMP) after those with one, in both directions.
    const key = (entry: (typeof entries)[number]): number => entry.original.src.split('.').reduce((value, octet) => value * 256 + Number(octet), 0) * 65_537 + (entry.original.sport === null ? -1 : entry.original.sport);
    const sourceText = (entry: (typeof entries)[number]): string => (entry.original.sport === null ? entry.original.src : `${entry.original.src}:${entry.original.sport}`);
    const largest = entries.reduce((best, entry) => (key(entry) > key(best) ? entry : best), first);
    const sorted = await poll(async () => {
      const now = await shown(page);
      return now.rows[0]?.source === sourceText(largest) ? now : undefined;
    }, 60_000, `the largest source ${sourceText(largest)} first`, async () => JSON.stringify((await shown(page)).rows[0]));
    t0.diagnostic(`sorted by source (descending) in ${Date.now() - filterStarted} ms (clicks included); first row ${JSON.stringify(sorted.rows[0])}`);
    assert.equal(await page.locator('.ct-header [role="columnheader"][aria-sort="descending"] .ct-sort').getAttribute('data-column'), 'source');

    // Scroll to the end: the smallest source is the last row.
    // Ties keep the order received, so the last row is the last-received of the smallest.
    const smallest = entries.reduce((best, entry) => (key(entry) <= key(best) ? entry : best), first);
    await page.locator('#entries').evaluate((element) => {
      const viewport = element as unknown as { scrollTop: number; scrollHeight: number };
      viewport.scrollTop = viewport.scrollHeight;
    });
    const end = await poll(async () => {
      const now = await shown(page);
      return now.rows.some((row) => row.source === sourceText(smallest)) ? now : undefined;
    }, 30_000, 'the last row after scrolling to the end');
    assert.ok(end.domRows < 120, `still only the rows on screen (${end.domRows})`);
    await page.screenshot({ path: path.join(artifactsDir(), 'conntrack-262144-sorted-end.png') });

    // What the page asked the host: ready only (no copy, no commands of its own).
    assert.deepEqual(await page.evaluate(() => (globalThis as unknown as PageWindow).posted), [{ type: 'ready' }]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

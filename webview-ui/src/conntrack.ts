/**
 * The conntrack webview: a node's (pod's, service's) tracked connections in a table that stays
 * quick at 262,144 entries. The entries arrive in chunks in the columnar encoding of
 * src/protocol/conntrack.ts and stay in typed arrays (src/protocol/conntrackTable.ts), where
 * the filter and sort run; only the rows on screen exist in the DOM (fixed row height, virtual
 * scrolling). Above the table: the table usage against nf_conntrack_max, "table full" lines,
 * counts by state and protocol (a click filters). All cluster text goes through
 * `textContent`; the page's words come from the host, in the display language.
 */

import { conntrackColumns, defaultViewSettings, fillTemplate, isConntrackHostMessage, isConntrackWebviewState } from '../../src/protocol/conntrack.js';
import type {
  ConntrackColumn,
  ConntrackHostMessage,
  ConntrackLabels,
  ConntrackViewModel,
  ConntrackViewSettings,
  ConntrackWebviewMessage,
  ConntrackWebviewState,
  CountList,
} from '../../src/protocol/conntrack.js';
import { ConntrackTable } from '../../src/protocol/conntrackTable.js';
import type { ConntrackRow } from '../../src/protocol/conntrackTable.js';

import { element, icon, startPage, vscodeApi } from './bootstrap.js';

const vscode = vscodeApi<ConntrackWebviewMessage, ConntrackWebviewState>();

/** Must match `.ct-row { height }` in conntrack.css. */
const rowHeight = 22;
/** Rows rendered above and below the visible ones. */
const overscan = 8;
/** While entries arrive, the filter and sort run at most this often. */
const loadingQueryIntervalMs = 400;

const numberFormat = new Intl.NumberFormat();

function formatCount(value: number): string {
  return numberFormat.format(value);
}

function columnLabel(column: ConntrackColumn, labels: ConntrackLabels): string {
  return labels[column];
}

/** What the page holds now. */
interface Current {
  view: ConntrackViewModel;
  generation: number;
  table: ConntrackTable | null;
  done: boolean;
  settings: ConntrackViewSettings;
  /** Entry indices in display order (filtered, sorted). */
  order: Uint32Array;
  /** The order is the entries as received, unfiltered (cheap while loading). */
  identity: boolean;
}

let current: Current | undefined;
let busy = false;
let lastError: string | null = null;

// The page's fixed parts, created once; `renderView` fills them.
const root = document.getElementById('conntrack') as HTMLElement;
const top = element('div', { className: 'ct-top' });
const filterInput = element('input', { className: 'ct-filter', attributes: { type: 'search', id: 'filter', spellcheck: 'false', autocomplete: 'off' } });
const protocolSelect = element('select', { attributes: { id: 'protocol' } });
const stateSelect = element('select', { attributes: { id: 'state' } });
const shownText = element('span', { className: 'ct-shown', attributes: { id: 'shown', 'aria-live': 'polite' } });
const clearButton = element('button', { className: 'ct-icon-button', attributes: { type: 'button', id: 'clear' } }, [icon('clear-all')]);
const filterBar = element('div', { className: 'ct-filterbar' }, [filterInput, protocolSelect, stateSelect, clearButton, shownText]);
const headerRow = element('div', { className: 'ct-header', attributes: { role: 'row' } });
const spacer = element('div', { className: 'ct-spacer' });
const rowsLayer = element('div', { className: 'ct-rows', attributes: { role: 'rowgroup' } });
const viewport = element('div', { className: 'ct-viewport', attributes: { tabindex: '0', id: 'entries' } }, [spacer, rowsLayer]);
const grid = element('div', { className: 'ct-grid', attributes: { role: 'table' } }, [element('div', { className: 'ct-header-scroll' }, [headerRow]), viewport]);
const emptyText = element('p', { className: 'ct-empty' });
const bottom = element('div', { className: 'ct-bottom' });
root.replaceChildren(top, filterBar, grid, emptyText, bottom);

/** The pool of row elements, reused while scrolling. */
const rowPool: Array<{ row: HTMLElement; cells: HTMLElement[] }> = [];

function rowElement(position: number): { row: HTMLElement; cells: HTMLElement[] } {
  let entry = rowPool[position];
  if (entry === undefined) {
    const cells = conntrackColumns.map((column) => element('span', { className: `ct-cell ct-${column}`, attributes: { role: 'cell', 'data-column': column } }));
    const row = element('div', { className: 'ct-row', attributes: { role: 'row' } }, cells);
    rowsLayer.append(row);
    entry = { row, cells };
    rowPool[position] = entry;
  }
  return entry;
}

function renderRows(): void {
  const state = current;
  const count = state?.table === null || state === undefined ? 0 : state.order.length;
  spacer.style.height = `${count * rowHeight}px`;
  const first = Math.max(0, Math.floor(viewport.scrollTop / rowHeight) - overscan);
  const visible = Math.ceil(viewport.clientHeight / rowHeight) + 2 * overscan;
  const last = Math.min(count, first + visible);
  rowsLayer.style.transform = `translateY(${first * rowHeight}px)`;
  let position = 0;
  if (state !== undefined && state.table !== null) {
    for (let index = first; index < last; index++, position++) {
      const entryIndex = state.order[index] as number;
      const shown: ConntrackRow = state.table.row(entryIndex);
      const { row, cells } = rowElement(position);
      row.hidden = false;
      row.setAttribute('aria-rowindex', String(index + 2));
      row.classList.toggle('ct-odd', index % 2 === 1);
      conntrackColumns.forEach((column, cellIndex) => {
        const cell = cells[cellIndex] as HTMLElement;
        const text = shown[column];
        if (cell.textContent !== text) {
          cell.textContent = text;
          cell.title = text;
        }
      });
    }
  }
  for (; position < rowPool.length; position++) {
    (rowPool[position] as { row: HTMLElement }).row.hidden = true;
  }
}

function renderHeader(labels: ConntrackLabels, settings: ConntrackViewSettings): void {
  headerRow.replaceChildren(
    ...conntrackColumns.map((column) => {
      const sorted = settings.sortColumn === column;
      const button = element(
        'button',
        {
          className: 'ct-sort',
          attributes: { type: 'button', title: fillTemplate(labels.sortBy, columnLabel(column, labels)), 'data-column': column },
        },
        [element('span', { text: columnLabel(column, labels) }), ...(sorted ? [icon(settings.sortDescending ? 'arrow-down' : 'arrow-up')] : [])],
      );
      button.addEventListener('click', () => {
        const state = current;
        if (state === undefined) {
          return;
        }
        // Ascending, descending, then unsorted.
        let next: Pick<ConntrackViewSettings, 'sortColumn' | 'sortDescending'>;
        const settings = settingsNow(state);
        if (settings.sortColumn !== column) {
          next = { sortColumn: column, sortDescending: false };
        } else if (!settings.sortDescending) {
          next = { sortColumn: column, sortDescending: true };
        } else {
          next = { sortColumn: null, sortDescending: false };
        }
        applySettings({ ...settings, ...next });
      });
      return element('span', { className: `ct-cell ct-${column}`, attributes: { role: 'columnheader', 'aria-sort': sorted ? (settings.sortDescending ? 'descending' : 'ascending') : 'none' } }, [button]);
    }),
  );
}

function fillSelect(select: HTMLSelectElement, allLabel: string, counts: CountList, selected: string | null): void {
  const options = [element('option', { text: allLabel, attributes: { value: '' } })];
  for (const [name, count] of counts) {
    // `-` stands for stateless protocols in the counts; the entries hold an empty state.
    const value = name === '-' ? '' : name;
    if (value === '') {
      continue;
    }
    const option = element('option', { text: `${name} (${formatCount(count)})` });
    option.value = value;
    options.push(option);
  }
  select.replaceChildren(...options);
  select.value = selected ?? '';
}

function chips(heading: string, counts: CountList, onPick: ((name: string) => void) | null, selected: string | null): HTMLElement {
  const list = element('div', { className: 'ct-chips' });
  for (const [name, count] of counts) {
    const content = [element('span', { className: 'ct-chip-name', text: name }), element('span', { className: 'ct-chip-count', text: formatCount(count) })];
    if (onPick === null || name === '-') {
      list.append(element('span', { className: 'ct-chip' }, content));
      continue;
    }
    const chip = element('button', { className: 'ct-chip', attributes: { type: 'button', 'aria-pressed': String(selected === name) } }, content);
    chip.addEventListener('click', () => onPick(name));
    list.append(chip);
  }
  return element('div', { className: 'ct-counts-row' }, [element('span', { className: 'ct-counts-heading', text: heading }), list]);
}

function usageSection(view: ConntrackViewModel): HTMLElement | null {
  const usage = view.usage;
  const labels = view.labels;
  if (usage === null) {
    return null;
  }
  const parts: Node[] = [element('div', { className: 'ct-usage-heading', text: labels.usage })];
  if (usage.count === null || usage.max === null) {
    parts.push(element('div', { className: 'ct-usage-value', text: labels.usageUnknown }));
  } else {
    const ratio = usage.ratio ?? 0;
    const percent = `${(Math.round(ratio * 1000) / 10).toFixed(1)}%`;
    const meter = element('div', { className: `ct-meter${usage.nearLimit ? ' ct-meter-warning' : ''}`, attributes: { role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': String(usage.max), 'aria-valuenow': String(usage.count), 'aria-label': labels.usage } }, [
      element('div', { className: 'ct-meter-fill' }),
    ]);
    (meter.firstChild as HTMLElement).style.width = `${Math.min(100, ratio * 100)}%`;
    parts.push(
      element('div', { className: 'ct-usage-line' }, [
        meter,
        element('span', { className: 'ct-usage-value', attributes: { id: 'usage' }, text: fillTemplate(labels.usageValue, formatCount(usage.count), formatCount(usage.max), percent) }),
      ]),
    );
    // The exact numbers, for copying and tests (the text above is formatted for reading).
    parts.push(element('span', { className: 'ct-hidden', attributes: { id: 'usage-count' }, text: String(usage.count) }));
    parts.push(element('span', { className: 'ct-hidden', attributes: { id: 'usage-max' }, text: String(usage.max) }));
  }
  const facts: Node[] = [];
  if (usage.buckets !== null) {
    facts.push(element('span', { text: `${labels.buckets}: ${formatCount(usage.buckets)}` }));
  }
  if (usage.drops !== null) {
    facts.push(element('span', { className: usage.drops > 0 ? 'ct-warning-text' : '', text: `${labels.drops}: ${formatCount(usage.drops)}` }));
  }
  if (facts.length > 0) {
    parts.push(element('div', { className: 'ct-usage-facts' }, facts));
  }
  if (usage.nearLimit) {
    parts.push(element('p', { className: 'ct-notice ct-notice-warning' }, [icon('warning'), element('span', { text: labels.nearLimit })]));
  }
  if (usage.tableFullTotal > 0) {
    const lines = usage.tableFull.map((line) => element('li', {}, [element('code', { text: `${line.timestamp === null ? '' : `[${line.timestamp}] `}${line.message}` })]));
    parts.push(
      element('details', { className: 'ct-table-full', attributes: { open: '' } }, [
        element('summary', { className: 'ct-error-text' }, [icon('error'), element('span', { text: ` ${labels.tableFull}: ${formatCount(usage.tableFullTotal)}` })]),
        element('ul', {}, lines),
      ]),
    );
  } else if (usage.kernelLogSource === null) {
    parts.push(element('p', { className: 'ct-muted', text: labels.kernelLogUnreadable }));
  } else {
    parts.push(element('p', { className: 'ct-muted', text: fillTemplate(labels.noTableFull, usage.kernelLogSource) }));
  }
  return element('section', { className: 'ct-usage' }, parts);
}

function toolbar(view: ConntrackViewModel): HTMLElement {
  const labels = view.labels;
  const refresh = element('button', { className: 'ct-button', attributes: { type: 'button', id: 'refresh' } }, [icon('refresh'), element('span', { text: labels.refresh })]);
  refresh.disabled = busy;
  refresh.addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
  const buttons: Node[] = [refresh];
  if (view.rawAvailable && current?.table !== null) {
    const raw = element('button', { className: 'ct-button ct-secondary', attributes: { type: 'button', id: 'open-raw' } }, [icon('go-to-file'), element('span', { text: labels.openRaw })]);
    raw.addEventListener('click', () => vscode.postMessage({ type: 'openRaw' }));
    buttons.push(raw);
  }
  if (busy) {
    buttons.push(icon('loading codicon-modifier-spin'));
  }
  return element('div', { className: 'ct-toolbar' }, buttons);
}

function renderTop(): void {
  const state = current;
  if (state === undefined) {
    top.replaceChildren();
    return;
  }
  const view = state.view;
  const labels = view.labels;
  const header = element('header', {}, [element('div', { className: 'ct-titles' }, [element('h1', { text: view.title }), element('p', { className: 'ct-subtitle', text: view.subtitle })]), toolbar(view)]);
  const parts: Node[] = [header];
  if (lastError !== null) {
    parts.push(element('p', { className: 'ct-notice ct-notice-error', attributes: { role: 'alert' } }, [icon('error'), element('span', { text: lastError })]));
  }
  if (state.table === null) {
    parts.push(element('p', { className: 'ct-notice ct-notice-info' }, [icon('info'), element('span', { text: labels.notInMemory })]));
  }
  const usage = usageSection(view);
  if (usage !== null) {
    parts.push(usage);
  }
  for (const notice of view.notices) {
    parts.push(element('p', { className: `ct-notice ct-notice-${notice.level}` }, [icon(notice.level), element('span', { text: notice.text })]));
  }
  const pickState = (name: string): void => applySettings({ ...settingsNow(state), state: state.settings.state === name ? null : name });
  const pickProtocol = (name: string): void => applySettings({ ...settingsNow(state), protocol: state.settings.protocol === name ? null : name });
  parts.push(
    element('section', { className: 'ct-counts' }, [
      chips(labels.byProtocol, view.counts.byProtocol, pickProtocol, state.settings.protocol),
      chips(labels.byState, view.counts.byState, pickState, state.settings.state),
      ...(view.counts.byFlag.length > 0 ? [chips(labels.byFlag, view.counts.byFlag, null, null)] : []),
    ]),
  );
  top.replaceChildren(...parts);
}

function renderBottom(view: ConntrackViewModel): void {
  if (view.commands.length === 0) {
    bottom.replaceChildren();
    return;
  }
  const list = element('ol', { className: 'ct-commands' });
  for (const command of view.commands) {
    const copy = element('button', { className: 'ct-icon-button', attributes: { type: 'button', title: view.labels.copy, 'aria-label': view.labels.copy } }, [icon('copy')]);
    copy.addEventListener('click', () => {
      vscode.postMessage({ type: 'copy', text: command });
      copy.replaceChildren(icon('check'));
      window.setTimeout(() => copy.replaceChildren(icon('copy')), 1500);
    });
    list.append(element('li', {}, [element('pre', {}, [element('code', { text: command })]), copy]));
  }
  bottom.replaceChildren(element('details', {}, [element('summary', { text: view.commandsHeading }), list]));
}

function renderShown(): void {
  const state = current;
  if (state === undefined) {
    shownText.textContent = '';
    emptyText.textContent = '';
    return;
  }
  const labels = state.view.labels;
  const received = state.table?.received ?? 0;
  if (state.table !== null && !state.done) {
    shownText.textContent = fillTemplate(labels.loading, formatCount(received), formatCount(state.view.entries));
  } else {
    shownText.textContent = fillTemplate(labels.showing, formatCount(state.order.length), formatCount(state.view.counts.total));
  }
  emptyText.textContent = state.table === null ? '' : received === 0 && state.done ? labels.noEntries : state.order.length === 0 && state.done ? labels.noMatches : '';
  emptyText.hidden = emptyText.textContent === '';
}

let queryTimer: number | undefined;
let lastQuery = 0;

function isUnfiltered(settings: ConntrackViewSettings): boolean {
  return settings.text.trim() === '' && settings.protocol === null && settings.state === null && settings.sortColumn === null;
}

/** Filters and sorts now. */
function runQuery(): void {
  const state = current;
  if (state === undefined || state.table === null) {
    return;
  }
  if (isUnfiltered(state.settings)) {
    const order = new Uint32Array(state.table.received);
    for (let index = 0; index < order.length; index++) {
      order[index] = index;
    }
    state.order = order;
    state.identity = true;
  } else {
    state.order = state.table.query(state.settings);
    state.identity = false;
  }
  lastQuery = Date.now();
  renderShown();
  renderRows();
}

/** Filters and sorts soon (at once when nothing is arriving). */
function scheduleQuery(): void {
  const state = current;
  if (state === undefined) {
    return;
  }
  if (state.done) {
    window.clearTimeout(queryTimer);
    queryTimer = undefined;
    runQuery();
    return;
  }
  if (queryTimer !== undefined) {
    return;
  }
  const wait = Math.max(0, loadingQueryIntervalMs - (Date.now() - lastQuery));
  queryTimer = window.setTimeout(() => {
    queryTimer = undefined;
    runQuery();
  }, wait);
}

function saveState(): void {
  if (current !== undefined) {
    vscode.setState({ view: current.view, settings: current.settings });
  }
}

/** Typing in the filter waits a moment before it applies. */
let filterTimer: number | undefined;

/**
 * The settings with what is typed in the filter box now: another change (a sort, a protocol)
 * made while the typed text waits must not undo the typing.
 */
function settingsNow(state: Current): ConntrackViewSettings {
  if (filterTimer === undefined) {
    return state.settings;
  }
  window.clearTimeout(filterTimer);
  filterTimer = undefined;
  return { ...state.settings, text: filterInput.value };
}

function applySettings(settings: ConntrackViewSettings): void {
  const state = current;
  if (state === undefined) {
    return;
  }
  state.settings = settings;
  if (filterInput.value !== settings.text) {
    filterInput.value = settings.text;
  }
  protocolSelect.value = settings.protocol ?? '';
  stateSelect.value = settings.state ?? '';
  renderHeader(state.view.labels, settings);
  renderTop();
  saveState();
  viewport.scrollTop = 0;
  if (state.done) {
    runQuery();
  } else {
    scheduleQuery();
  }
}

function renderView(view: ConntrackViewModel, settings: ConntrackViewSettings): void {
  const labels = view.labels;
  document.title = view.title;
  filterInput.placeholder = labels.filterPlaceholder;
  filterInput.setAttribute('aria-label', labels.filterLabel);
  filterInput.value = settings.text;
  protocolSelect.setAttribute('aria-label', labels.protocol);
  stateSelect.setAttribute('aria-label', labels.state);
  fillSelect(protocolSelect, labels.allProtocols, view.counts.byProtocol, settings.protocol);
  fillSelect(stateSelect, labels.allStates, view.counts.byState, settings.state);
  clearButton.title = labels.clearFilter;
  clearButton.setAttribute('aria-label', labels.clearFilter);
  renderHeader(labels, settings);
  renderTop();
  renderBottom(view);
  renderShown();
  renderRows();
}

filterInput.addEventListener('input', () => {
  window.clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => {
    filterTimer = undefined;
    if (current !== undefined && current.settings.text !== filterInput.value) {
      applySettings({ ...current.settings, text: filterInput.value });
    }
  }, 150);
});
protocolSelect.addEventListener('change', () => {
  if (current !== undefined) {
    applySettings({ ...settingsNow(current), protocol: protocolSelect.value === '' ? null : protocolSelect.value });
  }
});
stateSelect.addEventListener('change', () => {
  if (current !== undefined) {
    applySettings({ ...settingsNow(current), state: stateSelect.value === '' ? null : stateSelect.value });
  }
});
clearButton.addEventListener('click', () => {
  if (current !== undefined) {
    window.clearTimeout(filterTimer);
    filterTimer = undefined;
    applySettings({ ...current.settings, text: '', protocol: null, state: null });
  }
});

let scrollFrame = 0;
viewport.addEventListener('scroll', () => {
  // The header scrolls sideways with the rows.
  headerRow.style.transform = `translateX(${-viewport.scrollLeft}px)`;
  if (scrollFrame === 0) {
    scrollFrame = window.requestAnimationFrame(() => {
      scrollFrame = 0;
      renderRows();
    });
  }
});
new ResizeObserver(() => renderRows()).observe(viewport);

function receive(message: ConntrackHostMessage): void {
  switch (message.type) {
    case 'init': {
      // A new listing keeps the filter and sort the user chose.
      const settings = current?.settings ?? defaultViewSettings;
      current = { view: message.view, generation: message.generation, table: new ConntrackTable(message.view.entries), done: message.view.entries === 0, settings, order: new Uint32Array(0), identity: true };
      lastError = null;
      viewport.scrollTop = 0;
      renderView(message.view, settings);
      saveState();
      break;
    }
    case 'rows': {
      const state = current;
      if (state === undefined || state.table === null || message.generation !== state.generation) {
        return;
      }
      if (!state.table.append(message)) {
        return;
      }
      if (isUnfiltered(state.settings) && state.identity) {
        // Nothing to filter: the new entries go at the end without a query.
        const order = new Uint32Array(state.table.received);
        order.set(state.order);
        for (let index = state.order.length; index < order.length; index++) {
          order[index] = index;
        }
        state.order = order;
        renderShown();
        renderRows();
      } else {
        scheduleQuery();
      }
      break;
    }
    case 'done': {
      const state = current;
      if (state === undefined || message.generation !== state.generation) {
        return;
      }
      state.done = true;
      renderTop();
      runQuery();
      root.setAttribute('data-loaded', String(state.generation));
      break;
    }
    case 'status':
      busy = message.busy;
      lastError = message.error;
      renderTop();
      break;
  }
}

// After a reload: what the view showed (its entries are read again on Refresh).
startPage(vscode, {
  isHostMessage: isConntrackHostMessage,
  onMessage: receive,
  isState: isConntrackWebviewState,
  restore: (saved) => {
    current = { view: saved.view, generation: -1, table: null, done: true, settings: saved.settings, order: new Uint32Array(0), identity: true };
    renderView(saved.view, saved.settings);
  },
});

/**
 * The report webview: renders a `Report` (src/protocol/report.ts) with DOM APIs only. All
 * report text goes through `textContent`, never `innerHTML`, so cluster data stays text.
 * Theme comes from `--vscode-*` variables (webview.css), icons from the codicon font.
 */

import { isHostToWebviewMessage, isReportWebviewState } from '../../src/protocol/report.js';
import type {
  CodeSection,
  CommandsSection,
  KeyValueSection,
  NoticeSection,
  Report,
  ReportSection,
  ReportWebviewState,
  TableSection,
  WebviewToHostMessage,
} from '../../src/protocol/report.js';

interface VsCodeApi {
  postMessage(message: WebviewToHostMessage): void;
  getState(): unknown;
  setState(state: ReportWebviewState): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { className?: string; text?: string; attributes?: Record<string, string> } = {},
  children: Node[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className !== undefined) {
    node.className = options.className;
  }
  if (options.text !== undefined) {
    node.textContent = options.text;
  }
  for (const [name, value] of Object.entries(options.attributes ?? {})) {
    node.setAttribute(name, value);
  }
  for (const child of children) {
    node.append(child);
  }
  return node;
}

function icon(name: string): HTMLElement {
  // Constant class names only; never built from report data.
  return element('span', { className: `codicon codicon-${name}`, attributes: { 'aria-hidden': 'true' } });
}

function copyButton(text: string, label: string): HTMLButtonElement {
  const button = element('button', { className: 'copy', attributes: { type: 'button', title: label, 'aria-label': label } }, [
    icon('copy'),
  ]);
  button.addEventListener('click', () => {
    vscode.postMessage({ type: 'copy', text });
    button.classList.add('copied');
    button.replaceChildren(icon('check'));
    window.setTimeout(() => {
      button.classList.remove('copied');
      button.replaceChildren(icon('copy'));
    }, 1500);
  });
  return button;
}

function heading(text: string, extra: Node[] = []): HTMLElement {
  return element('div', { className: 'section-heading' }, [element('h2', { text }), ...extra]);
}

function renderKeyValue(section: KeyValueSection): HTMLElement {
  const list = element('dl', { className: 'key-value' });
  for (const item of section.items) {
    const value = element('dd', { text: item.value });
    if (item.emphasis !== undefined) {
      value.classList.add(`emphasis-${item.emphasis}`);
      const marker = { good: 'pass', bad: 'error', warning: 'warning', strong: undefined }[item.emphasis];
      if (marker !== undefined) {
        value.prepend(icon(marker), document.createTextNode(' '));
      }
    }
    list.append(element('dt', { text: item.key }), value);
  }
  return element('section', { className: 'section' }, [heading(section.heading), list]);
}

function renderTable(section: TableSection): HTMLElement {
  const headRow = element(
    'tr',
    {},
    section.columns.map((column) => element('th', { text: column, attributes: { scope: 'col' } })),
  );
  const body = element('tbody');
  for (const row of section.rows) {
    const cells = section.columns.map((_column, position) => element('td', { text: row[position] ?? '' }));
    body.append(element('tr', {}, cells));
  }
  const table = element('table', {}, [element('thead', {}, [headRow]), body]);
  return element('section', { className: 'section' }, [heading(section.heading), element('div', { className: 'table-scroll' }, [table])]);
}

function renderCommands(section: CommandsSection): HTMLElement {
  const list = element('ol', { className: 'commands' });
  for (const command of section.commands) {
    list.append(
      element('li', {}, [element('pre', {}, [element('code', { text: command })]), copyButton(command, 'Copy command')]),
    );
  }
  const copyAll = copyButton(section.commands.join('\n'), 'Copy all commands');
  return element('section', { className: 'section' }, [heading(section.heading, [copyAll]), list]);
}

function renderNotice(section: NoticeSection): HTMLElement {
  const iconName = { info: 'info', warning: 'warning', error: 'error' }[section.level];
  return element('section', { className: `notice notice-${section.level}`, attributes: { role: section.level === 'error' ? 'alert' : 'note' } }, [
    icon(iconName),
    element('p', { text: section.text }),
  ]);
}

function renderCode(section: CodeSection): HTMLElement {
  return element('section', { className: 'section' }, [
    heading(section.heading, [copyButton(section.text, 'Copy')]),
    element('pre', { className: 'code' }, [element('code', { text: section.text })]),
  ]);
}

function renderSection(section: ReportSection): HTMLElement {
  switch (section.kind) {
    case 'keyValue':
      return renderKeyValue(section);
    case 'table':
      return renderTable(section);
    case 'commands':
      return renderCommands(section);
    case 'notice':
      return renderNotice(section);
    case 'code':
      return renderCode(section);
  }
}

function render(report: Report): void {
  const root = document.getElementById('report');
  if (root === null) {
    return;
  }
  document.title = report.title;
  const header = element('header', {}, [element('h1', { text: report.title })]);
  if (report.subtitle !== undefined) {
    header.append(element('p', { className: 'subtitle', text: report.subtitle }));
  }
  root.replaceChildren(header, ...report.sections.map(renderSection));
  vscode.setState({ report });
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = event.data;
  if (!isHostToWebviewMessage(message)) {
    return;
  }
  switch (message.type) {
    case 'render':
      render(message.report);
      break;
  }
});

// Show the last report at once after a reload, then ask the host for the current one.
const saved = vscode.getState();
if (isReportWebviewState(saved)) {
  render(saved.report);
}
vscode.postMessage({ type: 'ready' });

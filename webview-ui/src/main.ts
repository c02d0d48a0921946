/**
 * The report webview: renders a `Report` (src/protocol/report.ts) with DOM APIs only. All
 * report text goes through `textContent`, never `innerHTML`, so cluster data stays text.
 * Theme comes from `--vscode-*` variables (webview.css), icons from the codicon font. The page
 * has no words of its own: its button labels come from the host, in the display language.
 */

import { isHostToWebviewMessage, isReportWebviewState } from '../../src/protocol/report.js';
import type {
  ActionsSection,
  CodeSection,
  CommandsSection,
  KeyValueSection,
  NoticeSection,
  Report,
  ReportLabels,
  ReportSection,
  ReportWebviewState,
  TableSection,
  WebviewToHostMessage,
} from '../../src/protocol/report.js';

import { element, icon, startPage, vscodeApi } from './bootstrap.js';

const vscode = vscodeApi<WebviewToHostMessage, ReportWebviewState>();

function copyButton(text: string, label: string, copied: string): HTMLButtonElement {
  const button = element('button', { className: 'copy', attributes: { type: 'button', title: label, 'aria-label': label } }, [
    icon('copy'),
  ]);
  button.addEventListener('click', () => {
    vscode.postMessage({ type: 'copy', text });
    button.classList.add('copied');
    button.replaceChildren(icon('check'));
    button.title = copied;
    window.setTimeout(() => {
      button.classList.remove('copied');
      button.replaceChildren(icon('copy'));
      button.title = label;
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

function renderCommands(section: CommandsSection, labels: ReportLabels): HTMLElement {
  const list = element('ol', { className: 'commands' });
  for (const command of section.commands) {
    list.append(
      element('li', {}, [element('pre', {}, [element('code', { text: command })]), copyButton(command, labels.copyCommand, labels.copied)]),
    );
  }
  const copyAll = copyButton(section.commands.join('\n'), labels.copyAllCommands, labels.copied);
  return element('section', { className: 'section' }, [heading(section.heading, [copyAll]), list]);
}

function renderNotice(section: NoticeSection): HTMLElement {
  const iconName = { info: 'info', warning: 'warning', error: 'error' }[section.level];
  return element('section', { className: `notice notice-${section.level}`, attributes: { role: section.level === 'error' ? 'alert' : 'note' } }, [
    icon(iconName),
    element('p', { text: section.text }),
  ]);
}

function renderCode(section: CodeSection, labels: ReportLabels): HTMLElement {
  return element('section', { className: 'section' }, [
    heading(section.heading, [copyButton(section.text, labels.copy, labels.copied)]),
    element('pre', { className: 'code' }, [element('code', { text: section.text })]),
  ]);
}

function renderActions(section: ActionsSection, position: number): HTMLElement {
  const buttons = section.actions.map((action, index) => {
    const children: Node[] = [];
    if (action.icon !== undefined && /^[a-z0-9-]+$/.test(action.icon)) {
      children.push(icon(action.icon));
    }
    children.push(element('span', { text: action.label }));
    const button = element('button', { className: 'action', attributes: { type: 'button' } }, children);
    button.addEventListener('click', () => vscode.postMessage({ type: 'action', section: position, action: index }));
    return button;
  });
  return element('section', { className: 'actions' }, buttons);
}

function renderSection(section: ReportSection, labels: ReportLabels, position: number): HTMLElement {
  switch (section.kind) {
    case 'actions':
      return renderActions(section, position);
    case 'keyValue':
      return renderKeyValue(section);
    case 'table':
      return renderTable(section);
    case 'commands':
      return renderCommands(section, labels);
    case 'notice':
      return renderNotice(section);
    case 'code':
      return renderCode(section, labels);
  }
}

function render(report: Report, labels: ReportLabels, language: string): void {
  const root = document.getElementById('report');
  if (root === null) {
    return;
  }
  document.documentElement.lang = language;
  document.title = report.title;
  const header = element('header', {}, [element('h1', { text: report.title })]);
  if (report.subtitle !== undefined) {
    header.append(element('p', { className: 'subtitle', text: report.subtitle }));
  }
  root.replaceChildren(header, ...report.sections.map((section, position) => renderSection(section, labels, position)));
  vscode.setState({ report, labels, language });
}

// Show the last report at once after a reload (when it was saved with its labels), then ask
// the host for the current one.
startPage(vscode, {
  isHostMessage: isHostToWebviewMessage,
  onMessage: (message) => {
    switch (message.type) {
      case 'render':
        render(message.report, message.labels, message.language);
        break;
    }
  },
  isState: isReportWebviewState,
  restore: (saved) => {
    if (saved.labels !== undefined) {
      render(saved.report, saved.labels, saved.language ?? document.documentElement.lang);
    }
  },
});

/**
 * The contract between the extension host and the report webview: a generic, typed report
 * model that diagnostics produce, and the messages both sides exchange. Imported by the host
 * (src/features/reportPanel.ts) and by the webview (webview-ui/src/main.ts); no `vscode`, no
 * DOM, no Node APIs here.
 *
 * Everything in a report is plain text. The webview renders it with `textContent` only, so
 * cluster data can never become markup or script.
 */

/** A key and its value in a key/value section. */
export interface KeyValueItem {
  readonly key: string;
  readonly value: string;
  /** How to stress the value: `good` (a check passed), `bad` (failed), `warning`, `strong`. */
  readonly emphasis?: Emphasis;
}

/** How a value is stressed. */
export type Emphasis = 'strong' | 'good' | 'warning' | 'bad';

/** A list of key/value pairs, e.g. the pod side of a veth pair. */
export interface KeyValueSection {
  readonly kind: 'keyValue';
  readonly heading: string;
  readonly items: readonly KeyValueItem[];
}

/** A table; every row has as many cells as there are columns (short rows are padded). */
export interface TableSection {
  readonly kind: 'table';
  readonly heading: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<readonly string[]>;
}

/** Shell commands the user can copy, e.g. the tutorial's manual steps filled with real values. */
export interface CommandsSection {
  readonly kind: 'commands';
  readonly heading: string;
  readonly commands: readonly string[];
}

/** A highlighted sentence: an explanation, a warning, an error. */
export interface NoticeSection {
  readonly kind: 'notice';
  readonly level: 'info' | 'warning' | 'error';
  readonly text: string;
}

/** Preformatted text, e.g. `/etc/resolv.conf` or raw tool output; copyable. */
export interface CodeSection {
  readonly kind: 'code';
  readonly heading: string;
  readonly text: string;
}

/** A JSON-safe argument of a report action (the command narrows it itself). */
export type ReportActionArgument = string | number | boolean | null | { readonly [key: string]: string | number | boolean | null };

/** A button that runs one of the extension's own commands, e.g. "Trace Service Path" on a node not in IPVS mode. */
export interface ReportAction {
  readonly label: string;
  /** A `kubeNet.*` command id; the host runs no other. */
  readonly command: string;
  readonly args: readonly ReportActionArgument[];
  /** A codicon name (letters, digits and `-`). */
  readonly icon?: string;
}

/** A row of buttons. */
export interface ActionsSection {
  readonly kind: 'actions';
  readonly actions: readonly ReportAction[];
}

/** One section of a report. */
export type ReportSection = KeyValueSection | TableSection | CommandsSection | NoticeSection | CodeSection | ActionsSection;

/** A report shown in a webview panel. */
export interface Report {
  readonly title: string;
  readonly subtitle?: string;
  readonly sections: readonly ReportSection[];
}

/**
 * The webview's own words (its buttons and their states), in VS Code's display language. The
 * host translates them and sends them with every report; the webview has no text of its own.
 */
export interface ReportLabels {
  /** The copy button of a code section. */
  readonly copy: string;
  /** The copy button of one command. */
  readonly copyCommand: string;
  /** The copy button of a commands section. */
  readonly copyAllCommands: string;
  /** A copy button's title for a moment after it was used. */
  readonly copied: string;
}

/** Host → webview: show this report, with the webview's labels and the display language. */
export interface RenderMessage {
  readonly type: 'render';
  readonly report: Report;
  readonly labels: ReportLabels;
  /** A BCP 47 tag such as `en` or `ru` (the page's `lang`). */
  readonly language: string;
}

/** Webview → host: the page has loaded and listens. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Webview → host: put this text on the clipboard. */
export interface CopyMessage {
  readonly type: 'copy';
  readonly text: string;
}

/** Everything the host sends. */
export type HostToWebviewMessage = RenderMessage;

/** Everything the webview sends. */
export type WebviewToHostMessage = ReadyMessage | CopyMessage | ActionMessage;

/** Webview → host: the user pressed button `action` of the actions section at `section`. */
export interface ActionMessage {
  readonly type: 'action';
  readonly section: number;
  readonly action: number;
}

/**
 * A handler for every message type of `M`: adding a message type without handling it fails
 * to compile.
 */
export type MessageHandlers<M extends { readonly type: string }> = {
  readonly [K in M['type']]: (message: Extract<M, { readonly type: K }>) => void;
};

/** Longest text the host accepts in a `copy` message. */
export const maxCopyLength = 1_000_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isString);
}

const emphases = new Set<unknown>(['strong', 'good', 'warning', 'bad']);
const levels = new Set<unknown>(['info', 'warning', 'error']);

function isKeyValueItem(value: unknown): value is KeyValueItem {
  return isRecord(value) && isString(value.key) && isString(value.value) && (value.emphasis === undefined || emphases.has(value.emphasis));
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isActionArgument(value: unknown): value is ReportActionArgument {
  const scalar = (item: unknown): boolean => item === null || typeof item === 'string' || typeof item === 'boolean' || (typeof item === 'number' && Number.isFinite(item));
  return scalar(value) || (isRecord(value) && Object.values(value).every(scalar));
}

/** Runtime check of an action: a `kubeNet.` command, JSON-safe arguments, a plain icon name. */
export function isReportAction(value: unknown): value is ReportAction {
  return (
    isRecord(value) &&
    isString(value.label) &&
    isString(value.command) &&
    /^kubeNet\.[A-Za-z]+$/.test(value.command) &&
    Array.isArray(value.args) &&
    value.args.every(isActionArgument) &&
    (value.icon === undefined || (isString(value.icon) && /^[a-z0-9-]{1,40}$/.test(value.icon)))
  );
}

/** Runtime check of one section. */
export function isReportSection(value: unknown): value is ReportSection {
  if (!isRecord(value)) {
    return false;
  }
  switch (value.kind) {
    case 'keyValue':
      return isString(value.heading) && Array.isArray(value.items) && value.items.every(isKeyValueItem);
    case 'table':
      return (
        isString(value.heading) &&
        isStringArray(value.columns) &&
        Array.isArray(value.rows) &&
        value.rows.every((row) => isStringArray(row))
      );
    case 'commands':
      return isString(value.heading) && isStringArray(value.commands);
    case 'notice':
      return levels.has(value.level) && isString(value.text);
    case 'code':
      return isString(value.heading) && isString(value.text);
    case 'actions':
      return Array.isArray(value.actions) && value.actions.every(isReportAction);
    default:
      return false;
  }
}

/** Runtime check of a report (used on restored webview state and on incoming data). */
export function isReport(value: unknown): value is Report {
  return (
    isRecord(value) &&
    isString(value.title) &&
    (value.subtitle === undefined || isString(value.subtitle)) &&
    Array.isArray(value.sections) &&
    value.sections.every(isReportSection)
  );
}

/** Runtime check of what the webview sends; the host drops anything else. */
export function isWebviewToHostMessage(value: unknown): value is WebviewToHostMessage {
  if (!isRecord(value)) {
    return false;
  }
  switch (value.type) {
    case 'ready':
      return true;
    case 'copy':
      return isString(value.text) && value.text.length <= maxCopyLength;
    case 'action':
      return isIndex(value.section) && isIndex(value.action);
    default:
      return false;
  }
}

/** Runtime check of the labels. */
export function isReportLabels(value: unknown): value is ReportLabels {
  return isRecord(value) && isString(value.copy) && isString(value.copyCommand) && isString(value.copyAllCommands) && isString(value.copied);
}

/** A language tag the page may carry in its `lang` attribute. */
export function isLanguageTag(value: unknown): value is string {
  return isString(value) && /^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(value);
}

/** Runtime check of what the host sends; the webview drops anything else. */
export function isHostToWebviewMessage(value: unknown): value is HostToWebviewMessage {
  return isRecord(value) && value.type === 'render' && isReport(value.report) && isReportLabels(value.labels) && isLanguageTag(value.language);
}

/**
 * The texts the webview may ask to copy for `report`: each command, each commands section as
 * a whole, and each code section. The host copies nothing else.
 */
export function copyableTexts(report: Report): Set<string> {
  const texts = new Set<string>();
  for (const section of report.sections) {
    if (section.kind === 'commands') {
      for (const command of section.commands) {
        texts.add(command);
      }
      texts.add(section.commands.join('\n'));
    } else if (section.kind === 'code') {
      texts.add(section.text);
    }
  }
  return texts;
}

/** The action a webview's `action` message points at, if the report has it. */
export function reportActionAt(report: Report, section: number, action: number): ReportAction | undefined {
  const found = report.sections[section];
  return found?.kind === 'actions' ? found.actions[action] : undefined;
}

/** The state the webview keeps with `setState`, restored after reloads and restarts. */
export interface ReportWebviewState {
  readonly report: Report;
  /** The labels and language it was last shown with (absent in state saved by older versions). */
  readonly labels?: ReportLabels;
  readonly language?: string;
}

/** Runtime check of restored webview state. */
export function isReportWebviewState(value: unknown): value is ReportWebviewState {
  return (
    isRecord(value) &&
    isReport(value.report) &&
    (value.labels === undefined || isReportLabels(value.labels)) &&
    (value.language === undefined || isLanguageTag(value.language))
  );
}

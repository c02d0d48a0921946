/**
 * Hosts reports (src/protocol/report.ts) in webview panels: strict CSP with a nonce, assets
 * only from dist/, a `ready` handshake before the first post, messages validated at run time,
 * the report kept in webview state and restored by a serializer after a reload.
 *
 * Other features call `showReport(report, options)` on the `ReportPanels` service.
 */

import * as vscode from 'vscode';

import { copyableTexts, isReportWebviewState, isWebviewToHostMessage, reportActionAt } from '../protocol/report.js';
import type { HostToWebviewMessage, MessageHandlers, Report, ReportLabels, WebviewToHostMessage } from '../protocol/report.js';
import type { Logger } from '../util/log.js';
import { commandIds, webviewTypes } from './commandIds.js';
import { plainText } from './markdown.js';
import { copyToClipboard, pageLanguage, postToWebview, receiveMessage, webviewHtml, webviewPanelOptions, WebviewPanels } from './webviewHost.js';

/** Where and how to show a report. */
export interface ShowReportOptions {
  /**
   * Reports with the same key replace each other in one panel (e.g. `veth:<ns>/<pod>`);
   * without a key every report opens its own panel.
   */
  readonly key?: string;
  /**
   * Default: the column of the last report shown while it is open (so reports do not each open
   * a column further to the right), else beside the active editor.
   */
  readonly viewColumn?: vscode.ViewColumn;
  /** Keep the focus where it is. */
  readonly preserveFocus?: boolean;
}

/** A shown report; `update` replaces its content. */
export interface ReportHandle {
  readonly panel: vscode.WebviewPanel;
  update(report: Report): void;
  /** Fires when the user closes the panel. */
  readonly onDidDispose: vscode.Event<void>;
}

/** Creates and tracks report panels. */
export class ReportPanels implements vscode.Disposable {
  private readonly panels = new WebviewPanels<ReportPanelHost>();
  private readonly registration: vscode.Disposable;
  /** The last report shown, while its panel is open: new reports open in its column. */
  private lastShown: ReportPanelHost | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Logger,
  ) {
    this.registration = vscode.window.registerWebviewPanelSerializer(webviewTypes.report, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        if (!isReportWebviewState(state)) {
          this.log.debug('[ReportPanel] nothing to restore; closing the panel');
          panel.dispose();
          return;
        }
        this.log.debug('[ReportPanel] restoring a report panel');
        this.adopt(panel, state.report, undefined);
      },
    });
  }

  /** Shows `report` in a panel (a new one, or the one with the same `options.key`). */
  showReport(report: Report, options: ShowReportOptions = {}): ReportHandle {
    const viewColumn = options.viewColumn ?? this.lastShown?.panel.viewColumn;
    let host = this.panels.get(options.key);
    if (host !== undefined) {
      host.update(report);
      host.panel.reveal(viewColumn, options.preserveFocus ?? false);
    } else {
      const panel = vscode.window.createWebviewPanel(
        webviewTypes.report,
        plainText(report.title, 80),
        { viewColumn: viewColumn ?? vscode.ViewColumn.Beside, preserveFocus: options.preserveFocus ?? false },
        this.webviewOptions(),
      );
      host = this.adopt(panel, report, options.key);
    }
    if (host !== this.lastShown) {
      const shown = host;
      this.lastShown = shown;
      shown.onDidDispose(() => {
        if (this.lastShown === shown) {
          this.lastShown = undefined;
        }
      });
    }
    return host;
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return webviewPanelOptions(this.extensionUri, false);
  }

  private adopt(panel: vscode.WebviewPanel, report: Report, key: string | undefined): ReportPanelHost {
    panel.webview.options = this.webviewOptions();
    return this.panels.add(new ReportPanelHost(panel, report, this.extensionUri, this.log), key);
  }

  dispose(): void {
    this.registration.dispose();
    this.panels.dispose();
  }
}

/** One panel: its HTML, its handshake and its messages. */
class ReportPanelHost implements ReportHandle {
  private report: Report;
  private ready = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  private readonly handlers: MessageHandlers<WebviewToHostMessage> = {
    ready: () => {
      this.ready = true;
      this.post(renderMessage(this.report));
    },
    copy: (message) => {
      // Only what the report offers for copying; a compromised page cannot fill the clipboard.
      if (!copyableTexts(this.report).has(message.text)) {
        this.log.warn('[ReportPanel] ignored a copy request for text that is not in the report');
        return;
      }
      copyToClipboard(message.text, this.log, '[ReportPanel]');
    },
    action: (message) => {
      // Only a button of this report, and only one of the extension's own commands.
      const action = reportActionAt(this.report, message.section, message.action);
      if (action === undefined || !(Object.values(commandIds) as string[]).includes(action.command)) {
        this.log.warn('[ReportPanel] ignored an action that is not in the report');
        return;
      }
      void vscode.commands.executeCommand(action.command, ...action.args).then(undefined, (error: unknown) =>
        this.log.error(`[ReportPanel] ${action.command} failed: ${String(error)}`),
      );
    },
  };

  constructor(
    readonly panel: vscode.WebviewPanel,
    report: Report,
    extensionUri: vscode.Uri,
    private readonly log: Logger,
  ) {
    this.report = report;
    this.disposables.push(
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidChangeViewState(() => {
        // With retainContextWhenHidden off, a hidden panel's page is discarded; it says
        // `ready` again when it comes back.
        if (!panel.visible) {
          this.ready = false;
        }
      }),
      panel.onDidDispose(() => this.disposeHost()),
    );
    panel.webview.html = reportHtml(panel.webview, extensionUri);
  }

  update(report: Report): void {
    this.report = report;
    this.panel.title = plainText(report.title, 80);
    if (this.ready) {
      this.post(renderMessage(report));
    }
  }

  private receive(message: unknown): void {
    receiveMessage(message, isWebviewToHostMessage, this.handlers, this.log, '[ReportPanel]');
  }

  private post(message: HostToWebviewMessage): void {
    postToWebview(this.panel, message, this.log, '[ReportPanel]', () =>
      this.log.debug('[ReportPanel] message not delivered (panel hidden); it will be sent on the next ready'),
    );
  }

  private disposeHost(): void {
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

/** The webview's own words, in the display language. */
export function reportLabels(): ReportLabels {
  return {
    copy: vscode.l10n.t('Copy'),
    copyCommand: vscode.l10n.t('Copy command'),
    copyAllCommands: vscode.l10n.t('Copy all commands'),
    copied: vscode.l10n.t('Copied'),
  };
}

function renderMessage(report: Report): HostToWebviewMessage {
  return { type: 'render', report, labels: reportLabels(), language: pageLanguage() };
}

/** The page: the report arrives by message. */
export function reportHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, { title: vscode.l10n.t('Report'), stylesheet: 'webview.css', script: 'webview.js', mainId: 'report', live: true });
}

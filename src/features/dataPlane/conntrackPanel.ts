/**
 * Hosts the conntrack view (src/protocol/conntrack.ts, webview-ui/src/conntrack.ts) in webview
 * panels: strict CSP with a nonce, assets only from dist/, a `ready` handshake, then the view
 * model and the entries in chunks (encoded once, kept as typed arrays, re-sent when the page
 * reloads). Messages from the page are checked at run time; it may ask to refresh, to open the
 * raw text, and to copy one of its own commands. After a restart a serializer restores the
 * panel from its state (without entries; Refresh reads them again).
 */

import * as vscode from 'vscode';

import { CancelledError } from '../../kube/errors.js';
import { encodeChunks, isConntrackWebviewMessage, isConntrackWebviewState } from '../../protocol/conntrack.js';
import type { ConntrackHostMessage, ConntrackTarget, ConntrackViewModel, ConntrackWebviewMessage, EncodableEntry, RowsMessage } from '../../protocol/conntrack.js';
import type { MessageHandlers } from '../../protocol/report.js';
import type { Logger } from '../../util/log.js';
import { webviewTypes } from '../commandIds.js';
import { plainText } from '../markdown.js';
import { copyToClipboard, postToWebview, receiveMessage, webviewHtml, webviewPanelOptions, WebviewPanels } from '../webviewHost.js';

/** A listing ready to show. */
export interface ConntrackData {
  readonly view: ConntrackViewModel;
  readonly entries: readonly EncodableEntry[];
  /** `conntrack -L` as printed (cluster text), for "Open Raw Text". */
  readonly raw: string;
}

/** What the panels need from the feature that owns them. */
export interface ConntrackPanelServices {
  readonly extensionUri: vscode.Uri;
  readonly log: Logger;
  /** Reads the target again (under its own progress; throws on failure, `CancelledError` when cancelled). */
  readonly load: (target: ConntrackTarget) => Promise<ConntrackData>;
  /** Opens the raw text of a listing as a document. */
  readonly openRaw: (target: ConntrackTarget, raw: string) => Promise<void>;
  /** Shows a failure of `load` (the command wrapper's way). */
  readonly reportError: (error: unknown) => void;
  /** A failure as one sentence, for the page. */
  readonly describeError: (error: unknown) => string;
}

/** Creates and tracks conntrack panels, one per key. */
export class ConntrackPanels implements vscode.Disposable {
  private readonly panels = new WebviewPanels<ConntrackPanelHost>();
  private readonly registration: vscode.Disposable;

  constructor(private readonly services: ConntrackPanelServices) {
    this.registration = vscode.window.registerWebviewPanelSerializer(webviewTypes.conntrack, {
      deserializeWebviewPanel: async (panel, state: unknown) => {
        if (!isConntrackWebviewState(state)) {
          this.services.log.debug('[Conntrack] nothing to restore; closing the panel');
          panel.dispose();
          return;
        }
        this.services.log.debug('[Conntrack] restoring a conntrack panel (without entries)');
        this.adopt(panel, state.view.target, undefined, null);
      },
    });
  }

  /** Shows `data` in the panel of `key` (a new one, or the existing one updated). */
  show(key: string, target: ConntrackTarget, data: ConntrackData, viewColumn?: vscode.ViewColumn): vscode.WebviewPanel {
    const existing = this.panels.get(key);
    if (existing !== undefined) {
      existing.update(data);
      existing.panel.reveal(viewColumn, false);
      return existing.panel;
    }
    const panel = vscode.window.createWebviewPanel(webviewTypes.conntrack, plainText(data.view.title, 80), { viewColumn: viewColumn ?? vscode.ViewColumn.Beside, preserveFocus: false }, this.webviewOptions());
    this.adopt(panel, target, key, data);
    return panel;
  }

  private webviewOptions(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // The page holds up to 262,144 entries; rebuilding it on every tab switch would send them all again.
    return webviewPanelOptions(this.services.extensionUri, true);
  }

  private adopt(panel: vscode.WebviewPanel, target: ConntrackTarget, key: string | undefined, data: ConntrackData | null): ConntrackPanelHost {
    panel.webview.options = this.webviewOptions();
    return this.panels.add(new ConntrackPanelHost(panel, target, data, this.services), key);
  }

  dispose(): void {
    this.registration.dispose();
    this.panels.dispose();
  }
}

/** A listing as the panel keeps it: the model, the encoded chunks, the raw text. */
interface Held {
  readonly view: ConntrackViewModel;
  readonly chunks: readonly RowsMessage[];
  readonly raw: string;
}

/** One panel: its page, its handshake, its messages. */
class ConntrackPanelHost {
  private held: Held | null;
  private generation = 0;
  /** Increases with every send: a page that says `ready` again restarts the send. */
  private sends = 0;
  private ready = false;
  private refreshing = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposeEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposeEmitter.event;

  private readonly handlers: MessageHandlers<ConntrackWebviewMessage> = {
    ready: () => {
      this.ready = true;
      void this.send();
    },
    refresh: () => {
      void this.refresh();
    },
    openRaw: () => {
      if (this.held === null || this.held.raw === '') {
        return;
      }
      this.services.openRaw(this.target, this.held.raw).then(undefined, (error: unknown) => this.services.reportError(error));
    },
    copy: (message) => {
      // Only the page's own commands; a compromised page cannot fill the clipboard.
      if (this.held === null || !this.held.view.commands.includes(message.text)) {
        this.services.log.warn('[Conntrack] ignored a copy request for text that is not in the view');
        return;
      }
      copyToClipboard(message.text, this.services.log, '[Conntrack]');
    },
  };

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly target: ConntrackTarget,
    data: ConntrackData | null,
    private readonly services: ConntrackPanelServices,
  ) {
    this.held = data === null ? null : this.hold(data);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      panel.onDidDispose(() => this.disposeHost()),
    );
    panel.webview.html = conntrackHtml(panel.webview, services.extensionUri);
  }

  private hold(data: ConntrackData): Held {
    this.generation++;
    // Encoded once: the entry objects can go, the typed arrays are a fraction of their size.
    return { view: data.view, chunks: [...encodeChunks(data.entries, this.generation)], raw: data.raw };
  }

  update(data: ConntrackData): void {
    this.held = this.hold(data);
    this.panel.title = plainText(data.view.title, 80);
    if (this.ready) {
      void this.send();
    }
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) {
      return;
    }
    this.refreshing = true;
    this.post({ type: 'status', busy: true, error: null });
    try {
      const data = await this.services.load(this.target);
      this.update(data);
      this.post({ type: 'status', busy: false, error: null });
    } catch (error) {
      const cancelled = error instanceof CancelledError;
      this.post({ type: 'status', busy: false, error: cancelled ? null : this.services.describeError(error) });
      this.services.reportError(error);
    } finally {
      this.refreshing = false;
    }
  }

  /** Sends the model, then the chunks one per turn (a newer listing stops an older send). */
  private async send(): Promise<void> {
    const held = this.held;
    if (held === null) {
      return;
    }
    const generation = this.generation;
    const send = ++this.sends;
    this.post({ type: 'init', generation, view: held.view });
    for (const chunk of held.chunks) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.sends !== send || this.held !== held || !this.ready) {
        return;
      }
      this.post(chunk);
    }
    this.post({ type: 'done', generation });
  }

  private receive(message: unknown): void {
    receiveMessage(message, isConntrackWebviewMessage, this.handlers, this.services.log, '[Conntrack]');
  }

  private post(message: ConntrackHostMessage): void {
    postToWebview(this.panel, message, this.services.log, '[Conntrack]');
  }

  private disposeHost(): void {
    this.held = null;
    this.ready = false;
    for (const disposable of this.disposables.splice(0)) {
      disposable.dispose();
    }
    this.disposeEmitter.fire();
    this.disposeEmitter.dispose();
  }
}

/** The page: everything arrives by message. */
export function conntrackHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webviewHtml(webview, extensionUri, { title: vscode.l10n.t('Tracked connections'), stylesheet: 'conntrack.css', script: 'conntrack.js', mainId: 'conntrack' });
}

/**
 * What every webview panel of the extension shares (src/features/reportPanel.ts,
 * src/features/dataPlane/conntrackPanel.ts): the panel options (scripts on, assets only from
 * dist/), the HTML shell with its strict CSP and one nonce, the page language, run-time checks
 * of what the page sends before a typed handler sees it, posting with a logged failure, copying
 * a page's text to the clipboard, and the set of open panels by key.
 */

import { randomBytes } from 'node:crypto';

import * as vscode from 'vscode';

import { isLanguageTag } from '../protocol/report.js';
import type { MessageHandlers } from '../protocol/report.js';
import type { Logger } from '../util/log.js';

/** Options of a panel: scripts on, no command links or forms, resources only from dist/. */
export function webviewPanelOptions(extensionUri: vscode.Uri, retainContextWhenHidden: boolean): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    enableCommandUris: false,
    enableForms: false,
    retainContextWhenHidden,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist')],
  };
}

/** VS Code's display language as a page `lang` (English when it is not a plain tag). */
export function pageLanguage(): string {
  return isLanguageTag(vscode.env.language) ? vscode.env.language : 'en';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** The page's parts: constants of the extension, never cluster data. */
export interface WebviewPage {
  /** The page title (escaped here). */
  readonly title: string;
  /** The stylesheet in dist/. */
  readonly stylesheet: string;
  /** The script in dist/. */
  readonly script: string;
  /** The id of the `<main>` element the script fills. */
  readonly mainId: string;
  /** Whether screen readers announce changes of `<main>` (`aria-live="polite"`). */
  readonly live?: boolean;
}

/** The page: no data in it (everything arrives by message), assets from dist/, one nonce. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, page: WebviewPage): string {
  const nonce = randomBytes(16).toString('hex');
  const asset = (...segments: string[]): string => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', ...segments)).toString();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="${pageLanguage()}">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" id="vscode-codicon-stylesheet" href="${asset('codicons', 'codicon.css')}" nonce="${nonce}">
<link rel="stylesheet" href="${asset(page.stylesheet)}" nonce="${nonce}">
<title>${escapeHtml(page.title)}</title>
</head>
<body>
<main id="${page.mainId}"${page.live === true ? ' aria-live="polite"' : ''}></main>
<script nonce="${nonce}" src="${asset(page.script)}"></script>
</body>
</html>`;
}

/**
 * Hands a message from the page to its handler once `isMessage` accepts it; anything else is
 * dropped with a warning. `tag` is the log component, e.g. `[ReportPanel]`.
 */
export function receiveMessage<M extends { readonly type: string }>(
  message: unknown,
  isMessage: (value: unknown) => value is M,
  handlers: MessageHandlers<M>,
  log: Logger,
  tag: string,
): void {
  if (!isMessage(message)) {
    log.warn(`${tag} dropped a malformed message from the webview`);
    return;
  }
  // The handler map has one entry per message type, so this one takes this message.
  (handlers[message.type as M['type']] as (message: M) => void)(message);
}

/** Posts to the page; a failure is logged, an undelivered message goes to `onUndelivered`. */
export function postToWebview(panel: vscode.WebviewPanel, message: unknown, log: Logger, tag: string, onUndelivered?: () => void): void {
  void panel.webview.postMessage(message).then(
    (delivered) => {
      if (!delivered) {
        onUndelivered?.();
      }
    },
    (error: unknown) => log.error(`${tag} postMessage failed: ${String(error)}`),
  );
}

/** Copies `text` (already checked against what the page may copy) and says so in the status bar. */
export function copyToClipboard(text: string, log: Logger, tag: string): void {
  void vscode.env.clipboard.writeText(text).then(
    () => vscode.window.setStatusBarMessage(vscode.l10n.t('Copied to the clipboard'), 3000),
    (error: unknown) => log.error(`${tag} clipboard write failed: ${String(error)}`),
  );
}

/** A panel host as `WebviewPanels` tracks it. */
export interface TrackedPanel {
  readonly panel: vscode.WebviewPanel;
  readonly onDidDispose: vscode.Event<void>;
}

/** The open panels of one kind, by key where they have one; disposing closes them all. */
export class WebviewPanels<H extends TrackedPanel> implements vscode.Disposable {
  private readonly byKey = new Map<string, H>();
  private readonly hosts = new Set<H>();

  /** The open panel of `key`. */
  get(key: string | undefined): H | undefined {
    return key === undefined ? undefined : this.byKey.get(key);
  }

  /** Tracks `host` (under `key` if given) until its panel closes. */
  add(host: H, key: string | undefined): H {
    this.hosts.add(host);
    if (key !== undefined) {
      this.byKey.set(key, host);
    }
    host.onDidDispose(() => {
      this.hosts.delete(host);
      if (key !== undefined && this.byKey.get(key) === host) {
        this.byKey.delete(key);
      }
    });
    return host;
  }

  dispose(): void {
    for (const host of [...this.hosts]) {
      host.panel.dispose();
    }
  }
}

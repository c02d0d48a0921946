/**
 * Read-only documents of raw tool output (`conntrack -L` as printed), under the
 * `kubenet-output:` scheme, so users get search, copy and diff on it. The text stays in memory
 * while its document is open (and a short while after it closes); opening the same path again
 * replaces the text.
 */

import * as vscode from 'vscode';

import { safeNodeName, safeTitle } from '../rules/rulesUri.js';
import type { Logger } from '../../util/log.js';

/** The URI scheme of raw output documents. */
export const outputScheme = 'kubenet-output';

/** Text kept after its document closed, in case it reopens at once. */
const closedGraceMilliseconds = 30_000;
/** Documents kept at most (the oldest closed ones go first). */
const maxDocuments = 16;

interface Content {
  text: string;
  dropTimer?: NodeJS.Timeout;
}

/** The content provider and `open` behind it. */
export class OutputDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;
  private readonly contents = new Map<string, Content>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly log: Logger) {
    this.subscriptions.push(
      this.changes,
      vscode.workspace.registerTextDocumentContentProvider(outputScheme, this),
      vscode.workspace.onDidCloseTextDocument((document) => this.onClosed(document.uri)),
      vscode.workspace.onDidOpenTextDocument((document) => this.onOpened(document.uri)),
    );
  }

  /** The URI of a node's output document titled `title` (`kubenet-output:/<node>/<node> <title>.txt`). */
  uriOf(node: string, title: string): vscode.Uri {
    const safeNode = safeNodeName(node);
    return vscode.Uri.from({ scheme: outputScheme, path: `/${safeNode}/${safeNode} ${safeTitle(title)}.txt` });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString())?.text ?? vscode.l10n.t('This output is no longer held in memory. Run the command again.');
  }

  /** Shows `text` as a read-only plain-text document and returns its editor. */
  async open(node: string, title: string, text: string): Promise<vscode.TextEditor> {
    const uri = this.uriOf(node, title);
    const key = uri.toString();
    const existing = this.contents.get(key);
    if (existing?.dropTimer !== undefined) {
      clearTimeout(existing.dropTimer);
    }
    this.contents.delete(key);
    this.contents.set(key, { text });
    this.trim();
    if (existing !== undefined) {
      this.changes.fire(uri);
    }
    this.log.info(`opening ${key} (${text.length} characters)`);
    let document = await vscode.workspace.openTextDocument(uri);
    if (document.languageId !== 'plaintext') {
      document = await vscode.languages.setTextDocumentLanguage(document, 'plaintext');
    }
    return vscode.window.showTextDocument(document, { preview: false });
  }

  private trim(): void {
    const open = new Set(vscode.workspace.textDocuments.map((document) => document.uri.toString()));
    for (const key of [...this.contents.keys()]) {
      if (this.contents.size <= maxDocuments) {
        break;
      }
      if (!open.has(key)) {
        this.drop(key);
      }
    }
  }

  private drop(key: string): void {
    const content = this.contents.get(key);
    if (content?.dropTimer !== undefined) {
      clearTimeout(content.dropTimer);
    }
    this.contents.delete(key);
  }

  private onOpened(uri: vscode.Uri): void {
    const content = uri.scheme === outputScheme ? this.contents.get(uri.toString()) : undefined;
    if (content?.dropTimer !== undefined) {
      clearTimeout(content.dropTimer);
      content.dropTimer = undefined;
    }
  }

  private onClosed(uri: vscode.Uri): void {
    if (uri.scheme !== outputScheme) {
      return;
    }
    const key = uri.toString();
    const content = this.contents.get(key);
    if (content === undefined || content.dropTimer !== undefined) {
      return;
    }
    content.dropTimer = setTimeout(() => {
      if (this.contents.get(key) === content) {
        this.contents.delete(key);
      }
    }, closedGraceMilliseconds);
  }

  dispose(): void {
    for (const key of [...this.contents.keys()]) {
      this.drop(key);
    }
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
  }
}

/**
 * Read-only rules documents: a node's `iptables-save` or `nft list …` output under the
 * `kubenet-rules:` scheme, titled with the node and backend, in the `iptables` or
 * `nftables` language, so search, copy, diff, the outline and navigation all work on it.
 * Opening the same node and backend again replaces the text; "Refresh" fetches it again
 * when the opener gave a way to.
 */
import * as vscode from 'vscode';

import type { Logger } from '../../util/log.js';
import type { RulesDocumentInput } from './rulesUri.js';
import { isRulesBackend, languageOfBackend, rulesDocumentPath, rulesScheme } from './rulesUri.js';

export type { RulesBackend, RulesDocumentInput } from './rulesUri.js';
export { rulesScheme } from './rulesUri.js';

interface Content {
  text: string;
  refresh?: () => Promise<string>;
  /** Pending removal after the document closed. */
  dropTimer?: NodeJS.Timeout;
}

/** Text kept after its document closed, in case it reopens at once (a language change closes and reopens). */
const closedGraceMilliseconds = 30_000;

/** The content provider and the `openRulesDocument` behind it. */
export class RulesDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changes = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changes.event;
  private readonly contents = new Map<string, Content>();
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(private readonly log: Logger) {
    this.subscriptions.push(
      this.changes,
      vscode.workspace.onDidCloseTextDocument((document) => this.onClosed(document.uri)),
      vscode.workspace.onDidOpenTextDocument((document) => this.onOpened(document.uri)),
    );
  }

  /** The URI a rules document of this node and backend has. */
  uriOf(input: Pick<RulesDocumentInput, 'node' | 'backend' | 'title'>): vscode.Uri {
    return vscode.Uri.from({ scheme: rulesScheme, path: rulesDocumentPath(input) });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    const content = this.contents.get(uri.toString());
    if (content !== undefined) {
      return content.text;
    }
    // `#` starts a comment in both languages.
    return `# ${vscode.l10n.t('These rules are no longer held in memory. Open them again from the node.')}\n`;
  }

  /**
   * Shows `input.text` as a read-only document (`kubenet-rules:/<node>/<node> <title>.iptables`
   * or `.nft`) in the `iptables` or `nftables` language and returns its editor. Opening the
   * same node and backend again updates the open document in place.
   */
  async openRulesDocument(input: RulesDocumentInput): Promise<vscode.TextEditor> {
    if (!isRulesBackend(input.backend)) {
      throw new TypeError(`unknown rules backend ${JSON.stringify(input.backend)}`);
    }
    const uri = this.uriOf(input);
    const key = uri.toString();
    const existing = this.contents.get(key);
    if (existing?.dropTimer !== undefined) {
      clearTimeout(existing.dropTimer);
    }
    const text = typeof input.text === 'string' ? input.text : '';
    this.contents.set(key, { text, refresh: input.refresh ?? existing?.refresh });
    if (existing !== undefined) {
      this.changes.fire(uri);
    }
    this.log.info(`opening ${key} (${text.length} characters)`);
    let document = await vscode.workspace.openTextDocument(uri);
    const language = languageOfBackend(input.backend);
    if (document.languageId !== language) {
      document = await vscode.languages.setTextDocumentLanguage(document, language);
    }
    return vscode.window.showTextDocument(document, { preview: false });
  }

  /** True when the document can fetch its rules again. */
  canRefresh(uri: vscode.Uri): boolean {
    return this.contents.get(uri.toString())?.refresh !== undefined;
  }

  /** Fetches the rules again (through the opener's callback) and updates the document. False when it cannot refresh. */
  async refresh(uri: vscode.Uri): Promise<boolean> {
    const key = uri.toString();
    const content = this.contents.get(key);
    if (content?.refresh === undefined) {
      return false;
    }
    const text = await content.refresh();
    const current = this.contents.get(key);
    if (current === undefined) {
      this.contents.set(key, { text, refresh: content.refresh });
    } else {
      current.text = text;
    }
    this.log.info(`refreshed ${key} (${text.length} characters)`);
    this.changes.fire(uri);
    return true;
  }

  private onClosed(uri: vscode.Uri): void {
    if (uri.scheme !== rulesScheme) {
      return;
    }
    const content = this.contents.get(uri.toString());
    if (content === undefined || content.dropTimer !== undefined) {
      return;
    }
    content.dropTimer = setTimeout(() => {
      if (this.contents.get(uri.toString()) === content) {
        this.contents.delete(uri.toString());
      }
    }, closedGraceMilliseconds);
  }

  private onOpened(uri: vscode.Uri): void {
    if (uri.scheme !== rulesScheme) {
      return;
    }
    const content = this.contents.get(uri.toString());
    if (content?.dropTimer !== undefined) {
      clearTimeout(content.dropTimer);
      content.dropTimer = undefined;
    }
  }

  dispose(): void {
    for (const content of this.contents.values()) {
      if (content.dropTimer !== undefined) {
        clearTimeout(content.dropTimer);
      }
    }
    this.contents.clear();
    for (const subscription of this.subscriptions) {
      subscription.dispose();
    }
  }
}

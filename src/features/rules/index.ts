/**
 * Rules as documents: the `iptables` and `nftables` languages (outline, go to definition,
 * references, hovers, folding, for dumps opened from disk or from a node) and the read-only
 * `kubenet-rules:` documents. `registerRulesLanguages` is the one entry point; the
 * composition root calls it and hands the returned API to the features that open dumps.
 */
import * as vscode from 'vscode';

import { taggedLogger } from '../../util/log.js';
import { reportCommandError } from '../commands.js';
import { RulesIndexBuilder } from './indexBuilder.js';
import { RulesIndexCache } from './indexCache.js';
import type { RulesIndex } from './rulesIndex.js';
import { RulesDocuments } from './rulesDocuments.js';
import type { RulesDocumentInput } from './rulesDocuments.js';
import { indexOfDocument, registerRulesProviders } from './rulesProviders.js';
import { rulesScheme } from './rulesUri.js';

export type { RulesBackend, RulesDocumentInput } from './rulesUri.js';
export { rulesScheme } from './rulesUri.js';

/**
 * Command ids of this feature. TODO(lead): move into `commandIds.ts` with the package.json
 * contribution from /tmp/kni-rulesdoc-contributes.json.
 */
export const rulesCommandIds = {
  refresh: 'kubeNet.refreshRules',
} as const;

/** What other features use. */
export interface RulesLanguages {
  /**
   * Opens a node's dump as a read-only document titled with the node and backend, in the
   * `iptables` or `nftables` language; opening the same node and backend again updates it.
   * Pass `refresh` to let the document's Refresh button fetch the rules again.
   */
  openRulesDocument(input: RulesDocumentInput): Promise<vscode.TextEditor>;
  /** The rules index of a document in one of the two languages (null for others). */
  indexOf(document: vscode.TextDocument): Promise<RulesIndex | null>;
}

/**
 * Registers the two languages' providers, the `kubenet-rules:` content provider and the
 * Refresh command; every disposable goes to `context.subscriptions`.
 */
export function registerRulesLanguages(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): RulesLanguages {
  const rulesLog = taggedLogger(log, 'Rules');
  const track = <T extends vscode.Disposable>(disposable: T): T => {
    context.subscriptions.push(disposable);
    return disposable;
  };
  const builder = new RulesIndexBuilder({ log: rulesLog });
  track({ dispose: () => builder.dispose() });
  const cache = new RulesIndexCache(builder, 8, (document, index, build) => {
    const chains = index.tables.reduce((sum, table) => sum + table.chains.length, 0);
    rulesLog.info(
      `indexed ${document.key} v${document.version}: ${index.lineCount} lines, ${index.tables.length} tables, ${chains} chains, ${index.services.length} services, ${index.problemCount} unread lines in ${Math.round(build.milliseconds)} ms (${build.where})`,
    );
  });
  track(vscode.workspace.onDidCloseTextDocument((document) => cache.delete(document.uri.toString())));
  for (const disposable of registerRulesProviders(cache)) {
    track(disposable);
  }

  const documents = track(new RulesDocuments(rulesLog));
  track(vscode.workspace.registerTextDocumentContentProvider(rulesScheme, documents));

  track(
    vscode.commands.registerCommand(rulesCommandIds.refresh, async (arg: unknown) => {
      log.debug(`[Commands] ${rulesCommandIds.refresh}`);
      try {
        const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
        if (uri === undefined || uri.scheme !== rulesScheme) {
          return;
        }
        if (!documents.canRefresh(uri)) {
          void vscode.window.showInformationMessage(vscode.l10n.t('These rules cannot be fetched again from here; open them again from the node.'));
          return;
        }
        await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: vscode.l10n.t('Fetching the rules again…') }, () => documents.refresh(uri));
      } catch (error) {
        reportCommandError(rulesCommandIds.refresh, error, log);
      }
    }),
  );

  return {
    openRulesDocument: (input) => documents.openRulesDocument(input),
    indexOf: (document) => indexOfDocument(cache, document),
  };
}

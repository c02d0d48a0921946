/**
 * The tutorial walkthrough ("Inspect Kubernetes Networking", `contributes.walkthroughs` in
 * package.json, one markdown page per step under media/walkthrough/) and the command that
 * opens it from the palette, the view's "…" menu and its welcome content.
 */

import * as vscode from 'vscode';

import { commandIds, walkthroughIds } from './commandIds.js';
import { registerCommand } from './commands.js';
import type { CommandServices } from './commands.js';

/** What the walkthrough command needs. */
export interface WalkthroughServices extends CommandServices {
  readonly context: vscode.ExtensionContext;
}

/**
 * The id VS Code knows the walkthrough by: `publisher.name#walkthroughId`, from the running
 * extension's own id so that it follows the manifest.
 */
export function tutorialWalkthroughId(extensionId: string): string {
  return `${extensionId}#${walkthroughIds.tutorial}`;
}

/** Registers "Open Tutorial Walkthrough". */
export function registerWalkthrough(services: WalkthroughServices): void {
  registerCommand(
    commandIds.openWalkthrough,
    async () => {
      const id = tutorialWalkthroughId(services.context.extension.id);
      services.log.info(`[Walkthrough] opening ${id}`);
      // The second argument is "to the side": the walkthrough takes the editor area.
      await vscode.commands.executeCommand('workbench.action.openWalkthrough', id, false);
    },
    services,
  );
}

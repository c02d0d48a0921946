/**
 * The one wrapper every command goes through: it logs the invocation, and turns a thrown error
 * into a friendly message with "Show Log" (cancellation stays silent). Also the "Show Log"
 * command itself.
 */

import * as vscode from 'vscode';

import { CancelledError, ClusterError, KubeconfigError, KubeNetError, NotConnectedError, TimeoutError } from '../kube/errors.js';
import { describeProblem } from './clusterNodes.js';
import type { Translate } from './clusterNodes.js';
import { commandIds } from './commandIds.js';
import type { CommandId } from './commandIds.js';
import { notificationText } from './markdown.js';

const t: Translate = (message, ...args) => vscode.l10n.t(message, ...args);

/** A command handler: the first argument is whatever VS Code passes (tree node, URI, nothing). */
export type CommandHandler = (arg: unknown, ...rest: unknown[]) => unknown;

/** What the wrapper needs. */
export interface CommandServices {
  readonly log: vscode.LogOutputChannel;
  readonly track: <T extends vscode.Disposable>(disposable: T) => T;
}

/** Registers `handler` under `id`, wrapped once (log + friendly error + "Show Log"). */
export function registerCommand(id: CommandId, handler: CommandHandler, services: CommandServices): void {
  services.track(
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      services.log.debug(`[Commands] ${id}`);
      try {
        return await handler(args[0], ...args.slice(1));
      } catch (error) {
        reportCommandError(id, error, services.log);
        return undefined;
      }
    }),
  );
}

/** Logs `error` and shows it once, with a "Show Log" button. */
export function reportCommandError(id: string, error: unknown, log: vscode.LogOutputChannel): void {
  if (error instanceof CancelledError) {
    log.debug(`[Commands] ${id} cancelled`);
    return;
  }
  if (error instanceof Error) {
    log.error(`[Commands] ${id} failed: ${error.stack ?? error.message}`);
  } else {
    log.error(`[Commands] ${id} failed: ${String(error)}`);
  }
  const showLog = t('Show Log');
  void vscode.window.showErrorMessage(notificationText(userMessage(error)), showLog).then((choice) => {
    if (choice === showLog) {
      log.show(true);
    }
  });
}

/** The sentence shown to the user for an error (the UI boundary of typed errors). */
export function userMessage(error: unknown): string {
  if (error instanceof ClusterError) {
    return describeProblem(error.problem, t);
  }
  if (error instanceof KubeconfigError) {
    if (error.code === 'noConfig' && error.paths.length > 0) {
      return t('No kubeconfig file found (looked at {0}).', error.paths.join(', '));
    }
    return t('Kubeconfig: {0}', error.message);
  }
  if (error instanceof NotConnectedError) {
    return t('Not connected to a cluster. Check the Kubernetes Network view.');
  }
  if (error instanceof TimeoutError) {
    return t('{0} took too long and was stopped.', error.what);
  }
  if (error instanceof KubeNetError) {
    return error.message;
  }
  return t('Unexpected error: {0}', error instanceof Error ? error.message : String(error));
}

/** Registers "Show Log". */
export function registerLogCommand(services: CommandServices): void {
  registerCommand(commandIds.showLog, () => services.log.show(), services);
}

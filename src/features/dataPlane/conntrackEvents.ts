/**
 * "Stream Conntrack Events": `conntrack -E` of a node, line by line, into the output channel
 * "Kubernetes Network: conntrack events", until "Stop Conntrack Events", the progress
 * notification's Cancel, the event cap or the time limit (both enforced by the core, the time
 * limit on the node too). One stream per node; a context key tells menus one is running.
 */

import * as vscode from 'vscode';

import { streamConntrackEvents } from '../../diagnostics/conntrack.js';
import type { ConntrackEventsResult } from '../../diagnostics/conntrack.js';
import type { DiagnosticContext } from '../../diagnostics/context.js';
import { CancelledError } from '../../kube/errors.js';
import type { DebugPodProgress } from '../../node/debugPodManager.js';
import type { Translate } from '../clusterNodes.js';
import { contextKeys } from '../commandIds.js';
import { plainText } from '../markdown.js';
import { toCommandError } from '../diagnostics/diagnosticCommands.js';

const t: Translate = (message, ...args) => vscode.l10n.t(message, ...args);

/** Events per stream at most. */
export const maxEventsPerStream = 100_000;
/** Seconds per stream at most. */
export const maxStreamSeconds = 600;
/** How often the progress notification's count is updated. */
const progressIntervalMs = 1000;

interface Stream {
  readonly node: string;
  readonly controller: AbortController;
  events: number;
}

/** The running streams of this window and their output channel. */
export class ConntrackEventStreams implements vscode.Disposable {
  private readonly streams = new Map<string, Stream>();
  private channel: vscode.OutputChannel | undefined;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  /** Nodes streaming now. */
  get nodes(): string[] {
    return [...this.streams.keys()];
  }

  private output(): vscode.OutputChannel {
    this.channel ??= vscode.window.createOutputChannel(t('Kubernetes Network: conntrack events'));
    return this.channel;
  }

  private updateContext(): void {
    void vscode.commands.executeCommand('setContext', contextKeys.streamingConntrack, this.streams.size > 0);
  }

  /**
   * Streams the node's events until stopped; resolves when the stream has ended. A second
   * start for the same node only shows the channel.
   */
  async start(context: DiagnosticContext, node: string): Promise<ConntrackEventsResult | undefined> {
    const channel = this.output();
    channel.show(true);
    if (this.streams.has(node)) {
      void vscode.window.showInformationMessage(t('Conntrack events of node {0} are already streaming to the output "{1}".', plainText(node), t('Kubernetes Network: conntrack events')));
      return undefined;
    }
    const stream: Stream = { node, controller: new AbortController(), events: 0 };
    this.streams.set(node, stream);
    this.updateContext();
    const started = Date.now();
    channel.appendLine(t('# conntrack -E on node {0}: started {1}; stops after {2} events or {3} minutes, or with "Stop Conntrack Events"', node, new Date(started).toLocaleTimeString(), maxEventsPerStream, maxStreamSeconds / 60));
    this.log.info(`[ConntrackEvents] streaming the events of ${node}`);
    try {
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: t('Conntrack events of {0}', plainText(node)), cancellable: true },
        async (progress, token) => {
          const subscription = token.onCancellationRequested(() => stream.controller.abort());
          let lastReport = 0;
          const report = (force: boolean): void => {
            const now = Date.now();
            if (force || now - lastReport >= progressIntervalMs) {
              lastReport = now;
              progress.report({ message: t('{0} events so far (Cancel stops)', stream.events) });
            }
          };
          try {
            const result = await streamConntrackEvents(context, node, {
              signal: stream.controller.signal,
              maxEntries: maxEventsPerStream,
              maxSeconds: maxStreamSeconds,
              onProgress: (update: DebugPodProgress) => progress.report({ message: plainText(update.message, 200) }),
              onEntry: () => {
                stream.events++;
                report(false);
              },
              // Raw lines as conntrack prints them (cluster text in a plain-text channel).
              onLine: (line) => channel.appendLine(line),
            });
            report(true);
            channel.appendLine(this.endLine(result, started));
            channel.appendLine('');
            this.log.info(`[ConntrackEvents] ${node}: ${result.entries} events, stopped by ${result.stoppedBy}`);
            return result;
          } finally {
            subscription.dispose();
          }
        },
      );
    } catch (error) {
      const translated = toCommandError(error);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      channel.appendLine(
        translated instanceof CancelledError
          ? t('# stopped after {0} s, {1} events', seconds, stream.events)
          : t('# failed after {0} s: {1}', seconds, plainText(translated instanceof Error ? translated.message : String(translated), 1000)),
      );
      channel.appendLine('');
      throw translated;
    } finally {
      this.streams.delete(node);
      this.updateContext();
    }
  }

  private endLine(result: ConntrackEventsResult, started: number): string {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    switch (result.stoppedBy) {
      case 'aborted':
        return t('# stopped after {0} s, {1} events', seconds, result.entries);
      case 'max-entries':
        return t('# stopped at the limit of {0} events after {1} s', result.entries, seconds);
      case 'time-limit':
        return t('# stopped at the time limit after {0} s, {1} events', seconds, result.entries);
      case 'exited':
        return t('# conntrack ended (exit {0}) after {1} s, {2} events', result.exitCode ?? '?', seconds, result.entries);
    }
  }

  /** Stops the stream of `node`, or every stream. Returns how many were stopped. */
  stop(node?: string): number {
    let stopped = 0;
    for (const stream of this.streams.values()) {
      if (node === undefined || stream.node === node) {
        stream.controller.abort();
        stopped++;
      }
    }
    return stopped;
  }

  dispose(): void {
    this.stop();
    this.channel?.dispose();
  }
}

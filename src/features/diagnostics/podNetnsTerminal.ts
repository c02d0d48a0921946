/**
 * A terminal whose shell runs on the pod's node, inside the pod's network namespace (with the
 * debug image's tools, so it works for distroless pods too): a `vscode.Pseudoterminal` over an
 * interactive exec with a TTY in the node's debug pod.
 */

import * as vscode from 'vscode';

import type { NetnsTerminalSpec } from '../../diagnostics/netns.js';
import type { InteractiveExec, NodeExec } from '../../node/nodeExec.js';
import type { Logger } from '../../util/log.js';

/** Opens a terminal for `spec`; the debug pod is released when the terminal closes. */
export function openPodNetnsTerminal(spec: NetnsTerminalSpec, nodeExec: NodeExec, log: Logger): vscode.Terminal {
  const pty = new PodNetnsPty(spec, nodeExec, log);
  const terminal = vscode.window.createTerminal({
    name: vscode.l10n.t('netns {0}/{1}', spec.pod.namespace, spec.pod.name),
    pty,
    iconPath: new vscode.ThemeIcon('terminal-linux'),
    isTransient: true,
  });
  terminal.show();
  return terminal;
}

class PodNetnsPty implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  private readonly closeEmitter = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.writeEmitter.event;
  readonly onDidClose = this.closeEmitter.event;
  private exec: InteractiveExec | undefined;
  private pendingSize: { columns: number; rows: number } | undefined;
  private closed = false;
  private released = false;
  private translateLineFeeds = true;

  constructor(
    private readonly spec: NetnsTerminalSpec,
    private readonly nodeExec: NodeExec,
    private readonly log: Logger,
  ) {}

  open(initialDimensions: vscode.TerminalDimensions | undefined): void {
    const spec = this.spec;
    const where = `${spec.pod.namespace}/${spec.pod.name}`;
    this.writeEmitter.fire(
      `\x1b[2m${vscode.l10n.t(
        "Shell in the network namespace of pod {0} (PID {1} on node {2}), with the tools of the debug image. Files are the debug pod's; the node's root is at /host.",
        where,
        spec.pid.pid,
        spec.target.nodeName,
      ).replace(/\n/g, ' ')}\x1b[0m\r\n`,
    );
    const columns = initialDimensions?.columns ?? 80;
    const rows = initialDimensions?.rows ?? 24;
    this.nodeExec
      .startInteractive(spec.target, spec.argv, {
        columns,
        rows,
        onOutput: (text) => this.writeEmitter.fire(this.toTerminal(text)),
      })
      .then(
        (exec) => {
          if (this.closed) {
            exec.close();
            return;
          }
          this.exec = exec;
          if (this.pendingSize !== undefined) {
            exec.resize(this.pendingSize.columns, this.pendingSize.rows);
          }
          this.log.info(`[PodNetnsTerminal] shell started for ${where} on ${spec.target.nodeName}`);
          void exec.exited.then((exit) => {
            this.release();
            if (this.closed) {
              return;
            }
            if (exit.exitCode !== undefined) {
              // The shell ended normally (exit): the terminal closes, as a local one does.
              this.closeEmitter.fire(exit.exitCode);
              return;
            }
            // The connection ended under the shell: say so and leave the text readable.
            const text = vscode.l10n.t('The shell ended: {0}', exit.message ?? vscode.l10n.t('connection closed'));
            this.writeEmitter.fire(`\r\n\x1b[2m${text.replace(/\n/g, ' ')}\x1b[0m\r\n`);
          });
        },
        (error: unknown) => {
          this.release();
          const message = error instanceof Error ? error.message : String(error);
          this.log.error(`[PodNetnsTerminal] could not start the shell for ${where}: ${message}`);
          this.writeEmitter.fire(`\x1b[31m${vscode.l10n.t('Could not start the shell: {0}', message).replace(/\n/g, ' ')}\x1b[0m\r\n`);
        },
      );
  }

  /**
   * Output for the terminal. A TTY exec turns line feeds into CR LF itself; when the far end
   * has no TTY (a runtime without one) bare line feeds would staircase, so they are turned
   * into CR LF until the output shows it is a real TTY (a CR LF arrives). Not converting after
   * that keeps full-screen programs, which move the cursor with bare line feeds, intact.
   */
  private toTerminal(text: string): string {
    if (this.translateLineFeeds && text.includes('\r\n')) {
      this.translateLineFeeds = false;
    }
    return this.translateLineFeeds ? text.replace(/\n/g, '\r\n') : text;
  }

  handleInput(data: string): void {
    this.exec?.write(data);
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    if (this.exec === undefined) {
      this.pendingSize = { columns: dimensions.columns, rows: dimensions.rows };
      return;
    }
    this.exec.resize(dimensions.columns, dimensions.rows);
  }

  close(): void {
    this.closed = true;
    this.exec?.close();
    this.release();
    this.writeEmitter.dispose();
    this.closeEmitter.dispose();
  }

  private release(): void {
    if (!this.released) {
      this.released = true;
      this.spec.release();
    }
  }
}

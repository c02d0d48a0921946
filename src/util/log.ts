/**
 * The logging facade used below `src/features`: a `vscode.LogOutputChannel` satisfies it
 * structurally, and so does a console-backed logger in tests and command-line tools.
 */
export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

/** Returns a logger whose lines start with `[component]`. */
export function taggedLogger(log: Logger, component: string): Logger {
  const tag = `[${component}]`;
  return {
    trace: (message, ...args) => log.trace(`${tag} ${message}`, ...args),
    debug: (message, ...args) => log.debug(`${tag} ${message}`, ...args),
    info: (message, ...args) => log.info(`${tag} ${message}`, ...args),
    warn: (message, ...args) => log.warn(`${tag} ${message}`, ...args),
    error: (message, ...args) =>
      log.error(typeof message === 'string' ? `${tag} ${message}` : `${tag} ${message.stack ?? message.message}`, ...args),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

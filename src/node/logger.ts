/**
 * The small log facade the node layer writes to. The VS Code side passes its
 * `LogOutputChannel` (which has these three methods); the CLI passes a stderr writer.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** A logger that drops everything, for callers that do not care. */
export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Prefixes every line with a `[Component]` tag, as the house style asks. */
export function taggedLogger(logger: Logger, tag: string): Logger {
  return {
    info: (message) => logger.info(`[${tag}] ${message}`),
    warn: (message) => logger.warn(`[${tag}] ${message}`),
    error: (message) => logger.error(`[${tag}] ${message}`),
  };
}

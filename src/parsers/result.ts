/**
 * The shape every parser returns. Parsers never throw: what they cannot read becomes a
 * {@link ParseProblem}, and what they could read is still returned.
 */

/** One line (or a whole input, `line: 0`) that a parser could not read, and why. */
export interface ParseProblem {
  /** 1-based line number in the text given to the parser; 0 when the problem is not tied to a line. */
  line: number;
  /** The line as it was (without its line break). */
  text: string;
  /** Why it was not read, in plain words. */
  reason: string;
}

/** What a parser read, and the lines it could not read. */
export interface ParseResult<T> {
  value: T;
  problems: ParseProblem[];
}

/** A parser of one tool's output. */
export type Parser<T> = (text: string) => ParseResult<T>;

/**
 * Runs `body` and turns any exception into a problem with an empty value, so a bug in a
 * parser never reaches the caller as a throw. Non-string input is read as empty text.
 */
export function guardParser<T>(name: string, text: unknown, empty: () => T, body: (text: string) => ParseResult<T>): ParseResult<T> {
  const input = typeof text === 'string' ? text : '';
  try {
    return body(input);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      value: empty(),
      problems: [{ line: 0, text: '', reason: `${name}: internal parser error: ${message}` }],
    };
  }
}

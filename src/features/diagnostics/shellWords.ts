/**
 * Splits a command line typed by the user into argv words the way a POSIX shell's quoting
 * would, and does nothing else: no variables, globs, pipes, redirections or substitutions.
 * The words are run as an argv array (never through a shell), so `;`, `|`, `$(…)` are just
 * characters of a word. Pure (no `vscode` import).
 */

/** The words, or why the line could not be split. */
export type ShellWordsResult = { readonly ok: true; readonly words: string[] } | { readonly ok: false; readonly error: string };

/**
 * Splits `line` into words: blanks separate words; `'…'` keeps everything literally;
 * `"…"` keeps everything except that `\` escapes `"`, `\`, `$`, `` ` `` and a line break;
 * outside quotes `\` escapes the next character. `''` or `""` make an empty word.
 * Never throws.
 */
export function splitShellWords(line: string): ShellWordsResult {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let position = 0;
  while (position < line.length) {
    const char = line[position];
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      if (inWord) {
        words.push(current);
        current = '';
        inWord = false;
      }
      position += 1;
      continue;
    }
    inWord = true;
    if (char === "'") {
      const end = line.indexOf("'", position + 1);
      if (end === -1) {
        return { ok: false, error: `unterminated single quote at position ${position + 1}` };
      }
      current += line.slice(position + 1, end);
      position = end + 1;
      continue;
    }
    if (char === '"') {
      let cursor = position + 1;
      let closed = false;
      while (cursor < line.length) {
        const inner = line[cursor];
        if (inner === '"') {
          closed = true;
          break;
        }
        if (inner === '\\' && cursor + 1 < line.length && '"\\$`\n'.includes(line[cursor + 1])) {
          // A backslash before a line break joins the lines, as in a shell.
          current += line[cursor + 1] === '\n' ? '' : line[cursor + 1];
          cursor += 2;
          continue;
        }
        current += inner;
        cursor += 1;
      }
      if (!closed) {
        return { ok: false, error: `unterminated double quote at position ${position + 1}` };
      }
      position = cursor + 1;
      continue;
    }
    if (char === '\\') {
      if (position + 1 >= line.length) {
        return { ok: false, error: 'a backslash at the end of the line escapes nothing' };
      }
      const next = line[position + 1];
      current += next === '\n' ? '' : next;
      position += 2;
      continue;
    }
    current += char;
    position += 1;
  }
  if (inWord) {
    words.push(current);
  }
  return { ok: true, words };
}

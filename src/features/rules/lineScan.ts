/**
 * Word spans of one line of an `iptables-save` or `nft` dump, for the rules index: where each
 * word starts and ends, quoted strings kept whole, so a chain name written inside a
 * `--comment "…"` or `comment "…"` is never read as a jump. Pure and linear; spans are
 * UTF-16 offsets, as VS Code positions are.
 */

/** Which dump syntax a line is read with. */
export type DumpSyntax = 'iptables' | 'nftables';

const SPACE = 32;
const TAB = 9;
const QUOTE = 34;
const BACKSLASH = 92;
const HASH = 35;
const COMMA = 44;
const SEMICOLON = 59;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/**
 * The words of a line as a flat list `[start0, end0, start1, end1, …]`.
 *
 * iptables: words are separated by blanks; a `"…"` string (with `\"` escapes, as
 * iptables-save prints them) belongs to its word.
 *
 * nftables: blanks, `,` and `;` separate words; `{` and `}` are words of their own; `"…"` is
 * one word; `#` outside a string starts a comment that ends the line's words.
 *
 * Pass `out` to reuse one array over many lines (it is cleared first).
 */
export function wordSpans(line: string, syntax: DumpSyntax, out: number[] = []): number[] {
  // `out` is cleared and reused, so a caller scanning many lines allocates one array.
  out.length = 0;
  const length = line.length;
  const nft = syntax === 'nftables';
  let i = 0;
  while (i < length) {
    const code = line.charCodeAt(i);
    if (code === SPACE || code === TAB || (nft && (code === COMMA || code === SEMICOLON))) {
      i++;
      continue;
    }
    if (nft && code === HASH) {
      break;
    }
    if (nft && (code === OPEN_BRACE || code === CLOSE_BRACE)) {
      out.push(i, i + 1);
      i++;
      continue;
    }
    const start = i;
    let quoted = false;
    while (i < length) {
      const current = line.charCodeAt(i);
      if (quoted) {
        if (current === BACKSLASH && i + 1 < length) {
          i += 2;
          continue;
        }
        if (current === QUOTE) {
          quoted = false;
        }
        i++;
        continue;
      }
      if (current === QUOTE) {
        quoted = true;
        i++;
        continue;
      }
      if (current === SPACE || current === TAB) {
        break;
      }
      if (nft && (current === COMMA || current === SEMICOLON || current === OPEN_BRACE || current === CLOSE_BRACE || current === HASH)) {
        break;
      }
      i++;
    }
    out.push(start, i);
  }
  return out;
}

/** True when `line.slice(start, end)` equals `word`, without making the slice. */
export function spanIs(line: string, start: number, end: number, word: string): boolean {
  return end - start === word.length && line.startsWith(word, start);
}

/**
 * The bounds of the name-like word around `character` (a chain, set or map name), or null
 * when the position is on a blank, a quote or punctuation. iptables names run to the next
 * blank or quote; nft names also stop at `,`, `;`, `{`, `}`, `@` and `#`. A `:` in front of
 * an iptables chain declaration (`:KUBE-SERVICES`) is not part of the name.
 */
export function nameAt(line: string, character: number, syntax: DumpSyntax): { start: number; end: number } | null {
  const stops = syntax === 'nftables' ? ' \t",;{}@#' : ' \t"';
  const isNameChar = (index: number): boolean => index >= 0 && index < line.length && !stops.includes(line[index]);
  let start = character;
  // A position just after a word (the cursor at its end) still names that word.
  if (!isNameChar(start) && isNameChar(start - 1)) {
    start--;
  }
  if (!isNameChar(start)) {
    return null;
  }
  let end = start;
  while (isNameChar(start - 1)) {
    start--;
  }
  while (isNameChar(end)) {
    end++;
  }
  if (syntax === 'iptables' && start === 0 && line.charCodeAt(0) === 58 /* : */) {
    start = 1;
  }
  return start < end ? { start, end } : null;
}

/** The contents of a `"…"` word without its quotes (and with `\"` unescaped); other words unchanged. */
export function unquoteWord(word: string): string {
  if (word.length >= 2 && word.charCodeAt(0) === QUOTE && word.charCodeAt(word.length - 1) === QUOTE) {
    return word.slice(1, -1).replace(/\\(["\\])/g, '$1');
  }
  return word;
}

/**
 * Small text helpers shared by the parsers: line splitting, the corpus header, trim marks,
 * whitespace and quote-aware tokenizing. All linear in the input size.
 */

/** Splits text into lines without their line breaks (LF or CRLF); a final line break adds no empty line. */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') {
    lines.pop();
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.length > 0 && line.charCodeAt(line.length - 1) === 13) {
      lines[i] = line.slice(0, -1);
    }
  }
  return lines;
}

/**
 * True for a mark left where part of a long output was cut, e.g. `# … trimmed (…)` or
 * `# ... trimmed`. Parsers skip these silently: they are not tool output.
 */
export function isTrimMark(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed.startsWith('#')) {
    return false;
  }
  const rest = trimmed.slice(1).trimStart();
  return rest.startsWith('\u2026 trimmed') || rest.startsWith('... trimmed') || rest.startsWith('\u2026trimmed');
}

/** The header fields of a corpus file (`# source:`, `# context:`, `# command:`). */
export interface CorpusHeader {
  source: string | null;
  context: string | null;
  command: string | null;
  /** Every `# key: value` line of the header, keys lower-case. */
  fields: Record<string, string>;
}

/** A corpus file split into its header and the tool output that follows `# ---`. */
export interface CorpusFile {
  header: CorpusHeader;
  /** The tool output, verbatim. */
  body: string;
  /** How many lines the header took (so body line N is file line N + headerLines). */
  headerLines: number;
}

/**
 * Splits a corpus file (`# source: …`, `# context: …`, `# command: …`, `# ---`, then the
 * output) into header and body. Text without such a header is returned whole as the body.
 */
export function splitCorpusHeader(text: string): CorpusFile {
  const input = typeof text === 'string' ? text : '';
  const fields: Record<string, string> = {};
  let position = 0;
  let lineCount = 0;
  while (position < input.length) {
    const end = input.indexOf('\n', position);
    const lineEnd = end === -1 ? input.length : end;
    const line = input.slice(position, lineEnd).replace(/\r$/, '');
    if (!line.startsWith('#')) {
      break;
    }
    lineCount++;
    const next = end === -1 ? input.length : end + 1;
    if (line.trim() === '# ---') {
      return {
        header: {
          source: fields.source ?? null,
          context: fields.context ?? null,
          command: fields.command ?? null,
          fields,
        },
        body: input.slice(next),
        headerLines: lineCount,
      };
    }
    const match = /^#\s*([A-Za-z][\w -]*?):\s?(.*)$/.exec(line);
    if (match) {
      fields[match[1].toLowerCase()] = match[2];
    }
    position = next;
  }
  return { header: { source: null, context: null, command: null, fields: {} }, body: input, headerLines: 0 };
}

/** The tool output of a corpus file, without its `# …` header block (text without a header comes back unchanged). */
export function stripCorpusHeader(text: string): string {
  return splitCorpusHeader(text).body;
}

/** Splits on runs of spaces and tabs, dropping empty tokens. */
export function words(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    const blank = code === 32 || code === 9;
    if (blank) {
      if (start !== -1) {
        out.push(line.slice(start, i));
        start = -1;
      }
    } else if (start === -1) {
      start = i;
    }
  }
  if (start !== -1) {
    out.push(line.slice(start));
  }
  return out;
}

/** A token and where it starts in its line. */
export interface PositionedWord {
  text: string;
  start: number;
}

/** Like {@link words}, also giving each token's start offset. */
export function positionedWords(line: string): PositionedWord[] {
  const out: PositionedWord[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    const blank = code === 32 || code === 9;
    if (blank) {
      if (start !== -1) {
        out.push({ text: line.slice(start, i), start });
        start = -1;
      }
    } else if (start === -1) {
      start = i;
    }
  }
  if (start !== -1) {
    out.push({ text: line.slice(start), start });
  }
  return out;
}

/**
 * Splits a shell-like argument line (as printed by iptables-save) into arguments: double
 * quotes group, a backslash escapes the next character inside quotes. Unbalanced quotes end
 * at the end of the line. Linear, never throws.
 */
export function shellWords(line: string): string[] {
  const out: string[] = [];
  const length = line.length;
  let i = 0;
  while (i < length) {
    let code = line.charCodeAt(i);
    if (code === 32 || code === 9) {
      i++;
      continue;
    }
    // Fast path: a word without quotes is one slice.
    const start = i;
    while (i < length) {
      code = line.charCodeAt(i);
      if (code === 32 || code === 9 || code === 34) {
        break;
      }
      i++;
    }
    if (i >= length || code !== 34) {
      out.push(line.slice(start, i));
      continue;
    }
    // Slow path: the word contains double quotes.
    let current = line.slice(start, i);
    let quoted = false;
    while (i < length) {
      const ch = line[i];
      if (quoted) {
        if (ch === '\\' && i + 1 < length && (line[i + 1] === '"' || line[i + 1] === '\\')) {
          current += line[i + 1];
          i += 2;
          continue;
        }
        if (ch === '"') {
          quoted = false;
          i++;
          continue;
        }
        // Copy the run up to the next quote or backslash in one slice.
        let j = i;
        while (j < length && line[j] !== '"' && line[j] !== '\\') {
          j++;
        }
        if (j === i) {
          current += ch;
          i++;
        } else {
          current += line.slice(i, j);
          i = j;
        }
        continue;
      }
      if (ch === '"') {
        quoted = true;
        i++;
        continue;
      }
      if (ch === ' ' || ch === '\t') {
        break;
      }
      current += ch;
      i++;
    }
    out.push(current);
  }
  return out;
}

/** Parses a non-negative decimal integer; null when the text is not one. */
export function toInt(text: string | undefined | null): number | null {
  if (text === undefined || text === null || text.length === 0 || text.length > 15) {
    return null;
  }
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) {
      return null;
    }
  }
  return Number(text);
}

/** True when the text looks like a dotted-quad IPv4 address (no prefix). */
export function isIPv4(text: string): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) {
    return false;
  }
  for (const part of parts) {
    const value = toInt(part);
    if (value === null || value > 255 || part.length > 3) {
      return false;
    }
  }
  return true;
}

/** True when the text looks like an IPv6 address (hex groups and colons, optional embedded IPv4, optional zone). */
export function isIPv6(text: string): boolean {
  const address = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (address.length < 2 || address.length > 45 || !address.includes(':')) {
    return false;
  }
  if (!/^[0-9A-Fa-f:.]+$/.test(address)) {
    return false;
  }
  const doubleColons = address.split('::').length - 1;
  if (doubleColons > 1) {
    return false;
  }
  const groups = address.split(':');
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i];
    if (group.includes('.')) {
      if (i !== groups.length - 1 || !isIPv4(group)) {
        return false;
      }
    } else if (group.length > 4) {
      return false;
    }
  }
  return doubleColons === 1 || groups.length === 8 || (groups.length === 7 && groups[6].includes('.'));
}

/** True for an IPv4 or IPv6 address. */
export function isIP(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/**
 * Splits `ADDRESS:PORT`, `[IPV6]:PORT` or a bare address. The port stays text (it can be a
 * service name such as `http` when names were resolved).
 */
export function splitHostPort(text: string): { host: string; port: string | null } {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close !== -1) {
      const host = text.slice(1, close);
      const rest = text.slice(close + 1);
      return { host, port: rest.startsWith(':') && rest.length > 1 ? rest.slice(1) : null };
    }
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1) {
    return { host: text, port: null };
  }
  if (text.indexOf(':') !== colon) {
    // More than one colon and no brackets: a bare IPv6 address.
    return { host: text, port: null };
  }
  return { host: text.slice(0, colon), port: colon + 1 < text.length ? text.slice(colon + 1) : null };
}

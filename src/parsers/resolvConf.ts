/**
 * `/etc/resolv.conf` as the resolver reads it.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isIP, isTrimMark, splitLines, toInt, words } from './text';

/**
 * A resolv.conf. `options` maps each option to its value: `ndots:5` gives `{ ndots: 5 }`
 * (a number when the value is a decimal integer, else the text), and an option without a
 * value (`rotate`, `edns0`, `single-request-reopen`) gives `true`. A later option of the same
 * name wins, as in the resolver.
 */
export interface ResolvConf {
  nameservers: string[];
  /** The `search` list as written (the resolver uses the last `search` or `domain` line). */
  search: string[];
  options: Record<string, number | string | true>;
  /** `domain` line, when present. */
  domain: string | null;
  /** `sortlist` entries, when present. */
  sortlist: string[];
}

function empty(): ResolvConf {
  return { nameservers: [], search: [], options: {}, domain: null, sortlist: [] };
}

function parseText(text: string): ParseResult<ResolvConf> {
  const problems: ParseProblem[] = [];
  const value = empty();
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const trimmed = line.trim();
    if (trimmed.length === 0 || trimmed.startsWith('#') || trimmed.startsWith(';') || isTrimMark(line)) {
      continue;
    }
    const tokens = words(trimmed);
    const keyword = tokens[0];
    const args = tokens.slice(1);
    switch (keyword) {
      case 'nameserver': {
        const address = args[0];
        if (address === undefined) {
          problems.push({ line: n + 1, text: line, reason: 'nameserver line without an address' });
          break;
        }
        const bare = address.replace(/^\[|\]$/g, '');
        if (!isIP(bare)) {
          problems.push({ line: n + 1, text: line, reason: `nameserver ${address} is not an IP address` });
          break;
        }
        value.nameservers.push(bare);
        if (args.length > 1) {
          problems.push({ line: n + 1, text: line, reason: 'text after the nameserver address (ignored by the resolver, ignored here)' });
        }
        break;
      }
      case 'search':
        // The resolver replaces the list on each search line.
        value.search = args;
        break;
      case 'domain':
        value.domain = args[0] ?? null;
        break;
      case 'sortlist':
        value.sortlist = args;
        break;
      case 'options':
        for (const option of args) {
          const colon = option.indexOf(':');
          if (colon === -1) {
            value.options[option] = true;
          } else {
            const name = option.slice(0, colon);
            const raw = option.slice(colon + 1);
            const number = toInt(raw);
            value.options[name] = number === null ? raw : number;
          }
        }
        break;
      default:
        problems.push({ line: n + 1, text: line, reason: `unknown resolv.conf keyword ${JSON.stringify(keyword)}` });
    }
  }
  return { value, problems };
}

/** Parses `/etc/resolv.conf`: nameservers, search list, options (see {@link ResolvConf}). */
export function parseResolvConf(text: string): ParseResult<ResolvConf> {
  return guardParser('resolv-conf', text, empty, parseText);
}

/**
 * The conntrack view's table in memory: the entries in the columnar encoding of
 * `conntrack.ts` (one `Int32Array`, one string table), filtered and sorted without making an
 * object per entry, so 262,144 entries stay quick. Pure (no DOM, no `vscode`): the webview
 * uses it, and unit tests run it in Node against a plain reading of the same entries.
 */

import { conntrackColumns, fieldCount, fieldIndex, noNumber } from './conntrack.js';
import type { ConntrackColumn, ConntrackViewSettings, RowsMessage } from './conntrack.js';

/** One entry as the table shows it (built only for the rows on screen). */
export interface ConntrackRow {
  readonly protocol: string;
  readonly state: string;
  readonly timeout: string;
  readonly source: string;
  readonly destination: string;
  readonly replySource: string;
  readonly replyDestination: string;
  readonly flags: string;
  readonly mark: string;
}

/** `address:port`, `[v6]:port`, or the address alone. */
export function endpointText(address: string, port: number): string {
  if (address === '') {
    return '';
  }
  if (port === noNumber) {
    return address;
  }
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A filter token split into what it can match. */
interface Token {
  readonly lower: string;
  /** Digits only: also matches a port exactly. */
  readonly port: number | null;
  /** `address:port`: the address part must match an address and the port the same side's port. */
  readonly addressPort: { readonly address: string; readonly port: number } | null;
}

function parseToken(text: string): Token {
  const lower = text.toLowerCase();
  const port = /^\d{1,5}$/.test(lower) ? Number(lower) : null;
  let addressPort: Token['addressPort'] = null;
  const bracketed = /^\[([0-9a-f:.]+)\]:(\d{1,5})$/.exec(lower);
  const plain = /^([0-9.]+):(\d{1,5})$/.exec(lower);
  const match = bracketed ?? plain;
  if (match !== null) {
    addressPort = { address: match[1] as string, port: Number(match[2]) };
  }
  return { lower, port, addressPort };
}

/** The four address/port pairs of an entry, as field positions. */
const endpointPairs: ReadonlyArray<readonly [number, number]> = [
  [fieldIndex.src, fieldIndex.sport],
  [fieldIndex.dst, fieldIndex.dport],
  [fieldIndex.replySrc, fieldIndex.replySport],
  [fieldIndex.replyDst, fieldIndex.replyDport],
];

/** Text fields a plain token is looked for in. */
const searchedTextFields: readonly number[] = [
  fieldIndex.protocol,
  fieldIndex.state,
  fieldIndex.src,
  fieldIndex.dst,
  fieldIndex.replySrc,
  fieldIndex.replyDst,
  fieldIndex.flags,
  fieldIndex.mark,
  fieldIndex.zone,
  fieldIndex.details,
];

/** Numeric key of an IPv4 address, for sorting; -1 for anything else. */
function ipv4Key(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4) {
    return -1;
  }
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) {
      return -1;
    }
    const octet = Number(part);
    if (octet > 255) {
      return -1;
    }
    value = value * 256 + octet;
  }
  return value;
}

/** Orders strings: IPv4 addresses by value (before anything else), then the rest by code units. */
export function compareTexts(a: string, b: string): number {
  const keyA = ipv4Key(a);
  const keyB = ipv4Key(b);
  if (keyA !== -1 || keyB !== -1) {
    if (keyA === -1) {
      return 1;
    }
    if (keyB === -1) {
      return -1;
    }
    return keyA - keyB;
  }
  if (a === b) {
    return 0;
  }
  // The empty string (no value) last.
  if (a === '') {
    return 1;
  }
  if (b === '') {
    return -1;
  }
  return a < b ? -1 : 1;
}

/** The fields a column sorts by, first to last. */
const columnSortFields: { readonly [K in ConntrackColumn]: readonly number[] } = {
  protocol: [fieldIndex.protocol],
  state: [fieldIndex.state],
  timeout: [fieldIndex.timeout],
  source: [fieldIndex.src, fieldIndex.sport],
  destination: [fieldIndex.dst, fieldIndex.dport],
  replySource: [fieldIndex.replySrc, fieldIndex.replySport],
  replyDestination: [fieldIndex.replyDst, fieldIndex.replyDport],
  flags: [fieldIndex.flags],
  mark: [fieldIndex.mark],
};

const textFieldPositions = new Set<number>([
  fieldIndex.protocol,
  fieldIndex.state,
  fieldIndex.src,
  fieldIndex.dst,
  fieldIndex.replySrc,
  fieldIndex.replyDst,
  fieldIndex.flags,
  fieldIndex.mark,
  fieldIndex.zone,
  fieldIndex.details,
]);

/** The entries of one listing, filled chunk by chunk. */
export class ConntrackTable {
  /** `capacity × fieldCount` numbers. */
  private data: Int32Array;
  private readonly strings: string[] = [''];
  /** Entries received so far (entries `0 … received-1` are filled). */
  received = 0;
  /** Sort rank of each string index; rebuilt when strings were added since. */
  private ranks: Uint32Array | null = null;

  constructor(readonly capacity: number) {
    this.data = new Int32Array(Math.max(0, capacity) * fieldCount);
  }

  /** Adds a chunk; false when it does not follow on (wrong start or string base) or does not fit. */
  append(chunk: Pick<RowsMessage, 'start' | 'count' | 'stringBase' | 'strings' | 'data'>): boolean {
    if (chunk.start !== this.received || chunk.stringBase !== this.strings.length || chunk.start + chunk.count > this.capacity || chunk.data.length !== chunk.count * fieldCount) {
      return false;
    }
    // Every string index must point into the table as it will be after this chunk.
    const stringCount = this.strings.length + chunk.strings.length;
    for (let row = 0; row < chunk.count; row++) {
      for (const position of textFieldPositions) {
        const value = chunk.data[row * fieldCount + position] as number;
        if (value < 0 || value >= stringCount) {
          return false;
        }
      }
    }
    for (const text of chunk.strings) {
      this.strings.push(text);
    }
    this.data.set(chunk.data, chunk.start * fieldCount);
    this.received += chunk.count;
    this.ranks = null;
    return true;
  }

  /** The text of a text field of entry `row`. */
  text(row: number, field: number): string {
    return this.strings[this.data[row * fieldCount + field] as number] ?? '';
  }

  /** The number of a number field of entry `row` (-1: none). */
  number(row: number, field: number): number {
    return this.data[row * fieldCount + field] as number;
  }

  /** Entry `row` as the table shows it. */
  row(row: number): ConntrackRow {
    const details = this.text(row, fieldIndex.details);
    const timeout = this.number(row, fieldIndex.timeout);
    const zone = this.text(row, fieldIndex.zone);
    return {
      protocol: this.text(row, fieldIndex.protocol),
      state: this.text(row, fieldIndex.state),
      timeout: timeout === noNumber ? '' : String(timeout),
      source: endpointText(this.text(row, fieldIndex.src), this.number(row, fieldIndex.sport)),
      destination: endpointText(this.text(row, fieldIndex.dst), this.number(row, fieldIndex.dport)) + (details === '' ? '' : ` (${details})`),
      replySource: endpointText(this.text(row, fieldIndex.replySrc), this.number(row, fieldIndex.replySport)),
      replyDestination: endpointText(this.text(row, fieldIndex.replyDst), this.number(row, fieldIndex.replyDport)),
      flags: this.text(row, fieldIndex.flags),
      mark: this.text(row, fieldIndex.mark) + (zone === '' ? '' : ` zone=${zone}`),
    };
  }

  /**
   * The entries matching the filter, in the order received. Whitespace separates tokens; an
   * entry must match all of them. A token matches when it is part of any text (addresses,
   * protocol, state, flags, mark), or (digits only) equals a port, or (`address:port`) matches
   * an address and the port on the same side.
   */
  filter(settings: Pick<ConntrackViewSettings, 'text' | 'protocol' | 'state'>): Uint32Array {
    const tokens = settings.text
      .split(/\s+/)
      .filter((word) => word !== '')
      .slice(0, 16)
      .map(parseToken);
    const stringCount = this.strings.length;
    const lowered = tokens.length > 0 ? this.strings.map((text) => text.toLowerCase()) : [];
    // Per token: which strings contain it (one pass over the distinct strings, not the entries).
    const containing = tokens.map((token) => {
      const marks = new Uint8Array(stringCount);
      for (let index = 1; index < stringCount; index++) {
        if ((lowered[index] as string).includes(token.lower)) {
          marks[index] = 1;
        }
      }
      return marks;
    });
    const addressMatches = tokens.map((token) => {
      if (token.addressPort === null) {
        return null;
      }
      const marks = new Uint8Array(stringCount);
      for (let index = 1; index < stringCount; index++) {
        if ((lowered[index] as string).includes(token.addressPort.address)) {
          marks[index] = 1;
        }
      }
      return marks;
    });
    const protocolIndex = settings.protocol === null ? -1 : this.strings.indexOf(settings.protocol);
    const stateIndex = settings.state === null ? -1 : this.strings.indexOf(settings.state);
    if ((settings.protocol !== null && protocolIndex === -1) || (settings.state !== null && stateIndex === -1)) {
      return new Uint32Array(0);
    }
    const out = new Uint32Array(this.received);
    let found = 0;
    const data = this.data;
    for (let row = 0; row < this.received; row++) {
      const base = row * fieldCount;
      if (protocolIndex !== -1 && data[base + fieldIndex.protocol] !== protocolIndex) {
        continue;
      }
      if (stateIndex !== -1 && data[base + fieldIndex.state] !== stateIndex) {
        continue;
      }
      let all = true;
      for (let position = 0; position < tokens.length && all; position++) {
        const token = tokens[position] as Token;
        const marks = containing[position] as Uint8Array;
        let any = false;
        for (const field of searchedTextFields) {
          if (marks[data[base + field] as number] === 1) {
            any = true;
            break;
          }
        }
        if (!any && token.port !== null) {
          for (const [, portField] of endpointPairs) {
            if (data[base + portField] === token.port) {
              any = true;
              break;
            }
          }
        }
        const addressMarks = addressMatches[position];
        if (!any && token.addressPort !== null && addressMarks !== null && addressMarks !== undefined) {
          for (const [addressField, portField] of endpointPairs) {
            if (addressMarks[data[base + addressField] as number] === 1 && data[base + portField] === token.addressPort.port) {
              any = true;
              break;
            }
          }
        }
        all = any;
      }
      if (all) {
        out[found++] = row;
      }
    }
    return out.slice(0, found);
  }

  private stringRanks(): Uint32Array {
    if (this.ranks !== null && this.ranks.length === this.strings.length) {
      return this.ranks;
    }
    const order = Array.from({ length: this.strings.length }, (_, index) => index);
    order.sort((a, b) => compareTexts(this.strings[a] as string, this.strings[b] as string));
    const ranks = new Uint32Array(this.strings.length);
    order.forEach((stringIndex, rank) => {
      ranks[stringIndex] = rank;
    });
    this.ranks = ranks;
    return ranks;
  }

  /**
   * `rows` sorted by a column (a new array; ties keep the order received). Numbers sort by
   * value with "none" last; addresses by value, then port.
   */
  sort(rows: Uint32Array, column: ConntrackColumn, descending: boolean): Uint32Array {
    const fields = columnSortFields[column];
    const ranks = this.stringRanks();
    const data = this.data;
    const noneLast = 0x7fffffff;
    // One key per field per row, so the comparison does no string work.
    const keys = fields.map((field) => {
      const values = new Float64Array(rows.length);
      const isText = textFieldPositions.has(field);
      for (let position = 0; position < rows.length; position++) {
        const value = data[(rows[position] as number) * fieldCount + field] as number;
        values[position] = isText ? (value === 0 ? noneLast : (ranks[value] as number)) : value === noNumber ? noneLast : value;
      }
      return values;
    });
    const positions = new Uint32Array(rows.length);
    for (let position = 0; position < rows.length; position++) {
      positions[position] = position;
    }
    const direction = descending ? -1 : 1;
    positions.sort((a, b) => {
      for (const values of keys) {
        const difference = (values[a] as number) - (values[b] as number);
        if (difference !== 0) {
          // "None" stays last in both directions.
          if (values[a] === noneLast) {
            return 1;
          }
          if (values[b] === noneLast) {
            return -1;
          }
          return difference * direction;
        }
      }
      return a - b;
    });
    const out = new Uint32Array(rows.length);
    for (let position = 0; position < rows.length; position++) {
      out[position] = rows[positions[position] as number] as number;
    }
    return out;
  }

  /** Filter, then sort when a column is chosen. */
  query(settings: ConntrackViewSettings): Uint32Array {
    const rows = this.filter(settings);
    return settings.sortColumn === null ? rows : this.sort(rows, settings.sortColumn, settings.sortDescending);
  }
}

/** True when `value` names a column. */
export function isConntrackColumn(value: unknown): value is ConntrackColumn {
  return (conntrackColumns as readonly unknown[]).includes(value);
}

/**
 * The contract between the extension host and the conntrack webview: what the view shows
 * about a listing (usage, counts, notices, commands, its localized labels), the entries in a
 * compact columnar encoding sent in chunks, and the messages both sides exchange. Imported by
 * the host (src/features/dataPlane/conntrackPanel.ts) and by the webview
 * (webview-ui/src/conntrack.ts); no `vscode`, no DOM, no Node APIs here.
 *
 * Entries travel as one `Int32Array` per chunk, {@link fieldCount} numbers per entry: text
 * fields are indices into a string table that grows with each chunk (index 0 is the empty
 * string), number fields are the number or -1 for "none". 262,144 entries are about 15 MB of
 * numbers plus the distinct strings (addresses, states), instead of hundreds of MB of objects.
 *
 * Everything in here is cluster text: the webview renders it with `textContent` only.
 */

/** The entry fields, in the order of the encoding. */
export const conntrackFields = [
  'protocol',
  'state',
  'timeout',
  'src',
  'sport',
  'dst',
  'dport',
  'replySrc',
  'replySport',
  'replyDst',
  'replyDport',
  'flags',
  'mark',
  'zone',
  'details',
] as const;

/** One field name. */
export type ConntrackField = (typeof conntrackFields)[number];

/** Numbers per entry. */
export const fieldCount = conntrackFields.length;

/** Position of each field in an entry's numbers. */
export const fieldIndex: { readonly [K in ConntrackField]: number } = Object.fromEntries(conntrackFields.map((name, index) => [name, index])) as {
  readonly [K in ConntrackField]: number;
};

/** Fields holding a string-table index (the others hold a number, -1 for none). */
export const textFields: ReadonlySet<ConntrackField> = new Set<ConntrackField>(['protocol', 'state', 'src', 'dst', 'replySrc', 'replyDst', 'flags', 'mark', 'zone', 'details']);

/** The number that stands for "none" in a number field. */
export const noNumber = -1;

/** What a listing was taken for; the host reads it again from this on Refresh. */
export type ConntrackTarget =
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string; readonly node: string }
  | { readonly kind: 'service'; readonly namespace: string; readonly name: string; readonly node: string };

/** A kernel log line saying the table was full. */
export interface TableFullLine {
  readonly timestamp: string | null;
  readonly message: string;
}

/** nf_conntrack_count against nf_conntrack_max on the node, when the listing was taken. */
export interface ConntrackUsageView {
  readonly count: number | null;
  readonly max: number | null;
  /** count / max. */
  readonly ratio: number | null;
  readonly buckets: number | null;
  /** At or above the warning ratio. */
  readonly nearLimit: boolean;
  /** "nf_conntrack: table full, dropping packet" lines of the kernel log (the last ones). */
  readonly tableFull: readonly TableFullLine[];
  /** How many such lines there were in all. */
  readonly tableFullTotal: number;
  /** `dmesg`, `journalctl`…; null when the kernel log could not be read. */
  readonly kernelLogSource: string | null;
  /** drop + early_drop of `conntrack -S`; null when unknown. */
  readonly drops: number | null;
}

/** A highlighted sentence. */
export interface ConntrackNotice {
  readonly level: 'info' | 'warning' | 'error';
  readonly text: string;
}

/** Counts as `[name, count]`, largest first. */
export type CountList = ReadonlyArray<readonly [string, number]>;

/** The localized words of the view (the webview has no `vscode.l10n`). */
export interface ConntrackLabels {
  readonly protocol: string;
  readonly state: string;
  readonly timeout: string;
  readonly source: string;
  readonly destination: string;
  readonly replySource: string;
  readonly replyDestination: string;
  readonly flags: string;
  readonly mark: string;
  readonly filterPlaceholder: string;
  readonly filterLabel: string;
  readonly allProtocols: string;
  readonly allStates: string;
  readonly byState: string;
  readonly byProtocol: string;
  readonly byFlag: string;
  /** `{0}` shown of `{1}`. */
  readonly showing: string;
  /** `{0}` of `{1}` received. */
  readonly loading: string;
  readonly usage: string;
  /** `{0}` of `{1}` (`{2}`). */
  readonly usageValue: string;
  readonly usageUnknown: string;
  readonly nearLimit: string;
  readonly tableFull: string;
  readonly noTableFull: string;
  readonly kernelLogUnreadable: string;
  readonly drops: string;
  readonly buckets: string;
  readonly openRaw: string;
  readonly refresh: string;
  readonly copy: string;
  readonly commands: string;
  readonly noEntries: string;
  readonly noMatches: string;
  readonly notInMemory: string;
  readonly clearFilter: string;
  readonly sortBy: string;
}

/** Everything about a listing except its entries. */
export interface ConntrackViewModel {
  readonly title: string;
  readonly subtitle: string;
  readonly target: ConntrackTarget;
  /** ISO time the listing was taken. */
  readonly takenAt: string;
  readonly usage: ConntrackUsageView | null;
  /** Counts over every distinct entry read (also those past the cap). */
  readonly counts: { readonly total: number; readonly byState: CountList; readonly byProtocol: CountList; readonly byFlag: CountList };
  /** Entries that follow in chunks. */
  readonly entries: number;
  /** More entries than the cap: the view holds the first ones. */
  readonly truncated: boolean;
  readonly notices: readonly ConntrackNotice[];
  /** Copyable command blocks (a `# description` line, then the command). */
  readonly commands: readonly string[];
  readonly commandsHeading: string;
  /** The raw `conntrack -L` text can be opened as a document. */
  readonly rawAvailable: boolean;
  readonly labels: ConntrackLabels;
}

/** Host → webview: a new listing starts (drops what the view had). */
export interface InitMessage {
  readonly type: 'init';
  /** Increases with every listing sent to this view; chunks of older ones are dropped. */
  readonly generation: number;
  readonly view: ConntrackViewModel;
}

/** Host → webview: the next entries. */
export interface RowsMessage {
  readonly type: 'rows';
  readonly generation: number;
  /** Index of the first entry of this chunk. */
  readonly start: number;
  readonly count: number;
  /** Strings appended to the table, starting at index `stringBase`. */
  readonly stringBase: number;
  readonly strings: readonly string[];
  /** `count × fieldCount` numbers. */
  readonly data: Int32Array;
}

/** Host → webview: every entry has been sent. */
export interface DoneMessage {
  readonly type: 'done';
  readonly generation: number;
}

/** Host → webview: reading again failed or is under way. */
export interface StatusMessage {
  readonly type: 'status';
  readonly busy: boolean;
  readonly error: string | null;
}

/** Everything the host sends. */
export type ConntrackHostMessage = InitMessage | RowsMessage | DoneMessage | StatusMessage;

/** Webview → host: the page listens. */
export interface ReadyMessage {
  readonly type: 'ready';
}

/** Webview → host: open the raw `conntrack -L` text as a document. */
export interface OpenRawMessage {
  readonly type: 'openRaw';
}

/** Webview → host: read the table again. */
export interface RefreshMessage {
  readonly type: 'refresh';
}

/** Webview → host: put one of the view's commands on the clipboard. */
export interface CopyMessage {
  readonly type: 'copy';
  readonly text: string;
}

/** Everything the webview sends. */
export type ConntrackWebviewMessage = ReadyMessage | OpenRawMessage | RefreshMessage | CopyMessage;

/** Longest text the host accepts in a `copy` message. */
export const maxCopyLength = 100_000;

/** The filter and sort a view was left with (kept in webview state). */
export interface ConntrackViewSettings {
  readonly text: string;
  readonly protocol: string | null;
  readonly state: string | null;
  readonly sortColumn: ConntrackColumn | null;
  readonly sortDescending: boolean;
}

/** The columns of the table, each one or more fields. */
export const conntrackColumns = ['protocol', 'state', 'timeout', 'source', 'destination', 'replySource', 'replyDestination', 'flags', 'mark'] as const;

/** One column. */
export type ConntrackColumn = (typeof conntrackColumns)[number];

/** What the webview keeps with `setState` (the entries are not kept: they are read again). */
export interface ConntrackWebviewState {
  readonly view: ConntrackViewModel;
  readonly settings: ConntrackViewSettings;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isNullableNumber(value: unknown): value is number | null {
  return value === null || (typeof value === 'number' && Number.isFinite(value));
}

function isNullableString(value: unknown): value is string | null {
  return value === null || isString(value);
}

const namePattern = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Runtime check of a target (node and object names as Kubernetes allows them). */
export function isConntrackTarget(value: unknown): value is ConntrackTarget {
  if (!isRecord(value) || !isString(value.node) || !namePattern.test(value.node)) {
    return false;
  }
  switch (value.kind) {
    case 'node':
      return true;
    case 'pod':
    case 'service':
      return isString(value.namespace) && namePattern.test(value.namespace) && isString(value.name) && namePattern.test(value.name);
    default:
      return false;
  }
}

function isCountList(value: unknown): value is CountList {
  return Array.isArray(value) && value.every((item) => Array.isArray(item) && item.length === 2 && isString(item[0]) && isCount(item[1]));
}

function isUsage(value: unknown): value is ConntrackUsageView {
  return (
    isRecord(value) &&
    isNullableNumber(value.count) &&
    isNullableNumber(value.max) &&
    isNullableNumber(value.ratio) &&
    isNullableNumber(value.buckets) &&
    typeof value.nearLimit === 'boolean' &&
    Array.isArray(value.tableFull) &&
    value.tableFull.every((line) => isRecord(line) && isNullableString(line.timestamp) && isString(line.message)) &&
    isCount(value.tableFullTotal) &&
    isNullableString(value.kernelLogSource) &&
    isNullableNumber(value.drops)
  );
}

const levels = new Set<unknown>(['info', 'warning', 'error']);

/** Keys of {@link ConntrackLabels}, for the runtime check. */
const labelKeys: ReadonlyArray<keyof ConntrackLabels> = [
  'protocol',
  'state',
  'timeout',
  'source',
  'destination',
  'replySource',
  'replyDestination',
  'flags',
  'mark',
  'filterPlaceholder',
  'filterLabel',
  'allProtocols',
  'allStates',
  'byState',
  'byProtocol',
  'byFlag',
  'showing',
  'loading',
  'usage',
  'usageValue',
  'usageUnknown',
  'nearLimit',
  'tableFull',
  'noTableFull',
  'kernelLogUnreadable',
  'drops',
  'buckets',
  'openRaw',
  'refresh',
  'copy',
  'commands',
  'noEntries',
  'noMatches',
  'notInMemory',
  'clearFilter',
  'sortBy',
];

function isLabels(value: unknown): value is ConntrackLabels {
  return isRecord(value) && labelKeys.every((key) => isString(value[key]));
}

/** Runtime check of a view model (incoming data and restored state). */
export function isConntrackViewModel(value: unknown): value is ConntrackViewModel {
  if (!isRecord(value)) {
    return false;
  }
  const counts = value.counts;
  return (
    isString(value.title) &&
    isString(value.subtitle) &&
    isConntrackTarget(value.target) &&
    isString(value.takenAt) &&
    (value.usage === null || isUsage(value.usage)) &&
    isRecord(counts) &&
    isCount(counts.total) &&
    isCountList(counts.byState) &&
    isCountList(counts.byProtocol) &&
    isCountList(counts.byFlag) &&
    isCount(value.entries) &&
    typeof value.truncated === 'boolean' &&
    Array.isArray(value.notices) &&
    value.notices.every((notice) => isRecord(notice) && levels.has(notice.level) && isString(notice.text)) &&
    Array.isArray(value.commands) &&
    value.commands.every(isString) &&
    isString(value.commandsHeading) &&
    typeof value.rawAvailable === 'boolean' &&
    isLabels(value.labels)
  );
}

/** Runtime check of what the host sends; the webview drops anything else. */
export function isConntrackHostMessage(value: unknown): value is ConntrackHostMessage {
  if (!isRecord(value)) {
    return false;
  }
  switch (value.type) {
    case 'init':
      return isCount(value.generation) && isConntrackViewModel(value.view);
    case 'rows':
      return (
        isCount(value.generation) &&
        isCount(value.start) &&
        isCount(value.count) &&
        isCount(value.stringBase) &&
        Array.isArray(value.strings) &&
        value.strings.every(isString) &&
        value.data instanceof Int32Array &&
        value.data.length === value.count * fieldCount
      );
    case 'done':
      return isCount(value.generation);
    case 'status':
      return typeof value.busy === 'boolean' && isNullableString(value.error);
    default:
      return false;
  }
}

/** Runtime check of what the webview sends; the host drops anything else. */
export function isConntrackWebviewMessage(value: unknown): value is ConntrackWebviewMessage {
  if (!isRecord(value)) {
    return false;
  }
  switch (value.type) {
    case 'ready':
    case 'openRaw':
    case 'refresh':
      return true;
    case 'copy':
      return isString(value.text) && value.text.length <= maxCopyLength;
    default:
      return false;
  }
}

const columnSet = new Set<unknown>(conntrackColumns);

/** Runtime check of the filter and sort settings. */
export function isConntrackViewSettings(value: unknown): value is ConntrackViewSettings {
  return (
    isRecord(value) &&
    isString(value.text) &&
    value.text.length <= 1000 &&
    isNullableString(value.protocol) &&
    isNullableString(value.state) &&
    (value.sortColumn === null || columnSet.has(value.sortColumn)) &&
    typeof value.sortDescending === 'boolean'
  );
}

/** Runtime check of restored webview state. */
export function isConntrackWebviewState(value: unknown): value is ConntrackWebviewState {
  return isRecord(value) && isConntrackViewModel(value.view) && isConntrackViewSettings(value.settings);
}

/** The settings of a fresh view: no filter, no sort. */
export const defaultViewSettings: ConntrackViewSettings = { text: '', protocol: null, state: null, sortColumn: null, sortDescending: false };

/** One direction of an entry, as far as the encoder needs it. */
export interface EncodableTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport: number | null;
  readonly dport: number | null;
  readonly extra?: Readonly<Record<string, string>>;
}

/** An entry, as far as the encoder needs it (the parser's `ConntrackEntry` fits). */
export interface EncodableEntry {
  readonly protocol: string;
  readonly state: string | null;
  readonly timeout: number | null;
  readonly original: EncodableTuple;
  readonly reply: EncodableTuple | null;
  readonly flags: readonly string[];
  readonly mark: number | null;
  readonly zone: number | null;
}

/** Interns strings for the encoding; index 0 is the empty string. */
export class StringTable {
  private readonly indices = new Map<string, number>([['', 0]]);
  private readonly strings: string[] = [''];
  private sent = 1;

  /** The index of `value`, adding it when new. */
  intern(value: string): number {
    const known = this.indices.get(value);
    if (known !== undefined) {
      return known;
    }
    const index = this.strings.length;
    this.strings.push(value);
    this.indices.set(value, index);
    return index;
  }

  /** The strings added since the last call, and the index of the first. */
  takeNew(): { stringBase: number; strings: string[] } {
    const stringBase = this.sent;
    const strings = this.strings.slice(stringBase);
    this.sent = this.strings.length;
    return { stringBase, strings };
  }
}

function numberOrNone(value: number | null | undefined): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff ? value : noNumber;
}

function detailsOf(entry: EncodableEntry): string {
  const extra = entry.original.extra;
  if (extra === undefined) {
    return '';
  }
  return Object.entries(extra)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

/** Writes one entry's numbers at `offset` of `data`. */
export function encodeEntry(entry: EncodableEntry, table: StringTable, data: Int32Array, offset: number): void {
  const reply = entry.reply;
  data[offset + fieldIndex.protocol] = table.intern(entry.protocol);
  data[offset + fieldIndex.state] = table.intern(entry.state ?? '');
  data[offset + fieldIndex.timeout] = numberOrNone(entry.timeout);
  data[offset + fieldIndex.src] = table.intern(entry.original.src);
  data[offset + fieldIndex.sport] = numberOrNone(entry.original.sport);
  data[offset + fieldIndex.dst] = table.intern(entry.original.dst);
  data[offset + fieldIndex.dport] = numberOrNone(entry.original.dport);
  data[offset + fieldIndex.replySrc] = table.intern(reply?.src ?? '');
  data[offset + fieldIndex.replySport] = numberOrNone(reply?.sport);
  data[offset + fieldIndex.replyDst] = table.intern(reply?.dst ?? '');
  data[offset + fieldIndex.replyDport] = numberOrNone(reply?.dport);
  data[offset + fieldIndex.flags] = table.intern(entry.flags.join(' '));
  data[offset + fieldIndex.mark] = table.intern(entry.mark === null ? '' : String(entry.mark));
  data[offset + fieldIndex.zone] = table.intern(entry.zone === null ? '' : String(entry.zone));
  data[offset + fieldIndex.details] = table.intern(detailsOf(entry));
}

/** Entries per chunk: about 1 MB of numbers. */
export const defaultChunkSize = 16_384;

/**
 * The `rows` messages of `entries`, `chunkSize` at a time. Each chunk carries the strings it
 * introduced, so chunks must be applied in order.
 */
export function* encodeChunks(entries: readonly EncodableEntry[], generation: number, chunkSize: number = defaultChunkSize): Generator<RowsMessage> {
  const table = new StringTable();
  const size = Math.max(1, Math.floor(chunkSize));
  for (let start = 0; start < entries.length; start += size) {
    const count = Math.min(size, entries.length - start);
    const data = new Int32Array(count * fieldCount);
    for (let index = 0; index < count; index++) {
      encodeEntry(entries[start + index] as EncodableEntry, table, data, index * fieldCount);
    }
    const { stringBase, strings } = table.takeNew();
    yield { type: 'rows', generation, start, count, stringBase, strings, data };
  }
}

/** `{0}`-style placeholders filled (the webview's stand-in for `vscode.l10n.t` on host-made templates). */
export function fillTemplate(template: string, ...args: ReadonlyArray<string | number>): string {
  return template.replace(/\{(\d+)\}/g, (match, position: string) => {
    const value = args[Number(position)];
    return value === undefined ? match : String(value);
  });
}

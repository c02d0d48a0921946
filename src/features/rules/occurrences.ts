/**
 * Compact storage of every place a dump names a chain, set or map: parallel typed arrays
 * sorted by line (a 100,000-line dump has about 200,000 occurrences, which as objects would
 * cost the garbage collector more than the whole parse), with an index by line and one by
 * name for references. Plain data, so it crosses a worker boundary with its buffers
 * transferred. Pure (no `vscode`).
 */

/** Chains and nft sets/maps live in separate name spaces (`jump NAME` vs `@NAME`). */
export type NameKind = 'chain' | 'set';

/**
 * How a name occurs: its declaration, the `-A NAME` of one of its rules, a `-j`/`jump` or
 * `-g`/`goto` to it (also inside nft verdict maps), or an nft `@set` use.
 */
export type OccurrenceKind = 'definition' | 'rule' | 'jump' | 'goto' | 'use';

const KINDS: readonly OccurrenceKind[] = ['definition', 'rule', 'jump', 'goto', 'use'];
const KIND_CODES: Readonly<Record<OccurrenceKind, number>> = { definition: 0, rule: 1, jump: 2, goto: 3, use: 4 };
/** Bit set in a kind code for the set/map name space. */
const SET_BIT = 8;

/** True for the kinds that count as references (jumps, gotos, `@` uses). */
export function isReferenceKind(kind: OccurrenceKind): boolean {
  return kind === 'jump' || kind === 'goto' || kind === 'use';
}

/** The finished, line-sorted table (structured-clone friendly). */
export interface OccurrenceData {
  readonly lineCount: number;
  /** Occurrences of line L are `[lineOffsets[L], lineOffsets[L + 1])`. */
  readonly lineOffsets: Int32Array;
  readonly line: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Index into `names`. */
  readonly name: Int32Array;
  /** Table index; -1 outside every table. */
  readonly table: Int32Array;
  /** Kind code, with {@link SET_BIT} for sets/maps. */
  readonly kind: Uint8Array;
  readonly names: string[];
  /** Reference occurrences (jump, goto, use) of name N are `referenceItems[referenceOffsets[N] … referenceOffsets[N + 1])`, in line order. */
  readonly referenceOffsets: Int32Array;
  readonly referenceItems: Int32Array;
}

/** One occurrence, materialized for a caller. */
export interface Occurrence {
  readonly line: number;
  readonly start: number;
  readonly end: number;
  readonly name: string;
  readonly nameKind: NameKind;
  readonly kind: OccurrenceKind;
  /** Table index; -1 outside every table. */
  readonly table: number;
}

/** Collects occurrences in any order; {@link finish} sorts them by line and column. */
export class OccurrenceBuilder {
  private capacity: number;
  private count = 0;
  private lines: Int32Array;
  private starts: Int32Array;
  private ends: Int32Array;
  private nameIds: Int32Array;
  private tables: Int32Array;
  private kinds: Uint8Array;
  private readonly names: string[] = [];
  private readonly ids = new Map<string, number>();

  constructor(expected = 1024) {
    this.capacity = Math.max(16, expected);
    this.lines = new Int32Array(this.capacity);
    this.starts = new Int32Array(this.capacity);
    this.ends = new Int32Array(this.capacity);
    this.nameIds = new Int32Array(this.capacity);
    this.tables = new Int32Array(this.capacity);
    this.kinds = new Uint8Array(this.capacity);
  }

  /** The id of a name (interned once). */
  intern(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.ids.set(name, id);
    }
    return id;
  }

  /** Records one occurrence of an interned name. */
  add(line: number, start: number, end: number, nameId: number, nameKind: NameKind, kind: OccurrenceKind, table: number): void {
    if (this.count === this.capacity) {
      this.grow();
    }
    const index = this.count++;
    this.lines[index] = line;
    this.starts[index] = start;
    this.ends[index] = end;
    this.nameIds[index] = nameId;
    this.tables[index] = table;
    this.kinds[index] = KIND_CODES[kind] | (nameKind === 'set' ? SET_BIT : 0);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const copy = <T extends Int32Array | Uint8Array>(from: T, to: T): T => {
      to.set(from);
      return to;
    };
    this.lines = copy(this.lines, new Int32Array(capacity));
    this.starts = copy(this.starts, new Int32Array(capacity));
    this.ends = copy(this.ends, new Int32Array(capacity));
    this.nameIds = copy(this.nameIds, new Int32Array(capacity));
    this.tables = copy(this.tables, new Int32Array(capacity));
    this.kinds = copy(this.kinds, new Uint8Array(capacity));
    this.capacity = capacity;
  }

  /** Sorts by line (counting sort) then column, and indexes references by name. Linear. */
  finish(lineCount: number): OccurrenceData {
    const count = this.count;
    const lineOffsets = new Int32Array(lineCount + 1);
    for (let i = 0; i < count; i++) {
      lineOffsets[this.lines[i] + 1]++;
    }
    for (let l = 0; l < lineCount; l++) {
      lineOffsets[l + 1] += lineOffsets[l];
    }
    const cursor = lineOffsets.slice(0, lineCount);
    const order = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      order[cursor[this.lines[i]]++] = i;
    }
    // Within a line (a handful of occurrences), insertion sort by column.
    for (let l = 0; l < lineCount; l++) {
      const from = lineOffsets[l];
      const to = lineOffsets[l + 1];
      for (let i = from + 1; i < to; i++) {
        const item = order[i];
        let j = i - 1;
        while (j >= from && this.starts[order[j]] > this.starts[item]) {
          order[j + 1] = order[j];
          j--;
        }
        order[j + 1] = item;
      }
    }
    const line = new Int32Array(count);
    const start = new Int32Array(count);
    const end = new Int32Array(count);
    const name = new Int32Array(count);
    const table = new Int32Array(count);
    const kind = new Uint8Array(count);
    const referenceOffsets = new Int32Array(this.names.length + 1);
    for (let d = 0; d < count; d++) {
      const i = order[d];
      line[d] = this.lines[i];
      start[d] = this.starts[i];
      end[d] = this.ends[i];
      name[d] = this.nameIds[i];
      table[d] = this.tables[i];
      kind[d] = this.kinds[i];
      if (isReferenceCode(kind[d])) {
        referenceOffsets[name[d] + 1]++;
      }
    }
    for (let n = 0; n < this.names.length; n++) {
      referenceOffsets[n + 1] += referenceOffsets[n];
    }
    const referenceItems = new Int32Array(referenceOffsets[this.names.length]);
    const fill = referenceOffsets.slice(0, this.names.length);
    for (let d = 0; d < count; d++) {
      if (isReferenceCode(kind[d])) {
        referenceItems[fill[name[d]]++] = d;
      }
    }
    return { lineCount, lineOffsets, line, start, end, name, table, kind, names: this.names, referenceOffsets, referenceItems };
  }
}

function isReferenceCode(code: number): boolean {
  const kind = code & ~SET_BIT;
  return kind === 2 || kind === 3 || kind === 4;
}

/** Read access to {@link OccurrenceData}. */
export class OccurrenceTable {
  private readonly nameIds = new Map<string, number>();

  constructor(readonly data: OccurrenceData) {
    data.names.forEach((name, index) => this.nameIds.set(name, index));
  }

  /** How many occurrences the dump has. */
  get size(): number {
    return this.data.line.length;
  }

  /** Occurrence `index` as an object. */
  at(index: number): Occurrence {
    const data = this.data;
    const code = data.kind[index];
    return {
      line: data.line[index],
      start: data.start[index],
      end: data.end[index],
      name: data.names[data.name[index]],
      nameKind: (code & SET_BIT) !== 0 ? 'set' : 'chain',
      kind: KINDS[code & ~SET_BIT],
      table: data.table[index],
    };
  }

  /** The occurrences of one line, in column order. */
  onLine(line: number): Occurrence[] {
    if (line < 0 || line >= this.data.lineCount) {
      return [];
    }
    const out: Occurrence[] = [];
    for (let i = this.data.lineOffsets[line]; i < this.data.lineOffsets[line + 1]; i++) {
      out.push(this.at(i));
    }
    return out;
  }

  /** The occurrence covering a column of a line (a column just after a name counts too). */
  atPosition(line: number, character: number): Occurrence | undefined {
    if (line < 0 || line >= this.data.lineCount) {
      return undefined;
    }
    const from = this.data.lineOffsets[line];
    const to = this.data.lineOffsets[line + 1];
    let touching = -1;
    for (let i = from; i < to; i++) {
      if (this.data.start[i] <= character && character < this.data.end[i]) {
        return this.at(i);
      }
      if (this.data.end[i] === character) {
        touching = i;
      }
    }
    return touching === -1 ? undefined : this.at(touching);
  }

  /** References (jumps, gotos, `@` uses) of a name in one table and name space, in line order. */
  references(nameKind: NameKind, table: number, name: string): Occurrence[] {
    const out: Occurrence[] = [];
    this.forEachReference(nameKind, table, name, (index) => out.push(this.at(index)));
    return out;
  }

  /** How many references {@link references} would return. */
  referenceCount(nameKind: NameKind, table: number, name: string): number {
    let count = 0;
    this.forEachReference(nameKind, table, name, () => count++);
    return count;
  }

  private forEachReference(nameKind: NameKind, table: number, name: string, visit: (index: number) => void): void {
    const id = this.nameIds.get(name);
    if (id === undefined) {
      return;
    }
    const wantSet = nameKind === 'set';
    const data = this.data;
    for (let r = data.referenceOffsets[id]; r < data.referenceOffsets[id + 1]; r++) {
      const index = data.referenceItems[r];
      if (data.table[index] === table && ((data.kind[index] & SET_BIT) !== 0) === wantSet) {
        visit(index);
      }
    }
  }
}

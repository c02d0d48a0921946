/**
 * What both index builders (iptables-save, nft) share: the mutable shapes they fill, the
 * facts kept per kube-proxy chain for hovers, and the folding-range helpers. Pure.
 */
import { parseServiceComment } from '../../parsers/kubeProxyServices.js';
import type { FoldingEntry, FoldingKind, LineRange, SetEntry, Span } from './rulesIndex.js';

/** Work units (rules, lines) between two pauses of a stepwise build. */
export const STEP_WORK = 5000;

/** A chain while its builder fills it. */
export interface MutableChain {
  name: string;
  table: number;
  definition: Span | null;
  firstRule: Span | null;
  runs: LineRange[];
  ruleCount: number;
  policy: string | null;
  hook: string | null;
  comment: string | null;
  dnatTo: string | null;
}

/** A table while its builder fills it. */
export interface MutableTable {
  name: string;
  family: string | null;
  header: Span | null;
  range: LineRange;
  implicit: boolean;
  chains: MutableChain[];
  sets: SetEntry[];
}

/** True for chains whose comments and DNAT targets the hover uses (kube-proxy's per-service chains). */
export function isKubeProxyServiceChain(name: string): boolean {
  return /^(?:KUBE-(?:SVC|SVL|EXT|FW|XLB|SEP)-|(?:service|local|external|firewall|endpoint)-)/.test(name);
}

/** Collects a chain's first service comment (else first comment) and first DNAT target. */
export class ChainFacts {
  dnatTo: string | null = null;
  private serviceComment: string | null = null;
  private anyComment: string | null = null;

  add(comment: string | null, dnatTo: string | undefined): void {
    if (comment !== null && this.serviceComment === null) {
      this.anyComment ??= comment;
      if (parseServiceComment(comment) !== null) {
        this.serviceComment = comment;
      }
    }
    if (dnatTo !== undefined && this.dnatTo === null) {
      this.dnatTo = dnatTo;
    }
  }

  comment(): string | null {
    return this.serviceComment ?? this.anyComment;
  }
}

export function pushTo<K, V>(map: Map<K, V[]>, mapKey: K, value: V): void {
  const list = map.get(mapKey);
  if (list === undefined) {
    map.set(mapKey, [value]);
  } else {
    list.push(value);
  }
}

/** Runs of consecutive numbers (sorted ascending) of at least two lines, as folding ranges. */
export function runsOf(lines: number[], kind: FoldingKind, out: FoldingEntry[]): void {
  let start = -1;
  let previous = -2;
  for (const line of lines) {
    if (line === previous + 1) {
      previous = line;
      continue;
    }
    if (start !== -1 && previous > start) {
      out.push({ start, end: previous, kind });
    }
    start = line;
    previous = line;
  }
  if (start !== -1 && previous > start) {
    out.push({ start, end: previous, kind });
  }
}

/** True when the line's first non-blank character is `#`. */
function isCommentLine(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const code = line.charCodeAt(i);
    if (code !== 32 && code !== 9) {
      return code === 35;
    }
  }
  return false;
}

/** Lines starting with `#` (comments) in runs of two or more. */
export function commentRuns(lines: string[], out: FoldingEntry[]): void {
  let start = -1;
  for (let i = 0; i <= lines.length; i++) {
    if (i < lines.length && isCommentLine(lines[i])) {
      if (start === -1) {
        start = i;
      }
    } else if (start !== -1) {
      if (i - 1 > start) {
        out.push({ start, end: i - 1, kind: 'comment' });
      }
      start = -1;
    }
  }
}

/**
 * Folding ranges in start order, one per start line (the longest): VS Code drops ranges
 * that share a start line or cross one another, so give it only ranges it keeps.
 */
export function sortFolding(folding: FoldingEntry[]): FoldingEntry[] {
  folding.sort((left, right) => left.start - right.start || right.end - left.end);
  const out: FoldingEntry[] = [];
  for (const entry of folding) {
    const previous = out[out.length - 1];
    if (previous !== undefined && previous.start === entry.start) {
      continue;
    }
    out.push(entry);
  }
  return out;
}

/** First value ≥ `value` in an ascending list (binary search). */
export function firstAtOrAfter(sorted: number[], value: number): number | undefined {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle] < value) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  return sorted[low];
}

/**
 * `kubectl get …` tables (default and `-o wide`, old and new column sets, `oc get`), cut by
 * the header's column positions so cells with spaces (`1 (127m ago)`) stay whole.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isTrimMark, splitLines } from './text';

/** One data row. */
export interface KubectlRow {
  /** 1-based line number in the input. */
  line: number;
  /** The cells as printed, in column order. */
  cells: string[];
  /** Cells by column name; `<none>` becomes null. Empty for a table without a header. */
  fields: Record<string, string | null>;
}

/** One table (kubectl prints one per resource kind, separated by a blank line). */
export interface KubectlTable {
  /** Column names from the header; empty when the output had no header (e.g. piped through grep). */
  columns: string[];
  rows: KubectlRow[];
}

interface Column {
  name: string;
  start: number;
}

/** Splits on runs of two or more spaces (or a tab): kubectl pads columns with at least three. */
function cellsBySpacing(line: string): { text: string; start: number }[] {
  const out: { text: string; start: number }[] = [];
  let i = 0;
  const length = line.length;
  while (i < length) {
    while (i < length && (line[i] === ' ' || line[i] === '\t')) {
      i++;
    }
    if (i >= length) {
      break;
    }
    const start = i;
    while (i < length) {
      if (line[i] === '\t' || (line[i] === ' ' && (i + 1 >= length || line[i + 1] === ' ' || line[i + 1] === '\t'))) {
        break;
      }
      i++;
    }
    out.push({ text: line.slice(start, i), start });
  }
  return out;
}

function headerColumns(line: string): Column[] | null {
  const cells = cellsBySpacing(line);
  if (cells.length === 0) {
    return null;
  }
  for (const cell of cells) {
    if (!/^[A-Z][A-Z0-9()\-_/. ]*$/.test(cell.text)) {
      return null;
    }
  }
  if (!cells.some((cell) => cell.text === 'NAME' || cell.text === 'NAMESPACE') && cells.length < 2) {
    return null;
  }
  return cells.map((cell) => ({ name: cell.text, start: cell.start }));
}

function sliceRow(line: string, columns: Column[]): { cells: string[]; aligned: boolean } {
  let aligned = true;
  const cells: string[] = [];
  for (let i = 0; i < columns.length; i++) {
    const start = columns[i].start;
    const end = i + 1 < columns.length ? columns[i + 1].start : line.length;
    if (start > 0 && start < line.length && line[start - 1] !== ' ' && line[start] !== ' ') {
      aligned = false;
    }
    cells.push(start < line.length ? line.slice(start, Math.max(start, end)).trim() : '');
  }
  return { cells, aligned };
}

function parseText(text: string): ParseResult<KubectlTable[]> {
  const problems: ParseProblem[] = [];
  const tables: KubectlTable[] = [];
  let table: KubectlTable | null = null;
  let columns: Column[] = [];
  let reportedHeaderless = false;
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (line.trim().length === 0) {
      table = null;
      continue;
    }
    if (isTrimMark(line)) {
      continue;
    }
    if (table === null) {
      const header = headerColumns(line);
      if (header) {
        columns = header;
        table = { columns: header.map((column) => column.name), rows: [] };
        tables.push(table);
        continue;
      }
      if (/^(No resources found|error:|Error from server|Unable to connect)/.test(line.trim())) {
        problems.push({ line: n + 1, text: line, reason: 'kubectl message, not a table row' });
        continue;
      }
      columns = [];
      table = { columns: [], rows: [] };
      tables.push(table);
    }
    if (/^(error:|Error from server|Unable to connect|W\d{4} |E\d{4} )/.test(line.trim())) {
      problems.push({ line: n + 1, text: line, reason: 'kubectl message, not a table row' });
      continue;
    }
    if (columns.length === 0) {
      if (!reportedHeaderless) {
        problems.push({ line: n + 1, text: line, reason: 'no header line: column names are unknown, cells split on runs of spaces' });
        reportedHeaderless = true;
      }
      table.rows.push({ line: n + 1, cells: cellsBySpacing(line).map((cell) => cell.text), fields: {} });
      continue;
    }
    let { cells, aligned } = sliceRow(line, columns);
    if (!aligned) {
      const spaced = cellsBySpacing(line).map((cell) => cell.text);
      if (spaced.length === columns.length) {
        cells = spaced;
      } else {
        problems.push({ line: n + 1, text: line, reason: 'row is not aligned with the header columns' });
      }
    }
    const fields: Record<string, string | null> = {};
    columns.forEach((column, index) => {
      const cell = cells[index] ?? '';
      fields[column.name] = cell === '<none>' ? null : cell;
    });
    table.rows.push({ line: n + 1, cells, fields });
  }
  return { value: tables, problems };
}

/**
 * Parses `kubectl get` table output into tables of rows keyed by column name. Output without
 * a header (piped through grep) is split on runs of spaces, with one problem saying so.
 */
export function parseKubectlTable(text: string): ParseResult<KubectlTable[]> {
  return guardParser('kubectl-table', text, () => [], parseText);
}

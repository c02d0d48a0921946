/**
 * Kernel log lines from `dmesg` (plain, `-T`, `-x`, `--time-format iso`) and `journalctl -k`
 * (short, short-iso, short-precise), with the conntrack "table full, dropping packet" lines
 * flagged.
 */
import type { ParseProblem, ParseResult } from './result';
import { guardParser } from './result';
import { isTrimMark, splitLines } from './text';

/** One kernel log message. */
export interface KernelLogEntry {
  /** The time as printed (`12345.678901`, `Mon Jan  1 00:00:00 2024`, `2024-01-01T00:00:00+0000`, `Jan 01 00:00:00`); null without one. */
  timestamp: string | null;
  /** The message without time, host and `kernel:` prefix. */
  message: string;
  /** `nf_conntrack: table full, dropping packet` (any prefix repetition; also old `ip_conntrack:`). */
  conntrackTableFull: boolean;
  /** Host name of journalctl lines. */
  host?: string;
  /** `dmesg -x` facility and level (`kern`, `warn`). */
  facility?: string;
  level?: string;
  /** 1-based line number in the input. */
  line: number;
}

const TABLE_FULL = /\b(?:nf|ip)_conntrack: (?:(?:nf|ip)_conntrack: )?table full, dropping packet/;
const MONTHS = 'Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec';
/** dmesg: `[  123.456789] message` or `[Mon Jan  1 00:00:00 2024] message`. */
const DMESG = /^\[\s*([^\]]+)\]\s?(.*)$/;
/** journalctl short: `Jan 01 00:00:00 host kernel: message`. */
const JOURNAL_SHORT = new RegExp(`^((?:${MONTHS}) [ \\d]\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) (\\S+) kernel: ?(.*)$`);
/** journalctl short-iso / dmesg --time-format iso / syslog with ISO time: `2024-01-01T00:00:00+0000 host kernel: message`. */
const ISO = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+(?:(\S+) kernel: ?)?(.*)$/;
/** dmesg -x: `kern  :warn  : [ 123.4] message`. */
const FACILITY = /^([a-z]+)\s*:([a-z]+)\s*:\s(.*)$/;

function parseText(text: string): ParseResult<KernelLogEntry[]> {
  const problems: ParseProblem[] = [];
  const entries: KernelLogEntry[] = [];
  const lines = splitLines(text);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    const lineNumber = n + 1;
    let content = line.trim();
    if (content.length === 0 || isTrimMark(line)) {
      continue;
    }
    if (content.startsWith('-- ') && (content.includes('Logs begin at') || content.includes('No entries') || content.includes('Journal begins') || content.includes('Boot '))) {
      continue;
    }
    let facility: string | undefined;
    let level: string | undefined;
    const facilityMatch = FACILITY.exec(content);
    if (facilityMatch) {
      facility = facilityMatch[1];
      level = facilityMatch[2];
      content = facilityMatch[3];
    }
    let entry: KernelLogEntry | null = null;
    const dmesg = DMESG.exec(content);
    if (dmesg) {
      entry = { timestamp: dmesg[1].trim(), message: dmesg[2], conntrackTableFull: false, line: lineNumber };
    } else {
      const journal = JOURNAL_SHORT.exec(content);
      if (journal) {
        entry = { timestamp: journal[1], message: journal[3], conntrackTableFull: false, host: journal[2], line: lineNumber };
      } else {
        const iso = ISO.exec(content);
        if (iso) {
          entry = { timestamp: iso[1], message: iso[3], conntrackTableFull: false, line: lineNumber };
          if (iso[2] !== undefined) {
            entry.host = iso[2];
          }
        }
      }
    }
    if (entry === null) {
      // `dmesg` without timestamps (printk.time=0) or a bare message.
      if (/^[A-Za-z_][\w.-]*(?:\s[\w.-]+)?:\s/.test(content) || /^[a-z]/.test(content)) {
        entry = { timestamp: null, message: content, conntrackTableFull: false, line: lineNumber };
      } else {
        problems.push({ line: lineNumber, text: line, reason: 'not a kernel log line' });
        continue;
      }
    }
    entry.conntrackTableFull = TABLE_FULL.test(entry.message);
    if (facility !== undefined) {
      entry.facility = facility;
      entry.level = level;
    }
    entries.push(entry);
  }
  return { value: entries, problems };
}

/**
 * Parses kernel log output (`dmesg`, `dmesg -T/-x`, `journalctl -k` short and ISO formats)
 * into messages, flagging `nf_conntrack: table full, dropping packet` (also the doubled
 * `nf_conntrack: nf_conntrack: …` form and the old `ip_conntrack:` one).
 */
export function parseKernelLog(text: string): ParseResult<KernelLogEntry[]> {
  return guardParser('kernel-log', text, () => [], parseText);
}

/**
 * Making hostile cluster text safe for VS Code UI. Pure (no `vscode` import) so it is unit
 * tested; used for tree labels, descriptions and Markdown tooltips.
 */

/**
 * C0/C1 controls, bidirectional overrides and invisible format characters: they can make text
 * read differently from what it is (e.g. a name that displays as another pod's name).
 */
const invisible = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb]/gu;

/** Longest text shown for one value; more is cut with an ellipsis. */
export const maxTextLength = 500;

/**
 * Plain text for labels and descriptions: invisible and control characters become U+FFFD
 * (visible), line breaks become spaces, and overlong text is cut.
 */
export function plainText(value: string, limit = maxTextLength): string {
  const cleaned = value.replace(/\r\n|\r|\n|\t/g, ' ').replace(invisible, '\ufffd');
  return cleaned.length > limit ? `${cleaned.slice(0, limit)}…` : cleaned;
}

/**
 * Text that renders literally inside Markdown: every ASCII punctuation character is
 * backslash-escaped (CommonMark allows that for all of them), which disables emphasis, links,
 * autolinks, HTML, entities, code spans and theme icons (`$(…)`) coming from cluster data.
 */
export function escapeMarkdown(value: string, limit = maxTextLength): string {
  return plainText(value, limit).replace(/[!-/:-@[-`{-~]/g, '\\$&');
}

/** One row of a tooltip: a label chosen by us and a value that came from the cluster. */
export interface TooltipRow {
  readonly key: string;
  readonly value: string | number | boolean | undefined;
}

/**
 * A Markdown tooltip: a bold title and `key: value` lines, all text escaped. Rows with an
 * undefined or empty value are left out.
 */
export function markdownTooltip(title: string, rows: readonly TooltipRow[]): string {
  const lines = [`**${escapeMarkdown(title)}**`];
  for (const row of rows) {
    if (row.value === undefined || row.value === '') {
      continue;
    }
    lines.push(`${escapeMarkdown(row.key)}: ${escapeMarkdown(String(row.value))}`);
  }
  // Two trailing spaces: a hard line break between rows.
  return lines.join('  \n');
}

/**
 * Text for notifications (`showErrorMessage` ...): plain, and with Markdown link syntax broken
 * up, since notifications turn `[text](command:…)` into clickable links and the text may
 * contain cluster data.
 */
export function notificationText(value: string): string {
  return plainText(value, 1000).replace(/\]\(/g, '] (');
}

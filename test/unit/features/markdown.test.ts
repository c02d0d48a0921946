import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { escapeMarkdown, markdownTooltip, notificationText, plainText } from '../../../src/features/markdown.js';

/** Undoes CommonMark backslash escapes, to check that escaping loses nothing. */
function unescape(text: string): string {
  return text.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

const hostile = [
  '[click](command:workbench.action.terminal.new)',
  '<img src=x onerror=alert(1)>',
  '**bold** _em_ `code` ~~strike~~',
  '$(zap) theme icon',
  'https://evil.example/path www.evil.example',
  '&lt;entity&gt; &#x3C;',
  '# heading\n- list\n> quote',
  '| table | cell |',
  'pod\u202Egnp.exe',
  'zero\u200Bwidth\u0000null\u001bescape',
];

describe('escapeMarkdown', () => {
  it('escapes every ASCII punctuation character', () => {
    for (const value of hostile) {
      const escaped = escapeMarkdown(value);
      // No punctuation is left without a backslash in front of it.
      const stripped = escaped.replace(/\\[!-/:-@[-`{-~]/g, '');
      assert.doesNotMatch(stripped, /[!-/:-@[-`{-~]/, value);
    }
  });

  it('keeps the text readable: unescaping gives the plain text back', () => {
    for (const value of hostile) {
      assert.equal(unescape(escapeMarkdown(value)), plainText(value));
    }
  });

  it('leaves names, IPs and ports readable', () => {
    assert.equal(unescape(escapeMarkdown('web-1 198.19.1.10:8080')), 'web-1 198.19.1.10:8080');
  });
});

describe('plainText', () => {
  it('makes invisible and control characters visible and joins lines', () => {
    assert.equal(plainText('pod\u202Egnp.exe'), 'pod\uFFFDgnp.exe');
    assert.equal(plainText('a\nb\tc'), 'a b c');
    assert.equal(plainText('zero\u200Bwidth'), 'zero\uFFFDwidth');
  });

  it('cuts overlong text', () => {
    assert.equal(plainText('x'.repeat(600)).length, 501);
    assert.equal(plainText('abcdef', 3), 'abc…');
  });
});

describe('markdownTooltip', () => {
  it('escapes title, keys and values, and skips empty rows', () => {
    const tooltip = markdownTooltip('Pod [x](command:y)', [
      { key: 'app', value: '<script>' },
      { key: 'empty', value: '' },
      { key: 'missing', value: undefined },
      { key: 'count', value: 3 },
    ]);
    assert.equal(tooltip, '**Pod \\[x\\]\\(command\\:y\\)**  \napp: \\<script\\>  \ncount: 3');
  });
});

describe('notificationText', () => {
  it('breaks Markdown links that notifications would make clickable', () => {
    const text = notificationText('pod [x](command:workbench.action.terminal.new) failed\nline two');
    assert.equal(text, 'pod [x] (command:workbench.action.terminal.new) failed line two');
    assert.doesNotMatch(text, /\]\(/);
  });
});

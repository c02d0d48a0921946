/**
 * The command-line splitter of "Run in Pod Netns": quoting as a real POSIX shell does it (each
 * expectation is what /bin/sh itself makes of the line), and everything else a shell would
 * interpret kept as plain characters.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

import { splitShellWords } from '../../../src/features/diagnostics/shellWords.js';

/**
 * The words /bin/sh makes of `line` by quoting alone. Only for lines without expansions,
 * operators or globs (checked), so that quoting is all the shell does with them.
 */
function shellWords(line: string): string[] {
  assert.ok(!/[$`|&;<>()*?[\]{}~#]/.test(line.replace(/'[^']*'/g, '')), `not a quoting-only line: ${line}`);
  const result = spawnSync('/bin/sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout === '' ? [] : result.stdout.slice(0, -1).split('\0');
}

describe('splitShellWords', () => {
  const lines = [
    'ip addr',
    '  ss   -tlnp  ',
    "dig +short 'web.lab-apps.svc.cluster.local'",
    'curl -sS -H "Host: a b" http://198.18.1.2/',
    `echo "a \\"quoted\\" word" 'single "inner"' mixed"dq"'sq'bare`,
    String.raw`echo back\ slash "esc\\aped" "keep\n" 'raw\n'`,
    `printf "" '' x`,
    'tcpdump -ni eth0 -c 5 port 53',
    `sh -c 'echo $HOME; ls | wc -l'`,
  ];
  for (const line of lines) {
    it(`splits ${JSON.stringify(line)} as /bin/sh does`, () => {
      const split = splitShellWords(line);
      assert.ok(split.ok, split.ok ? '' : split.error);
      assert.deepEqual(split.words, shellWords(line));
    });
  }

  it('keeps operators, expansions and globs as plain characters (nothing is run through a shell)', () => {
    const split = splitShellWords('echo $(id) `id` ; rm -rf / | cat > /etc/x && ~ *');
    assert.ok(split.ok);
    assert.deepEqual(split.words, ['echo', '$(id)', '`id`', ';', 'rm', '-rf', '/', '|', 'cat', '>', '/etc/x', '&&', '~', '*']);
  });

  it('reports unterminated quotes and a trailing backslash instead of guessing', () => {
    for (const line of ["echo 'open", 'echo "open', 'echo \\']) {
      const split = splitShellWords(line);
      assert.equal(split.ok, false, line);
      assert.ok(!split.ok && split.error.length > 0);
    }
  });

  it('gives no words for a blank line', () => {
    assert.deepEqual(splitShellWords('   \t '), { ok: true, words: [] });
  });
});

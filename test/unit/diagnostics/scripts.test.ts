/**
 * The node-side scripts and argv builders: data only ever travels as separate argv words.
 * Scripts are run by a real shell with recording stand-ins for nsenter/ip/dig on PATH, to
 * see exactly which words each tool receives.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DIG_SCRIPT, digArgv, isValidDnsName } from '../../../src/diagnostics/dig';
import { netnsArgv, netnsShellArgv } from '../../../src/diagnostics/netns';
import { VETH_SCRIPT, vethArgv } from '../../../src/diagnostics/veth';
import { splitSections } from '../../../src/diagnostics/context';
import { commandLine, shellQuote } from '../../../src/diagnostics/manualCommands';
import { DiagnosticError } from '../../../src/diagnostics/context';

const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-scripts-test-'));
after(() => fs.rmSync(bin, { recursive: true, force: true }));

// Each stand-in prints its name and each argument on its own line between markers.
for (const tool of ['nsenter', 'ip', 'dig']) {
  fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\nprintf 'argv:%s\\n' "${tool}"\nfor a in "$@"; do printf 'arg:%s\\n' "$a"; done\n`, { mode: 0o755 });
}

function runScript(argv: readonly string[]): { stdout: string; status: number | null } {
  assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
  const result = spawnSync('/bin/sh', argv.slice(1), { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
  return { stdout: result.stdout, status: result.status };
}

function invocations(text: string): string[][] {
  const calls: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('argv:')) {
      calls.push([line.slice(5)]);
    } else if (line.startsWith('arg:')) {
      calls[calls.length - 1].push(line.slice(4));
    }
  }
  return calls;
}

describe('veth script', () => {
  test('passes PID and pod IP as words and marks each section with its exit code', () => {
    const argv = vethArgv(4242, '198.18.2.7');
    assert.ok(!VETH_SCRIPT.includes('4242') && !VETH_SCRIPT.includes('198.18.2.7'));
    const { stdout, status } = runScript(argv);
    assert.equal(status, 0);
    const sections = splitSections(stdout);
    assert.deepEqual(sections.map((section) => [section.name, section.exitCode]), [
      ['pod', 0],
      ['node', 0],
      ['route', 0],
    ]);
    assert.deepEqual(invocations(sections[0].text), [['nsenter', '-t', '4242', '-n', 'ip', '-d', 'addr', 'show']]);
    assert.deepEqual(invocations(sections[1].text), [['ip', '-d', 'addr', 'show']]);
    assert.deepEqual(invocations(sections[2].text), [['ip', 'route', 'get', '198.18.2.7']]);
  });

  test('without a PID only the node side runs', () => {
    const sections = splitSections(runScript(vethArgv(null, null)).stdout);
    assert.deepEqual(sections.map((section) => section.name), ['node']);
  });

  test('refuses what is not a PID or an IP', () => {
    assert.throws(() => vethArgv(0, null), RangeError);
    assert.throws(() => vethArgv(1.5, null), RangeError);
    assert.throws(() => vethArgv(1, '10.0.0.1; reboot'), RangeError);
  });
});

describe('dig script', () => {
  test('reads the pod resolv.conf via /proc/PID/root and digs each server from inside the netns', () => {
    const pid = process.pid;
    const argv = digArgv(pid, 'web.lab-apps.svc.cluster.local', 'A', [
      { address: '198.19.0.10', port: 53 },
      { address: '198.18.1.5', port: 5353 },
    ]);
    assert.ok(!DIG_SCRIPT.includes('web.lab-apps'));
    const { stdout } = runScript(argv);
    const sections = splitSections(stdout);
    assert.deepEqual(sections.map((section) => section.name), ['resolv', 'dig=198.19.0.10#53', 'dig=198.18.1.5#5353']);
    assert.equal(sections[0].exitCode, 0);
    assert.equal(sections[0].text.trim(), fs.readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8').trim());
    assert.deepEqual(invocations(sections[1].text), [['nsenter', '-t', String(pid), '-n', 'dig', '+time=2', '+tries=1', '-t', 'A', '-q', 'web.lab-apps.svc.cluster.local', '@198.19.0.10', '-p', '53']]);
    assert.deepEqual(invocations(sections[2].text)[0].slice(-3), ['@198.18.1.5', '-p', '5353']);
  });

  test('accepts DNS names only', () => {
    for (const good of ['kubernetes.default.svc.cluster.local', 'kube-dns.kube-system', 'web', '_http._tcp.web.lab-apps.svc.cluster.local.', 'a1']) {
      assert.ok(isValidDnsName(good), good);
    }
    for (const bad of ['', '-x', '+short', 'a b', 'a;reboot', '$(id)', 'a..b', '.', 'x'.repeat(64), `\`id\``, 'é.com']) {
      assert.ok(!isValidDnsName(bad), bad);
      assert.throws(() => digArgv(1, bad, 'A', []), DiagnosticError);
    }
    assert.throws(() => digArgv(1, 'ok', 'A', [{ address: '1.2.3.4 -x', port: 53 }]), RangeError);
    assert.throws(() => digArgv(1, 'ok', 'BOGUS' as never, []), DiagnosticError);
  });
});

describe('netns argv', () => {
  test('nsenter with the command as separate words, bounded by timeout on the node', () => {
    assert.deepEqual(netnsArgv(12, ['ss', '-tanp']), ['nsenter', '-t', '12', '-n', '--', 'ss', '-tanp']);
    assert.deepEqual(netnsArgv(12, ['conntrack', '-L'], 30.2), ['timeout', '-s', 'KILL', '31', 'nsenter', '-t', '12', '-n', '--', 'conntrack', '-L']);
    assert.throws(() => netnsArgv(-1, ['x']), RangeError);
    assert.throws(() => netnsArgv(1, []), DiagnosticError);
    const shell = netnsShellArgv(77);
    assert.deepEqual(shell.slice(0, 5), ['nsenter', '-t', '77', '-n', '--']);
  });

  test('a shell metacharacter in the command reaches the tool as text', () => {
    const hostile = ['$(touch /tmp/kni-should-not-exist)', ';', 'a b', "'quoted'", '`id`'];
    const argv = netnsArgv(99, ['echo', ...hostile]);
    const result = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` } });
    assert.deepEqual(invocations(result.stdout), [['nsenter', '-t', '99', '-n', '--', 'echo', ...hostile]]);
    assert.ok(!fs.existsSync('/tmp/kni-should-not-exist'));
  });
});

describe('manual commands', () => {
  test('shell quoting round-trips through a real shell', () => {
    const words = ['plain', 'with space', "it's", '$(id)', '`id`', '"dq"', 'back\\slash', '*', '{{.info.pid}}', '', 'new\nline', '^12:'];
    for (const word of words) {
      const result = spawnSync('/bin/sh', ['-c', commandLine('printf', '%s', word)], { encoding: 'utf8' });
      assert.equal(result.stdout, word, `${JSON.stringify(word)} as ${shellQuote(word)}`);
    }
  });
});

describe('splitSections', () => {
  test('keeps sections, text and exit codes; a section without exit marker has null', () => {
    const sections = splitSections('@@kni:a@@\nline 1\nline 2\n@@kni:exit=0@@\n@@kni:b@@\npartial');
    assert.deepEqual(sections, [
      { name: 'a', text: 'line 1\nline 2', exitCode: 0 },
      { name: 'b', text: 'partial', exitCode: null },
    ]);
  });
});

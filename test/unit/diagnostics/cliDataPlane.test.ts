/**
 * The CLI's data-plane commands without a cluster: argument parsing, validation before any
 * cluster access (exit code 2), and the help text.
 */
import * as assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { UsageError, parseArgs, usageText } from '../../../src/cli/args';
import { validateDataPlaneArgs } from '../../../src/cli/dataPlaneCommands';
import { main } from '../../../src/cli/main';
import { DiagnosticError } from '../../../src/diagnostics/context';
import { parsersByFormat } from '../../../src/parsers/index';

async function runMain(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const stdin = Object.assign(new PassThrough(), { isTTY: false });
  // A kubeconfig that does not exist: anything reaching the cluster would fail differently.
  const code = await main(['--kubeconfig', '/nonexistent/kubeconfig', ...argv], { stdout, stderr, stdin, program: 'kni' });
  return { code, stdout: out, stderr: err };
}

describe('data-plane command line', () => {
  test('parses each command with its options', () => {
    const trace = parseArgs(['trace', 'lab-apps/web', '--node', 'lab-worker3', '--json']);
    assert.equal(trace.command, 'trace');
    assert.deepEqual(trace.args, ['lab-apps/web']);
    assert.equal(trace.options.node, 'lab-worker3');
    assert.equal(trace.options.json, true);
    const conntrack = parseArgs(['conntrack', 'n1', '--src', '198.18.1.3', '--dst=198.19.0.80', '--proto', 'tcp', '--max', '100']);
    assert.equal(conntrack.options.src, '198.18.1.3');
    assert.equal(conntrack.options.dst, '198.19.0.80');
    assert.equal(conntrack.options.proto, 'tcp');
    assert.equal(conntrack.options.max, 100);
    assert.equal(parseArgs(['conntrack', 'n1', '--usage']).options.usage, true);
    assert.equal(parseArgs(['conntrack', 'n1', '--events', '--duration', '5']).options.durationSeconds, 5);
    assert.equal(parseArgs(['ipvs', 'n1', '--service', 'kube-system/kube-dns']).options.service, 'kube-system/kube-dns');
    assert.equal(parseArgs(['mode', 'n1']).command, 'mode');
    assert.equal(parseArgs(['rules', 'n1']).command, 'rules');
  });

  test('wrong arity and bad numbers are usage errors', () => {
    for (const argv of [['mode'], ['rules', 'a', 'b'], ['trace'], ['ipvs'], ['conntrack'], ['conntrack', 'n', '--max', '0'], ['conntrack', 'n', '--max', '1.5'], ['conntrack', 'n', '--duration', 'x'], ['mode', 'n', '--', 'x']]) {
      assert.throws(() => parseArgs(argv), UsageError, argv.join(' '));
    }
  });

  test('bad nodes, services, addresses and protocols are refused before the cluster', () => {
    for (const argv of [
      ['mode', 'Bad_Node'],
      ['rules', 'n;reboot'],
      ['trace', 'web'],
      ['trace', 'a/b', '--node', '-x'],
      ['ipvs', 'n', '--service', 'x'],
      ['conntrack', 'n', '--src', '1.2.3.4;id'],
      ['conntrack', 'n', '--dst', 'fd00::1', '--src', '1.2.3.4'],
      ['conntrack', 'n', '--proto', 'tcp,udp'],
    ]) {
      assert.throws(() => validateDataPlaneArgs(parseArgs(argv)), (error: unknown) => DiagnosticError.is(error, 'invalid-input'), argv.join(' '));
    }
    validateDataPlaneArgs(parseArgs(['conntrack', 'lab-worker', '--dst', '198.19.0.80', '--proto', 'UDP']));
  });

  test('main: exit 2 with the reason, before reading the kubeconfig', async () => {
    const bad = await runMain(['--yes', 'mode', 'Bad_Node']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Not a node name/);
    const json = await runMain(['--yes', '--json', 'conntrack', 'n', '--src', 'nope']);
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.stdout).error.code, 'invalid-input');
    const noTty = await runMain(['trace', 'a/b']);
    assert.equal(noTty.code, 2);
    assert.match(noTty.stderr, /--yes/);
  });

  test('help names every command and every parse format', () => {
    const help = usageText('kni');
    for (const word of ['mode NODE', 'rules NODE', 'trace NAMESPACE/SERVICE', 'ipvs NODE', 'conntrack NODE', '--usage', '--events', '--service']) {
      assert.ok(help.includes(word), word);
    }
    for (const format of Object.keys(parsersByFormat)) {
      assert.ok(help.includes(format), format);
    }
  });
});

/**
 * The CLI as a process, for what needs no cluster: usage errors, the refusal without a
 * terminal, `parse` on the shared corpus (same values as the parsers give).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { parsersByFormat } from '../../src/parsers/index';
import { corpusFiles } from '../unit/parsers/corpusFiles';
import { outDir, repoRoot, run } from './debugPodLab';

const bin = path.join(repoRoot(), 'bin', 'kube-net-inspector.js');
const env = { ...process.env, KNI_OUT_DIR: outDir(), KUBECONFIG: '/nonexistent/kubeconfig' };

function cli(args: readonly string[], input?: string): ReturnType<typeof run> {
  return run(process.execPath, [bin, ...args], { env, input });
}

describe('kube-net-inspector usage', () => {
  test('help and version exit 0', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /veth NAMESPACE\/POD/);
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  test('usage errors exit 2', async () => {
    for (const args of [['bogus'], ['veth'], ['dig', 'ns/pod'], ['exec', 'ns/pod'], ['veth', 'ns/pod', '--nope'], ['parse'], ['veth', 'ns/pod', '--timeout', 'x']]) {
      const result = await cli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.ok(result.stderr.length > 0);
    }
  });

  test('without a terminal and without --yes it refuses, says why and names --yes', async () => {
    const result = await cli(['veth', 'lab-apps/web-0']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /not a TTY/);
    assert.match(result.stderr, /--yes/);
  });

  test('a bad pod reference or DNS name is a usage error, before any cluster access', async () => {
    const badRef = await cli(['--yes', 'veth', 'Not/A;Pod']);
    assert.equal(badRef.code, 2, badRef.stderr);
    assert.match(badRef.stderr, /NAMESPACE\/POD/);
    const badName = await cli(['--yes', 'dig', 'lab-apps/web-0', '$(reboot)']);
    assert.equal(badName.code, 2, badName.stderr);
    assert.match(badName.stderr, /Not a DNS name/);
  });

  test('works as the kubectl plugin kubectl-netinspect', async (t) => {
    const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((file) => fs.existsSync(file));
    if (kubectl === undefined) {
      t.skip('no kubectl');
      return;
    }
    const plugins = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-plugin-'));
    try {
      fs.symlinkSync(bin, path.join(plugins, 'kubectl-netinspect'));
      const result = await run(kubectl, ['netinspect', '--help'], { env: { ...env, PATH: `${plugins}:${process.env.PATH ?? ''}` } });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /Usage: kubectl netinspect/);
    } finally {
      fs.rmSync(plugins, { recursive: true, force: true });
    }
  });
});

describe('kube-net-inspector parse', () => {
  const formats: Record<string, string> = { 'ip-addr': 'ip-addr', dig: 'dns', 'proc-cgroup': 'container-pid', 'crictl-inspect': 'container-pid', 'resolv-conf': 'dns' };
  for (const [format, folder] of Object.entries(formats)) {
    test(`${format}: prints what the parser reads from each corpus file`, async () => {
      const parser = parsersByFormat[format];
      assert.ok(parser, format);
      const entries = corpusFiles(folder).filter((entry) => (format === 'resolv-conf' ? entry.name.startsWith('resolvconf') : format === 'dig' ? !entry.name.startsWith('resolvconf') : true));
      for (const entry of entries) {
        const fromFile = await cli(['parse', format, entry.path]);
        assert.equal(fromFile.code, 0, fromFile.stderr);
        assert.deepEqual(JSON.parse(fromFile.stdout), JSON.parse(JSON.stringify(parser(entry.body).value)), entry.name);
        const fromStdin = await cli(['parse', format, '-', '--json'], entry.body);
        assert.deepEqual(JSON.parse(fromStdin.stdout).value, JSON.parse(fromFile.stdout), entry.name);
      }
    });
  }

  test('an unknown format is a usage error listing the formats', async () => {
    const result = await cli(['parse', 'nope', '-'], '');
    assert.equal(result.code, 2);
    assert.match(result.stderr, /ip-addr/);
  });
});

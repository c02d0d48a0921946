/**
 * The CLI against the real lab, as a user runs it: `--json` values equal what `ip` and `dig`
 * report by hand in the lab's namespaces and what the API says; no debug pod outlives a run,
 * also when it is interrupted. Needs root and the lab.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { KUBE_DNS_SERVICE_IP, LAB_PREFIX } from '../../lab/config';
import { podNetnsName } from '../../lab/net/names';
import { buildDebugPod, newOwnerId } from '../../src/node/debugPodSpec';
import type { VethResult } from '../../src/diagnostics/veth';
import type { PodDigResult } from '../../src/diagnostics/dig';
import type { NetnsRunResult } from '../../src/diagnostics/netns';
import { acquireLab, debugPodsNow, eventually, loadKubeConfig, outDir, peerOfPodEth0, releaseLab, repoRoot, run, runningPods } from './debugPodLab';

const bin = path.join(repoRoot(), 'bin', 'kube-net-inspector.js');
let kubeconfigPath = '';
let kubeConfig: KubeConfig;
let appPods: V1Pod[] = [];

function cli(args: readonly string[], timeoutMs = 120_000): ReturnType<typeof run> {
  return run(process.execPath, [bin, '--kubeconfig', kubeconfigPath, ...args], { env: { ...process.env, KNI_OUT_DIR: outDir() }, timeoutMs });
}

async function cliPodsLeft(): Promise<V1Pod[]> {
  return (await debugPodsNow(kubeConfig, 'cli-')).filter((pod) => pod.metadata?.deletionTimestamp === undefined);
}

before(async () => {
  kubeconfigPath = await acquireLab();
  kubeConfig = loadKubeConfig(kubeconfigPath);
  await eventually(async () => (appPods = await runningPods(kubeConfig, 'lab-apps')).length >= 1, 60_000, 'running pods in lab-apps');
});

after(async () => {
  await releaseLab();
});

describe('kube-net-inspector against the lab', () => {
  test('veth --json names the peer ip reports, and leaves no debug pod', async () => {
    const pod = appPods[0];
    const result = await cli(['--yes', '--json', 'veth', `lab-apps/${pod.metadata!.name}`]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const veth = JSON.parse(result.stdout) as VethResult;
    const truth = await peerOfPodEth0(podNetnsName(LAB_PREFIX, pod.metadata!.uid!), pod.spec!.nodeName!);
    assert.equal(veth.nodeInterface?.name, truth.nodeName);
    assert.equal(veth.nodeInterface?.index, truth.peerIndex);
    assert.equal(veth.podInterface?.peerIndex, truth.peerIndex);
    assert.equal(veth.podInterface?.index, truth.podIndex);
    assert.equal(veth.pod.podIP, pod.status?.podIP);
    assert.equal(veth.indexMatch?.forward, true);
    assert.equal(typeof veth.pid?.pid, 'number');
    assert.equal((await cliPodsLeft()).length, 0);
  });

  test('veth without --json is readable text with the manual commands', async () => {
    const pod = appPods[0];
    const result = await cli(['--yes', 'veth', `lab-apps/${pod.metadata!.name}`]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Pod side: +\d+: eth0@if\d+/);
    assert.match(result.stdout, /Node side: +\d+: veth/);
    assert.match(result.stdout, /nsenter -t \d+ -n ip addr/);
  });

  test("dig --json answers with the service's ClusterIP, as dig by hand does", async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const service = (await core.listNamespacedService({ namespace: 'lab-apps' })).items.find((item) => item.spec?.clusterIP !== undefined && item.spec.clusterIP !== 'None');
    assert.ok(service);
    const name = `${service.metadata!.name}.lab-apps.svc.cluster.local`;
    const pod = appPods[0];
    const result = await cli(['--yes', '--json', 'dig', `lab-apps/${pod.metadata!.name}`, name]);
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const dig = JSON.parse(result.stdout) as PodDigResult;
    const viaService = dig.queries.find((query) => query.target === 'cluster-ip');
    assert.equal(viaService?.result.status, 'NOERROR');
    assert.deepEqual(viaService?.result.answers.map((answer) => answer.data), [service.spec!.clusterIP]);
    const byHand = await run('ip', ['netns', 'exec', podNetnsName(LAB_PREFIX, pod.metadata!.uid!), 'dig', '+short', '+time=2', '+tries=1', name, `@${KUBE_DNS_SERVICE_IP}`]);
    assert.equal(byHand.stdout.trim(), viaService?.result.answers[0].data);
    assert.equal((await cliPodsLeft()).length, 0);
  });

  test('exec streams the command and exits with its code', async () => {
    const pod = appPods[0];
    const ok = await cli(['--yes', 'exec', `lab-apps/${pod.metadata!.name}`, '--', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.stdout.includes(`inet ${pod.status!.podIP}/`));
    const failed = await cli(['--yes', 'exec', `lab-apps/${pod.metadata!.name}`, '--', 'sh', '-c', 'echo "$1"; exit 7', 'sh', '$(touch /tmp/kni-cli-injection)']);
    assert.equal(failed.code, 7);
    assert.equal(failed.stdout, '$(touch /tmp/kni-cli-injection)\n');
    const json = await cli(['--yes', '--json', 'exec', `lab-apps/${pod.metadata!.name}`, '--', 'true']);
    assert.equal((JSON.parse(json.stdout) as NetnsRunResult).exec.exitCode, 0);
    assert.equal((await cliPodsLeft()).length, 0);
  });

  test('a missing pod fails with exit code 1 and a clear message', async () => {
    const result = await cli(['--yes', 'veth', 'lab-apps/no-such-pod']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /does not exist/);
  });

  test('PodSecurity and image pull failures through the CLI', async () => {
    const pod = appPods[0];
    const restricted = await cli(['--yes', '--json', '--namespace-debug', 'lab-restricted', 'veth', `lab-apps/${pod.metadata!.name}`]);
    assert.equal(restricted.code, 1);
    assert.equal(JSON.parse(restricted.stdout).error.code, 'pod-security');
    const pull = await cli(['--yes', '--json', '--image', 'docker.io/nicolaka/netshoot:nope', 'veth', `lab-apps/${pod.metadata!.name}`]);
    assert.equal(pull.code, 1);
    assert.equal(JSON.parse(pull.stdout).error.code, 'image-pull');
    assert.equal((await cliPodsLeft()).length, 0);
  });

  test('SIGINT while a command runs deletes the debug pod before exit', async () => {
    const pod = appPods[0];
    const child = spawn(process.execPath, [bin, '--kubeconfig', kubeconfigPath, '--yes', 'exec', `lab-apps/${pod.metadata!.name}`, '--', 'sleep', '60'], {
      env: { ...process.env, KNI_OUT_DIR: outDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => (await cliPodsLeft()).some((item) => item.status?.phase === 'Running'), 60_000, 'the CLI debug pod to run');
      // Give the exec a moment to start on the node.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      child.kill('SIGINT');
      const code = await exited;
      assert.equal(code, 130);
      assert.equal((await cliPodsLeft()).length, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('on a terminal it asks first: yes runs, no creates nothing', async (t) => {
    const script = ['/usr/bin/script', '/bin/script'].find((file) => fs.existsSync(file));
    if (script === undefined) {
      t.skip('no script(1) to provide a terminal');
      return;
    }
    const pod = appPods[0];
    const command = [process.execPath, bin, '--kubeconfig', kubeconfigPath, 'veth', `lab-apps/${pod.metadata!.name}`].map((word) => `'${word}'`).join(' ');
    const answer = async (reply: string): Promise<{ code: number | null; output: string }> => {
      const child = spawn(script, ['-qec', command, '/dev/null'], { env: { ...process.env, KNI_OUT_DIR: outDir() }, stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Create it? [y/N]') && !child.stdin.writableEnded) {
          child.stdin.end(`${reply}\n`);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
      return { code, output };
    };
    const yes = await answer('y');
    assert.equal(yes.code, 0, yes.output);
    assert.match(yes.output, new RegExp(`on node ${pod.spec!.nodeName}:`));
    assert.match(yes.output, /privileged/);
    assert.match(yes.output, /Node side: +\d+: veth/);
    const no = await answer('n');
    assert.equal(no.code, 1, no.output);
    assert.match(no.output, /permission was not given/);
    assert.equal((await cliPodsLeft()).length, 0);
  });

  test('cleanup deletes every debug pod of the tool', async () => {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const owner = `cli-${newOwnerId()}`;
    await core.createNamespacedPod({ namespace: 'default', body: buildDebugPod({ nodeName: appPods[0].spec!.nodeName!, ownerId: owner, lifetimeSeconds: 300 }) });
    assert.equal((await debugPodsNow(kubeConfig, owner)).length, 1);
    const result = await cli(['--json', 'cleanup']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { deleted: { name: string }[] };
    assert.ok(report.deleted.length >= 1);
    await eventually(async () => (await debugPodsNow(kubeConfig, owner)).length === 0, 10_000, 'cleanup');
  });
});

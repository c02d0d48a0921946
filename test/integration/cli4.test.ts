/**
 * The CLI's data-plane commands as a user runs them against the lab: `--json` of mode, trace,
 * conntrack and ipvs gives the values the library gives and that the lab shows by hand; text
 * output and `rules` print what they should; no debug pod outlives a run.
 */
import { LAB_PREFIX, inNode, iptablesTargets, outDir, podNetnsName, repoRoot, run, setUpLab, tearDownLab } from './dataPlaneLab';
import type { Lab } from './dataPlaneLab';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { detectDataPlane } from '../../src/diagnostics/dataPlane';
import type { DataPlaneInfo } from '../../src/diagnostics/dataPlane';
import { traceService } from '../../src/diagnostics/trace';
import type { ServiceTrace } from '../../src/diagnostics/trace';
import type { ConntrackListing, ConntrackUsage } from '../../src/diagnostics/conntrack';
import type { IpvsResult } from '../../src/diagnostics/ipvs';
import { debugPodsNow } from './debugPodLab';

const bin = path.join(repoRoot(), 'bin', 'kube-net-inspector.js');
let lab: Lab | undefined;
let web: V1Service;
let client: V1Pod;

function requireLab(): Lab {
  assert.ok(lab, 'lab not set up');
  return lab;
}

function cli(args: readonly string[]): ReturnType<typeof run> {
  return run(process.execPath, [bin, '--kubeconfig', requireLab().kubeconfigPath, '--yes', ...args], { env: { ...process.env, KNI_OUT_DIR: outDir() }, timeoutMs: 120_000 });
}

async function cliPodsLeft(): Promise<number> {
  return (await debugPodsNow(requireLab().kubeConfig, 'cli-')).filter((pod) => pod.metadata?.deletionTimestamp === undefined).length;
}

before(async () => {
  lab = await setUpLab('it-cli4');
  web = await lab.core.readNamespacedService({ namespace: 'lab-apps', name: 'web' });
  client = await lab.core.readNamespacedPod({ namespace: 'lab-apps', name: 'client' });
});

after(async () => {
  await tearDownLab(lab);
});

describe('kube-net-inspector data-plane commands against the lab', () => {
  test('mode --json: the same as the library, for every lab node', async () => {
    const lab = requireLab();
    for (const node of [...lab.nodesByMode.iptables.slice(0, 1), ...lab.nodesByMode.nftables]) {
      const result = await cli(['--json', 'mode', node]);
      assert.equal(result.code, 0, result.stderr);
      const fromCli = JSON.parse(result.stdout) as DataPlaneInfo;
      const fromLibrary = await detectDataPlane(lab.context, node);
      for (const key of ['proxyMode', 'proxyModeSource', 'kubeChainsIn', 'nftKubeProxyTable', 'nftTables', 'ipvs', 'kubeProxyAbsent', 'replacedBy'] as const) {
        assert.deepEqual(fromCli[key], fromLibrary[key], `${node} ${key}`);
      }
      assert.equal(fromCli.iptablesBackends.nft.serviceChains, fromLibrary.iptablesBackends.nft.serviceChains);
      assert.equal(fromCli.proxyMode, (await inNode(node, ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:10249/proxyMode'])).trim());
    }
    assert.equal(await cliPodsLeft(), 0);
  });

  test('trace --json: the endpoints and pods of the library, the DNAT targets of the node', async () => {
    const lab = requireLab();
    const node = lab.nodesByMode.iptables[0];
    const result = await cli(['--json', 'trace', 'lab-apps/web', '--node', node]);
    assert.equal(result.code, 0, result.stderr);
    const fromCli = JSON.parse(result.stdout) as ServiceTrace;
    const fromLibrary = await traceService(lab.context, { namespace: 'lab-apps', name: 'web' }, { node });
    const endpoints = (trace: ServiceTrace) => trace.ports[0].endpoints.map((endpoint) => [endpoint.sepChain, endpoint.dnatTo, endpoint.probability, endpoint.pod?.name ?? null, endpoint.status]);
    assert.deepEqual(endpoints(fromCli), endpoints(fromLibrary));
    assert.deepEqual(fromCli.flags, fromLibrary.flags);
    const truth = await iptablesTargets(node, web.spec?.clusterIP ?? '', 80);
    assert.deepEqual(fromCli.ports[0].endpoints.map((endpoint) => endpoint.dnatTo).sort(), [...truth.targets].sort());
    const text = await cli(['trace', 'lab-apps/web', '--node', node]);
    assert.equal(text.code, 0, text.stderr);
    assert.ok(text.stdout.includes(truth.svcChain));
    assert.equal(await cliPodsLeft(), 0);
  });

  test('conntrack --json --dst CLUSTERIP: the connection of a request, with the pod that answered as reply source', async () => {
    const node = client.spec?.nodeName ?? '';
    const netns = podNetnsName(LAB_PREFIX, client.metadata?.uid ?? '');
    const answer = await run('ip', ['netns', 'exec', netns, 'curl', '-s', '--max-time', '2', `http://${web.spec?.clusterIP}/`], { timeoutMs: 10_000 });
    assert.equal(answer.code, 0, answer.stderr);
    const reply = JSON.parse(answer.stdout) as { podIP: string; clientPort: number };
    const result = await cli(['--json', 'conntrack', node, '--dst', web.spec?.clusterIP ?? '']);
    assert.equal(result.code, 0, result.stderr);
    const listing = JSON.parse(result.stdout) as Omit<ConntrackListing, 'raw'>;
    const entry = listing.entries.find((item) => item.original.sport === reply.clientPort);
    assert.ok(entry, `no entry for port ${reply.clientPort}`);
    assert.equal(entry.reply?.src, reply.podIP);
    assert.equal(listing.counts.total, listing.entries.length);
    const usage = JSON.parse((await cli(['--json', 'conntrack', node, '--usage'])).stdout) as ConntrackUsage;
    assert.equal(usage.max, Number((await inNode(node, ['cat', '/proc/sys/net/netfilter/nf_conntrack_max'])).trim()));
    assert.equal(await cliPodsLeft(), 0);
  });

  test('ipvs --json on a lab node: not in IPVS mode, naming its mode', async () => {
    const node = requireLab().nodesByMode.iptables[0];
    const result = await cli(['--json', 'ipvs', node]);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as IpvsResult;
    assert.equal(parsed.kind, 'not-ipvs');
    assert.equal(parsed.kind === 'not-ipvs' ? parsed.mode : null, 'iptables');
    const text = await cli(['ipvs', node]);
    assert.match(text.stdout, /is not in IPVS mode/);
  });

  test('rules: the dump as iptables-save prints it (loadable text), --json the parsed form', async () => {
    const node = requireLab().nodesByMode.iptables[0];
    const text = await cli(['rules', node]);
    assert.equal(text.code, 0, text.stderr);
    const rules = (dump: string): string[] => dump.split('\n').filter((line) => line.startsWith('-A '));
    assert.deepEqual(rules(text.stdout), rules(await inNode(node, ['iptables-nft-save'])));
    const json = JSON.parse((await cli(['--json', 'rules', node])).stdout) as { dumps: { backend: string; parsed: { tables: { name: string }[] }; text?: string }[] };
    assert.equal(json.dumps[0].backend, 'iptables-nft');
    assert.equal(json.dumps[0].text, undefined);
    assert.ok(json.dumps[0].parsed.tables.some((table) => table.name === 'nat'));
    assert.equal(await cliPodsLeft(), 0);
  });

  test('bad input: exit 2 before any debug pod', async () => {
    const result = await cli(['trace', 'lab-apps/web', '--node', 'No_Such_Node']);
    assert.equal(result.code, 2);
    const missing = await cli(['--json', 'trace', 'lab-apps/does-not-exist']);
    assert.equal(missing.code, 1);
    assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'service-not-found');
    assert.equal(await cliPodsLeft(), 0);
  });
});

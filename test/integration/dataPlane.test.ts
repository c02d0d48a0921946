/**
 * The node's data plane, its rules, a service's path and IPVS, against the real lab. Every
 * expected value is read by hand in the lab's namespaces (iptables-save, nft list, the
 * /proxyMode endpoint) or from the API, never from the code under test. Needs root and the lab.
 *
 * The stale/missing test edits a node's kube-proxy rules for real (a fake endpoint appended to
 * a service chain, one real endpoint's jump removed), then puts them back exactly as they were.
 * The fake endpoint sits after the rule that takes all remaining traffic, so it never gets any.
 */
import { LAB_PREFIX, inNode, iptablesTargets, nftTargets, nodeNetnsName, podsOfTargets, run, runningWebPods, setUpLab, tearDownLab } from './dataPlaneLab';
import type { Lab } from './dataPlaneLab';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { detectDataPlane } from '../../src/diagnostics/dataPlane';
import { ipvsBackends } from '../../src/diagnostics/ipvs';
import { fetchRules, kubeServicesView } from '../../src/diagnostics/rules';
import { traceService } from '../../src/diagnostics/trace';
import type { ServiceTrace } from '../../src/diagnostics/trace';

let lab: Lab | undefined;
let web: V1Service;

function requireLab(): Lab {
  assert.ok(lab, 'lab not set up');
  return lab;
}

/** The nftables-mode node, or a skip reason when this lab was built before it existed. */
function nftNode(t: { skip(message: string): void }): string | null {
  const node = requireLab().nodesByMode.nftables[0];
  if (node === undefined) {
    t.skip(`lab ${LAB_PREFIX} has no nftables-mode node (lab-worker3): it was started from an older build`);
    return null;
  }
  return node;
}

before(async () => {
  lab = await setUpLab('it-dataplane');
  web = await lab.core.readNamespacedService({ namespace: 'lab-apps', name: 'web' });
});

after(async () => {
  await tearDownLab(lab);
});

function endpointPods(trace: ServiceTrace): string[] {
  return trace.ports[0].endpoints.map((endpoint) => (endpoint.pod === null ? '(none)' : `${endpoint.pod.namespace}/${endpoint.pod.name}`)).sort();
}

describe('data plane of the lab nodes', () => {
  test('an iptables-mode node: mode from /proxyMode, KUBE chains in the nf_tables backend, no IPVS', async () => {
    const node = requireLab().nodesByMode.iptables[0];
    const info = await detectDataPlane(requireLab().context, node);
    const answer = (await inNode(node, ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:10249/proxyMode'])).trim();
    assert.equal(answer, 'iptables');
    assert.equal(info.proxyMode, answer);
    assert.equal(info.proxyModeSource, 'proxyMode-endpoint');
    const save = await inNode(node, ['iptables-nft-save']);
    assert.equal(info.iptablesBackends.nft.kubeChains, save.split('\n').filter((line) => line.startsWith(':KUBE-')).length);
    assert.equal(info.iptablesBackends.nft.serviceChains, save.split('\n').filter((line) => /^:KUBE-SV[CL]-/.test(line)).length);
    const legacy = await inNode(node, ['iptables-legacy-save']);
    assert.equal(info.iptablesBackends.legacy.kubeChains, legacy.split('\n').filter((line) => line.startsWith(':KUBE-')).length);
    assert.equal(info.kubeChainsIn, 'nft');
    assert.equal(info.nftKubeProxyTable, false);
    assert.equal(info.ipvs.available, false);
    assert.equal(info.kubeProxyAbsent, false);
  });

  test('the nftables-mode node: nftables, its kube-proxy table, only kubelet chains in iptables', async (t) => {
    const node = nftNode(t);
    if (node === null) {
      return;
    }
    const info = await detectDataPlane(requireLab().context, node);
    assert.equal((await inNode(node, ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:10249/proxyMode'])).trim(), 'nftables');
    assert.equal(info.proxyMode, 'nftables');
    const tables = (await inNode(node, ['nft', 'list', 'tables'])).split('\n').filter((line) => line.startsWith('table ')).map((line) => line.slice('table '.length).trim());
    assert.deepEqual(info.nftTables, tables);
    assert.equal(info.nftKubeProxyTable, tables.includes('ip kube-proxy'));
    assert.equal(info.kubeChainsIn, 'none');
    assert.equal(info.iptablesBackends.nft.kubeServices, false);
  });

  test('ipvs on lab nodes: "not in IPVS mode", naming the real mode and offering its trace', async (t) => {
    const lab = requireLab();
    const nodes = [lab.nodesByMode.iptables[0], ...lab.nodesByMode.nftables.slice(0, 1)];
    if (lab.nodesByMode.nftables.length === 0) {
      t.diagnostic('no nftables-mode node in this lab; checked the iptables node only');
    }
    for (const node of nodes) {
      const mode = (await inNode(node, ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:10249/proxyMode'])).trim();
      const result = await ipvsBackends(lab.context, node, { service: { namespace: 'lab-apps', name: 'web' } });
      assert.equal(result.kind, 'not-ipvs');
      if (result.kind !== 'not-ipvs') {
        return;
      }
      assert.equal(result.mode, mode);
      assert.match(result.message, new RegExp(`not in IPVS mode.*${mode} mode`));
      assert.equal(result.suggestion.action, 'trace');
      assert.equal(result.suggestion.command, `kube-net-inspector trace lab-apps/web --node ${node}`);
      assert.equal(result.dataPlane.ipvs.available, false);
    }
  });
});

describe('rules of a node', () => {
  test('iptables node: the nf_tables dump, rule for rule what iptables-save prints', async () => {
    const node = requireLab().nodesByMode.iptables[0];
    const result = await fetchRules(requireLab().context, node);
    assert.deepEqual(result.dumps.map((dump) => dump.backend), ['iptables-nft']);
    const rules = (text: string): string[] => text.split('\n').filter((line) => line.startsWith('-A '));
    const truth = await inNode(node, ['iptables-nft-save']);
    assert.deepEqual(rules(result.dumps[0].text), rules(truth));
    assert.ok(result.dumps[0].summary.services > 0);
  });

  test('nftables node: nft list table ip kube-proxy', async (t) => {
    const node = nftNode(t);
    if (node === null) {
      return;
    }
    const result = await fetchRules(requireLab().context, node);
    assert.deepEqual(result.dumps.map((dump) => dump.backend), ['nftables']);
    assert.equal(result.dumps[0].text.trim(), (await inNode(node, ['nft', 'list', 'table', 'ip', 'kube-proxy'])).trim());
  });

  test('KUBE-SERVICES for lab-apps/web: the lines iptables -L prints for it', async () => {
    const node = requireLab().nodesByMode.iptables[0];
    const view = await kubeServicesView(requireLab().context, node, { namespace: 'lab-apps', name: 'web' });
    const truth = (await inNode(node, ['iptables', '-t', 'nat', '-L', 'KUBE-SERVICES', '-n'])).split('\n').filter((line) => line.includes('/* lab-apps/web:') || line.includes(` ${web.spec?.clusterIP} `));
    assert.equal(view.views.length, 1);
    assert.deepEqual(view.views[0].text.split('\n').slice(2), truth);
  });
});

describe('KUBE-SERVICES view on the nftables node', () => {
  test('the service-ips element of lab-apps/web, as nft lists it', async (t) => {
    const node = nftNode(t);
    if (node === null) {
      return;
    }
    const view = await kubeServicesView(requireLab().context, node, { namespace: 'lab-apps', name: 'web' });
    const map = await inNode(node, ['nft', 'list', 'map', 'ip', 'kube-proxy', 'service-ips']);
    const element = new RegExp(`${(web.spec?.clusterIP ?? '').replace(/\./g, '\\.')} \\. tcp \\. 80 : goto (\\S+?)(?:,|\\s|$)`).exec(map);
    assert.ok(element, map);
    assert.deepEqual(view.views.map((item) => item.backend), ['nftables']);
    assert.ok(view.views[0].text.includes(`${web.spec?.clusterIP} . tcp . 80 : goto ${element[1]}`), view.views[0].text);
  });
});

describe('trace of lab-apps/web', () => {
  test('iptables node: exactly the pods the node\'s rules DNAT to', async () => {
    const lab = requireLab();
    const node = lab.nodesByMode.iptables[1] ?? lab.nodesByMode.iptables[0];
    const trace = await traceService(lab.context, { namespace: 'lab-apps', name: 'web' }, { node });
    const truth = await iptablesTargets(node, web.spec?.clusterIP ?? '', 80);
    assert.equal(trace.mode, 'iptables');
    assert.equal(trace.backend, 'iptables-nft');
    assert.equal(trace.ports[0].svcChain, truth.svcChain);
    assert.deepEqual(trace.ports[0].endpoints.map((endpoint) => endpoint.dnatTo).sort(), [...truth.targets].sort());
    assert.deepEqual(endpointPods(trace), podsOfTargets(truth.targets, await runningWebPods(lab.core)));
    assert.ok(!endpointPods(trace).includes('(none)'));
    assert.deepEqual(trace.flags.filter((flag) => flag.severity !== 'info'), [], JSON.stringify(trace.flags));
  });

  test('nftables node: exactly the pods kube-proxy\'s table DNATs to', async (t) => {
    const node = nftNode(t);
    if (node === null) {
      return;
    }
    const lab = requireLab();
    const trace = await traceService(lab.context, { namespace: 'lab-apps', name: 'web' }, { node });
    const truth = await nftTargets(node, web.spec?.clusterIP ?? '', 80);
    assert.equal(trace.mode, 'nftables');
    assert.equal(trace.backend, 'nftables');
    assert.equal(trace.ports[0].svcChain, truth.svcChain);
    assert.deepEqual(trace.ports[0].endpoints.map((endpoint) => endpoint.dnatTo).sort(), [...truth.targets].sort());
    assert.deepEqual(endpointPods(trace), podsOfTargets(truth.targets, await runningWebPods(lab.core)));
    assert.deepEqual(trace.flags.filter((flag) => flag.severity !== 'info'), []);
  });

  test('rules and slices made to disagree for real: a stale endpoint and a missing one are flagged, then all is put back', async () => {
    const lab = requireLab();
    const node = lab.nodesByMode.iptables[0];
    const clusterIP = web.spec?.clusterIP ?? '';
    const { svcChain } = await iptablesTargets(node, clusterIP, 80);
    const before = await inNode(node, ['iptables', '-t', 'nat', '-S', svcChain]);
    const jumps = before.split('\n').filter((line) => / -j KUBE-SEP-/.test(line));
    assert.ok(jumps.length >= 2, before);
    // The endpoint whose jump is removed: the first one.
    const removedSep = / -j (KUBE-SEP-\S+)/.exec(jumps[0])?.[1] ?? '';
    const removedTarget = /--to-destination (\S+)/.exec(await inNode(node, ['iptables', '-t', 'nat', '-S', removedSep]))?.[1] ?? '';
    const fakeChain = `KUBE-SEP-KNITEST${randomBytes(3).toString('hex').toUpperCase()}`;
    const fakeTarget = '198.18.2.250:8080';
    // Put the jump back where it was: kube-proxy's chain may start with a KUBE-MARK-MASQ rule.
    const position = before.split('\n').filter((line) => line.startsWith('-A ')).indexOf(jumps[0]) + 1;
    const restore = `*nat\n-I ${jumps[0].slice(3)}\nCOMMIT\n`.replace(`-I ${svcChain} `, `-I ${svcChain} ${position} `);
    try {
      await inNode(node, ['iptables', '-t', 'nat', '-N', fakeChain]);
      await inNode(node, ['iptables', '-t', 'nat', '-A', fakeChain, '-p', 'tcp', '-m', 'comment', '--comment', 'lab-apps/web:http', '-j', 'DNAT', '--to-destination', fakeTarget]);
      await inNode(node, ['iptables', '-t', 'nat', '-A', svcChain, '-m', 'comment', '--comment', `lab-apps/web:http -> ${fakeTarget}`, '-j', fakeChain]);
      // Delete exactly that rule (by its spec, quotes and all, through iptables-restore).
      const deleted = await run('ip', ['netns', 'exec', nodeNetnsName(node), 'iptables-restore', '--noflush'], { input: `*nat\n-D ${jumps[0].slice(3)}\nCOMMIT\n` });
      assert.equal(deleted.code, 0, deleted.stderr);
      const edited = await inNode(node, ['iptables', '-t', 'nat', '-S', svcChain]);
      assert.ok(!edited.includes(jumps[0]) && edited.includes(`-j ${fakeChain}`), `the edit is in place:\n${edited}`);

      const trace = await traceService(lab.context, { namespace: 'lab-apps', name: 'web' }, { node });
      const stale = trace.flags.filter((flag) => flag.code === 'stale-endpoint');
      const missing = trace.flags.filter((flag) => flag.code === 'missing-endpoint');
      const flags = `${JSON.stringify(trace.flags, null, 1)}\nendpoints: ${JSON.stringify(trace.ports[0].endpoints.map((endpoint) => [endpoint.sepChain, endpoint.dnatTo, endpoint.status]))}\nmissing: ${JSON.stringify(trace.ports[0].missing)}\nslices: ${JSON.stringify(trace.ports[0].sliceEndpoints)}\nchain now: ${await inNode(node, ['iptables', '-t', 'nat', '-S', svcChain])}`;
      assert.deepEqual(stale.map((flag) => flag.address), [fakeTarget.split(':')[0]], flags);
      assert.deepEqual(missing.map((flag) => flag.address), [removedTarget.split(':')[0]], flags);
      const fake = trace.ports[0].endpoints.find((endpoint) => endpoint.sepChain === fakeChain);
      assert.equal(fake?.status, 'stale');
      assert.equal(fake?.pod, null);
      assert.equal(fake?.share, 0);
      assert.deepEqual(trace.ports[0].missing.map((endpoint) => `${endpoint.address}:${endpoint.port}`), [removedTarget]);
    } finally {
      await inNode(node, ['iptables', '-t', 'nat', '-D', svcChain, '-m', 'comment', '--comment', `lab-apps/web:http -> ${fakeTarget}`, '-j', fakeChain], true);
      await inNode(node, ['iptables', '-t', 'nat', '-F', fakeChain], true);
      await inNode(node, ['iptables', '-t', 'nat', '-X', fakeChain], true);
      const now = await inNode(node, ['iptables', '-t', 'nat', '-S', svcChain], true);
      if (!now.includes(jumps[0])) {
        await run('ip', ['netns', 'exec', nodeNetnsName(node), 'iptables-restore', '--noflush'], { input: restore });
      }
    }
    assert.equal(await inNode(node, ['iptables', '-t', 'nat', '-S', svcChain]), before, 'the service chain is back as it was');
    assert.equal((await inNode(node, ['iptables-save', '-t', 'nat'])).includes(fakeChain), false, 'the fake chain is gone');
    const clean = await traceService(lab.context, { namespace: 'lab-apps', name: 'web' }, { node });
    assert.deepEqual(clean.flags.filter((flag) => flag.severity !== 'info'), [], 'after the repair the trace is clean');
  });
});


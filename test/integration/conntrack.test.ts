/**
 * Connection tracking against the real lab: three HTTP requests from the client pod to the
 * web ClusterIP (each answer names the pod that served it and the client's port), then the
 * listing filtered on the ClusterIP must show each connection with that pod's IP as the reply
 * source; the usage figures must equal the node's /proc/sys/net/netfilter values; events
 * stream until stopped. Traffic: at most 3 + 6 requests, each bounded by 2 s, inside the lab.
 *
 * nf_conntrack_max is global to the kernel and read-only inside a node's network namespace:
 * the test checks that from the node namespace first, then exercises the dry run and the
 * refused write (which never reaches the kernel), and checks the host's value is unchanged.
 */
import { inNode, podNetnsName, run, runningWebPods, setUpLab, tearDownLab, LAB_PREFIX } from './dataPlaneLab';
import type { Lab } from './dataPlaneLab';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { DiagnosticError } from '../../src/diagnostics/context';
import { conntrackForPod, conntrackForService, conntrackUsage, listConntrack, setConntrackMax, streamConntrackEvents } from '../../src/diagnostics/conntrack';
import type { ConntrackEntry } from '../../src/parsers/conntrack';

let lab: Lab | undefined;
let web: V1Service;
let client: V1Pod;

interface EchoReply {
  readonly podIP: string;
  readonly clientPort: number;
  readonly pod: string;
}

function requireLab(): Lab {
  assert.ok(lab, 'lab not set up');
  return lab;
}

/** One bounded HTTP request from the client pod's own network namespace to the web ClusterIP. */
async function request(): Promise<EchoReply> {
  const netns = podNetnsName(LAB_PREFIX, client.metadata?.uid ?? '');
  const result = await run('ip', ['netns', 'exec', netns, 'curl', '-s', '--max-time', '2', `http://${web.spec?.clusterIP}/`], { timeoutMs: 10_000 });
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as EchoReply;
}

before(async () => {
  lab = await setUpLab('it-conntrack');
  web = await lab.core.readNamespacedService({ namespace: 'lab-apps', name: 'web' });
  client = await lab.core.readNamespacedPod({ namespace: 'lab-apps', name: 'client' });
});

after(async () => {
  await tearDownLab(lab);
});

describe('conntrack in the lab', () => {
  test('after 3 requests, the listing on the ClusterIP shows each connection with the DNAT\'d reply address', async () => {
    const lab = requireLab();
    const node = client.spec?.nodeName ?? '';
    const replies: EchoReply[] = [];
    for (let index = 0; index < 3; index++) {
      replies.push(await request());
    }
    const webIPs = (await runningWebPods(lab.core)).map((pod) => pod.status?.podIP);
    const listing = await listConntrack(lab.context, node, { dst: web.spec?.clusterIP, proto: 'tcp' });
    const byService = await conntrackForService(lab.context, { namespace: 'lab-apps', name: 'web' }, node);
    for (const reply of replies) {
      assert.ok(webIPs.includes(reply.podIP), reply.podIP);
      for (const entries of [listing.entries, byService.entries]) {
        const entry = entries.find((item: ConntrackEntry) => item.original.sport === reply.clientPort && item.original.src === client.status?.podIP);
        assert.ok(entry, `no entry for client port ${reply.clientPort}`);
        assert.equal(entry.original.dst, web.spec?.clusterIP);
        assert.equal(entry.original.dport, 80);
        assert.equal(entry.reply?.src, reply.podIP, 'reply source = the pod that answered');
        assert.equal(entry.reply?.sport, 8080);
        assert.equal(entry.protocol, 'tcp');
      }
    }
    assert.ok(listing.counts.total >= 3);
    assert.equal(listing.counts.byProtocol.tcp, listing.counts.total);
    assert.ok(listing.raw.includes(`dst=${web.spec?.clusterIP}`));
    // The same connections as conntrack shows by hand in the node's namespace.
    const truth = await inNode(node, ['conntrack', '-L', '-d', web.spec?.clusterIP ?? '']);
    for (const reply of replies) {
      assert.match(truth, new RegExp(`sport=${reply.clientPort} dport=80 src=${reply.podIP.replace(/\./g, '\\.')} `));
    }
  });

  test('the pod view: connections from the client pod, and those DNATed to a web pod', async () => {
    const lab = requireLab();
    const reply = await request();
    const fromClient = await conntrackForPod(lab.context, { namespace: 'lab-apps', name: 'client' });
    assert.ok(fromClient.entries.some((entry) => entry.original.sport === reply.clientPort && entry.reply?.src === reply.podIP));
    const [namespace, name] = ['lab-apps', reply.pod];
    const toWeb = await conntrackForPod(lab.context, { namespace, name });
    // On the web pod's node the connection arrives already DNATed (it was NATed on the client's node).
    assert.ok(toWeb.entries.some((entry) => entry.original.sport === reply.clientPort || entry.reply?.dport === reply.clientPort), JSON.stringify(toWeb.entries.slice(0, 5)));
  });

  test('usage equals the node namespace\'s /proc/sys/net/netfilter values', async () => {
    const lab = requireLab();
    const node = client.spec?.nodeName ?? '';
    const read = async (name: string): Promise<number> => Number((await inNode(node, ['cat', `/proc/sys/net/netfilter/nf_conntrack_${name}`])).trim());
    // The count moves when entries expire: compare when it held still around the diagnostic.
    let matched = false;
    for (let attempt = 0; attempt < 5 && !matched; attempt++) {
      const countBefore = await read('count');
      const usage = await conntrackUsage(lab.context, node);
      const countAfter = await read('count');
      assert.equal(usage.max, await read('max'));
      assert.equal(usage.buckets, await read('buckets'));
      if (countBefore === countAfter) {
        assert.equal(usage.count, countBefore);
        assert.equal(usage.ratio, countBefore / (usage.max ?? 1));
        assert.equal(usage.nearLimit, false);
        matched = true;
      }
    }
    assert.ok(matched, 'the count never held still across the diagnostic');
  });

  test('nf_conntrack_max: read-only in a node namespace; the dry run says so, the write is refused, the host value stays', async () => {
    const lab = requireLab();
    const node = client.spec?.nodeName ?? '';
    const mode = (await inNode(node, ['stat', '-c', '%a', '/proc/sys/net/netfilter/nf_conntrack_max'])).trim();
    const hostBefore = fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8');
    const nodeMax = Number((await inNode(node, ['cat', '/proc/sys/net/netfilter/nf_conntrack_max'])).trim());
    const dry = await setConntrackMax(lab.context, node, nodeMax * 2, { dryRun: true });
    assert.equal(dry.before, nodeMax);
    assert.equal(dry.applied, false);
    assert.equal(dry.writable, mode !== '444');
    assert.match(dry.persist.text, /\/etc\/sysctl\.d\//);
    if (mode === '444') {
      await assert.rejects(setConntrackMax(lab.context, node, nodeMax * 2), (error: unknown) => DiagnosticError.is(error, 'not-permitted'));
    }
    await assert.rejects(setConntrackMax(lab.context, node, 12), (error: unknown) => DiagnosticError.is(error, 'invalid-input'));
    assert.equal(fs.readFileSync('/proc/sys/net/netfilter/nf_conntrack_max', 'utf8'), hostBefore);
    assert.equal(Number((await inNode(node, ['cat', '/proc/sys/net/netfilter/nf_conntrack_max'])).trim()), nodeMax);
  });

  test('events: a request shows up as a NEW event with the DNAT\'d reply, and the stream stops when asked', async () => {
    const lab = requireLab();
    const node = client.spec?.nodeName ?? '';
    const controller = new AbortController();
    const events: ConntrackEntry[] = [];
    const replies: EchoReply[] = [];
    const matches = (): ConntrackEntry | undefined => events.find((event) => event.event === 'NEW' && replies.some((reply) => reply.clientPort === event.original.sport && reply.podIP === event.reply?.src));
    const stream = streamConntrackEvents(lab.context, node, {
      signal: controller.signal,
      filter: { dst: web.spec?.clusterIP, proto: 'tcp' },
      maxSeconds: 60,
      onEntry: (entry) => {
        events.push(entry);
        if (matches() !== undefined) {
          controller.abort();
        }
      },
    });
    // The stream subscribes once the exec runs; a few requests, until one is seen.
    for (let attempt = 0; attempt < 6 && !controller.signal.aborted; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      replies.push(await request());
    }
    const result = await stream;
    assert.equal(result.stoppedBy, 'aborted');
    const seen = matches();
    assert.ok(seen, JSON.stringify(events.slice(0, 5)));
    assert.equal(seen.original.dst, web.spec?.clusterIP);
  });
});

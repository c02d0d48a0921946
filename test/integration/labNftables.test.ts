/**
 * The lab's node in kube-proxy nftables mode, for real: a node whose services run through
 * `table ip kube-proxy` (verdict maps, service and endpoint chains, numgen load balancing)
 * beside a node in iptables mode, with traffic crossing between them. Needs root. Runs under
 * its own prefix so that it never meets a running lab.
 *
 * All traffic is a handful of requests to 198.18.0.0/15 addresses inside the lab's own
 * namespaces.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { LabNodeSpec } from '../../lab/config.js';
import type { ClusterState, PodSandbox, PodSandboxRequest } from '../../lab/types.js';

// LAB_PREFIX is read when lab/config loads: set the test's own prefix before loading it.
const TEST_PREFIX = process.env.KNI_LABNFT_TEST_PREFIX ?? 'knnftlab';
process.env.KNI_LAB_PREFIX = TEST_PREFIX;
// ip, nft, conntrack and iptables-save live in sbin, which a PATH from npm may lack.
process.env.PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean).join(':');
const config: typeof import('../../lab/config.js') = require('../../lab/config.js');
const labNet: typeof import('../../lab/net/index.js') = require('../../lab/net/index.js');

const IPT_NODE = config.LAB_NODES.find((node) => node.proxyMode === 'iptables');
const NFT_NODE = config.LAB_NODES.find((node) => node.proxyMode === 'nftables');
const WEB_CLUSTER_IP = '198.19.0.80';
const EMPTY_CLUSTER_IP = '198.19.0.81';
const LOCAL_CLUSTER_IP = '198.19.0.83';
const LOCAL_NODE_PORT = 30081;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface EchoReply {
  readonly pod: string;
  readonly podIP: string;
  readonly nodeName: string;
  readonly clientAddress: string;
  readonly clientPort: number;
}

function run(file: string, args: readonly string[], timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function inNetns(netns: string, argv: readonly string[]): Promise<Run> {
  return run('ip', ['netns', 'exec', netns, ...argv]);
}

function hex64(): string {
  return randomBytes(32).toString('hex');
}

/** kube-proxy's hashAndTruncate prefix, computed here independently: base32(sha256(name))[:8]. */
function nftHash(name: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of createHash('sha256').update(name).digest().subarray(0, 5)) {
    bits += byte.toString(2).padStart(8, '0');
  }
  let output = '';
  for (let offset = 0; offset < 40; offset += 5) {
    output += alphabet[Number.parseInt(bits.slice(offset, offset + 5), 2)];
  }
  return output;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function podRequest(name: string, namespace: string, nodeName: string, image: string, ports: number[]): PodSandboxRequest {
  return {
    uid: randomUUID(),
    namespace,
    name,
    nodeName,
    hostNetwork: false,
    qosClass: 'BestEffort',
    containers: [{ name: name.replace(/-.*$/, ''), image, containerId: hex64(), ports }],
  };
}

function service(namespace: string, name: string, clusterIP: string, ports: { name?: string; port: number; protocol: string; nodePort?: number }[], type = 'ClusterIP'): V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { type, clusterIP, clusterIPs: [clusterIP], ports } };
}

function endpointSlice(
  namespace: string,
  serviceName: string,
  endpoints: { ip: string; nodeName?: string }[],
  ports: { name?: string; port: number; protocol: string }[],
): V1EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: `${serviceName}-abcde`, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: endpoints.map((endpoint) => ({ addresses: [endpoint.ip], conditions: { ready: true, serving: true, terminating: false }, nodeName: endpoint.nodeName })),
    ports,
  };
}

async function labNetnsNames(): Promise<string[]> {
  const listed = await run('ip', ['netns', 'list']);
  return listed.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((name) => name.startsWith(`${TEST_PREFIX}-`));
}

/** The body of one chain in `nft list table` output, or undefined when the chain is absent. */
function chainBody(listing: string, chain: string): string | undefined {
  return new RegExp(`\\n\\tchain ${escapeRegExp(chain)} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(listing)?.[1];
}

describe('lab node in kube-proxy nftables mode (real namespaces, nft, conntrack)', { concurrency: false }, () => {
  assert.ok(IPT_NODE, 'the lab has a node in iptables mode');
  assert.ok(NFT_NODE, 'the lab has a node in nftables mode');
  const iptNode: LabNodeSpec = IPT_NODE;
  const nftNode: LabNodeSpec = NFT_NODE;
  const iptNetns = config.nodeNetnsName(iptNode.name);
  const nftNetns = config.nodeNetnsName(nftNode.name);
  const logLines: string[] = [];
  const network = new labNet.LinuxLabNetwork({ nodes: [iptNode, nftNode], log: (line) => logLines.push(line) });
  const agnhost = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
  const netshoot = 'docker.io/nicolaka/netshoot:v0.13';
  const dnsPod = podRequest('coredns-5d78c9869d-abcde', 'kube-system', iptNode.name, 'registry.k8s.io/coredns/coredns:v1.11.3', [53]);
  const web1 = podRequest('web-1', 'demo', iptNode.name, agnhost, [8080]);
  const web2 = podRequest('web-2', 'demo', iptNode.name, agnhost, [8080]);
  const webLocal = podRequest('local-1', 'demo', nftNode.name, agnhost, [8080]);
  const nftClient = podRequest('client-nft', 'demo', nftNode.name, netshoot, []);
  const iptClient = podRequest('client-ipt', 'demo', iptNode.name, netshoot, []);
  const sandboxes = new Map<string, PodSandbox>();
  let state: ClusterState;

  const sandbox = (request: PodSandboxRequest): PodSandbox => {
    const found = sandboxes.get(request.uid);
    assert.ok(found, `sandbox of ${request.name}`);
    return found;
  };
  const execIn = (request: PodSandboxRequest, argv: string[]): Promise<Run> => {
    const spec = network.execSpec(request.uid, request.containers[0]!.name, argv);
    return run(spec.file, spec.args);
  };
  const curlJson = async (runIt: () => Promise<Run>): Promise<EchoReply> => {
    let last: Run | undefined;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      last = await runIt();
      if (last.code === 0 && last.stdout.trim() !== '') {
        return JSON.parse(last.stdout) as EchoReply;
      }
    }
    assert.fail(`no HTTP answer: exit ${last?.code} ${last?.stderr ?? ''}`);
  };
  const nftListing = async (): Promise<string> => {
    const listed = await inNetns(nftNetns, ['nft', 'list', 'table', 'ip', 'kube-proxy']);
    assert.equal(listed.code, 0, listed.stderr);
    return listed.stdout;
  };

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the lab network test needs root (network namespaces, nftables, iptables)');
    await network.start();
    for (const request of [dnsPod, web1, web2, webLocal, nftClient, iptClient]) {
      sandboxes.set(request.uid, await network.createPodSandbox(request));
    }
    const http = [{ name: 'http', port: 8080, protocol: 'TCP' }];
    const dnsPorts = [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      { name: 'metrics', port: 9153, protocol: 'TCP' },
    ];
    state = {
      services: [
        service('default', 'kubernetes', config.KUBERNETES_SERVICE_IP, [{ name: 'https', port: 443, protocol: 'TCP' }]),
        service('kube-system', 'kube-dns', config.KUBE_DNS_SERVICE_IP, dnsPorts),
        service('demo', 'web', WEB_CLUSTER_IP, [{ name: 'http', port: 80, protocol: 'TCP' }]),
        service('demo', 'empty', EMPTY_CLUSTER_IP, [{ port: 80, protocol: 'TCP' }]),
        service('demo', 'local', LOCAL_CLUSTER_IP, [{ name: 'http', port: 80, protocol: 'TCP', nodePort: LOCAL_NODE_PORT }], 'NodePort'),
      ],
      endpointSlices: [
        endpointSlice('default', 'kubernetes', [{ ip: config.UNDERLAY_APISERVER_IP }], [{ name: 'https', port: 6443, protocol: 'TCP' }]),
        endpointSlice('kube-system', 'kube-dns', [{ ip: sandbox(dnsPod).podIP, nodeName: iptNode.name }], dnsPorts),
        endpointSlice(
          'demo',
          'web',
          [web1, web2].map((request) => ({ ip: sandbox(request).podIP, nodeName: iptNode.name })),
          http,
        ),
        endpointSlice('demo', 'local', [{ ip: sandbox(webLocal).podIP, nodeName: nftNode.name }], http),
      ],
      pods: [],
    };
    await network.syncClusterState(state);
  });

  after(async () => {
    await network.stop();
    await labNet.sweepLab(TEST_PREFIX);
  });

  test('the nftables node says so on /proxyMode and has no kube-proxy chains in iptables', async () => {
    const proxyMode = await inNetns(nftNetns, ['curl', '-s', '-m', '5', 'http://127.0.0.1:10249/proxyMode']);
    assert.equal(proxyMode.stdout, 'nftables');
    const nat = await inNetns(nftNetns, ['iptables-save', '-t', 'nat']);
    assert.equal(nat.code, 0, nat.stderr);
    assert.doesNotMatch(nat.stdout, /KUBE-SERVICES|KUBE-SVC-|KUBE-SEP-|KUBE-POSTROUTING/, 'kube-proxy in nftables mode writes no iptables rules');
    const filter = await inNetns(nftNetns, ['iptables-save', '-t', 'filter']);
    assert.match(filter.stdout, /^:KUBE-KUBELET-CANARY /m, "kubelet's own chains are there");
    assert.doesNotMatch(filter.stdout, /KUBE-SERVICES|KUBE-PROXY-CANARY|KUBE-FORWARD/);
    // The iptables node is the other way round.
    assert.match((await inNetns(iptNetns, ['iptables-save', '-t', 'nat'])).stdout, /^-A KUBE-SERVICES /m);
    const tables = await inNetns(iptNetns, ['nft', 'list', 'tables']);
    assert.doesNotMatch(tables.stdout, /table ip kube-proxy/);
  });

  test('a pod on the nftables node reaches a ClusterIP whose backends are on the iptables node; conntrack shows the DNAT', async () => {
    const backends = new Map([web1, web2].map((request) => [sandbox(request).podIP, request]));
    const reply = await curlJson(() => execIn(nftClient, ['curl', '-s', '-m', '5', `http://${WEB_CLUSTER_IP}:80/`]));
    const backend = backends.get(reply.podIP);
    assert.ok(backend, `the answer came from a backend pod (${reply.podIP})`);
    assert.equal(reply.pod, backend.name);
    assert.equal(reply.nodeName, iptNode.name, 'the backend runs on the iptables node');
    assert.equal(reply.clientAddress, sandbox(nftClient).podIP, 'pod traffic keeps its source address (no SNAT)');

    const conntrack = await inNetns(nftNetns, ['conntrack', '-L', '-p', 'tcp', '--orig-dst', WEB_CLUSTER_IP]);
    const entry = conntrack.stdout.split('\n').find((line) => line.includes(`sport=${reply.clientPort} dport=80 `));
    assert.ok(entry, `conntrack entry for the request:\n${conntrack.stdout}${conntrack.stderr}`);
    assert.ok(entry.includes(`src=${sandbox(nftClient).podIP} dst=${WEB_CLUSTER_IP} `), entry);
    assert.ok(entry.includes(`src=${reply.podIP} dst=${sandbox(nftClient).podIP} sport=8080 dport=${reply.clientPort}`), `reply tuple is the DNAT'd backend: ${entry}`);
  });

  test('cluster DNS through the kube-dns ClusterIP works from a pod on the nftables node', async () => {
    const dig = (args: string[]): Promise<Run> => execIn(nftClient, ['dig', '+time=3', '+tries=2', `@${config.KUBE_DNS_SERVICE_IP}`, ...args]);
    assert.equal((await dig(['+short', 'web.demo.svc.cluster.local'])).stdout.trim(), WEB_CLUSTER_IP);
    assert.equal((await dig(['+short', '+tcp', 'kubernetes.default.svc.cluster.local'])).stdout.trim(), config.KUBERNETES_SERVICE_IP);
    const search = await execIn(nftClient, ['dig', '+time=3', '+tries=2', '+search', '+short', 'local']);
    assert.equal(search.stdout.trim(), LOCAL_CLUSTER_IP, 'the pod resolv.conf points at the kube-dns ClusterIP');
  });

  test('nft list table ip kube-proxy has the service-ips map, service and endpoint chains in kube-proxy form', async () => {
    const listing = await nftListing();
    assert.match(listing, /^table ip kube-proxy \{\n\tcomment "rules for kube-proxy"/);
    for (const [chain, hook] of [
      ['nat-prerouting', 'type nat hook prerouting'],
      ['nat-output', 'type nat hook output'],
      ['nat-postrouting', 'type nat hook postrouting'],
      ['filter-input', 'type filter hook input'],
      ['filter-forward', 'type filter hook forward'],
    ]) {
      assert.ok(chainBody(listing, chain!)?.includes(hook!), `${chain} hooks ${hook}`);
    }
    assert.match(chainBody(listing, 'services') ?? '', /ip daddr \. meta l4proto \. th dport vmap @service-ips/);

    // The service-ips element for the ClusterIP names the service chain; its hash is kube-proxy's.
    const webChain = `service-${nftHash('demo/web/tcp/http')}-demo/web/tcp/http`;
    const serviceIPs = /\tmap service-ips \{\n\t\ttype ipv4_addr \. inet_proto \. inet_service : verdict\n([\s\S]*?)\n\t\}/.exec(listing)?.[1] ?? '';
    assert.ok(serviceIPs.includes(`${WEB_CLUSTER_IP} . tcp . 80 : goto ${webChain}`), serviceIPs);
    // The same names real clusters show for the kubernetes and kube-dns services.
    assert.ok(serviceIPs.includes(`${config.KUBERNETES_SERVICE_IP} . tcp . 443 : goto service-2QRHZV4L-default/kubernetes/tcp/https`), serviceIPs);
    assert.ok(serviceIPs.includes(`${config.KUBE_DNS_SERVICE_IP} . udp . 53 : goto service-FY5PMXPG-kube-system/kube-dns/udp/dns`), serviceIPs);
    assert.ok(serviceIPs.includes(`${config.KUBE_DNS_SERVICE_IP} . tcp . 53 : goto service-NWBZK7IH-kube-system/kube-dns/tcp/dns-tcp`), serviceIPs);

    const webRules = chainBody(listing, webChain);
    assert.ok(webRules, `chain ${webChain} exists`);
    assert.ok(webRules.includes(`ip daddr ${WEB_CLUSTER_IP} tcp dport 80 ip saddr != ${nftNode.podCIDR} jump mark-for-masquerade`), webRules);
    const numgen = /numgen random mod 2 vmap \{ 0 : goto (\S+), 1 : goto (\S+) \}/.exec(webRules);
    assert.ok(numgen, webRules);
    const dnatTargets: string[] = [];
    for (const endpointChain of [numgen[1]!, numgen[2]!]) {
      const body = chainBody(listing, endpointChain) ?? '';
      const dnat = /meta l4proto tcp dnat to ([\d.]+):8080/.exec(body);
      assert.ok(dnat, `${endpointChain}: ${body}`);
      assert.equal(endpointChain, `endpoint-${nftHash(`demo/web/tcp/http__${dnat[1]}/8080`)}-demo/web/tcp/http__${dnat[1]}/8080`);
      assert.ok(body.includes(`ip saddr ${dnat[1]} jump mark-for-masquerade`), 'hairpin traffic is marked for masquerade');
      dnatTargets.push(dnat[1]!);
    }
    assert.deepEqual(dnatTargets.sort(), [sandbox(web1).podIP, sandbox(web2).podIP].sort(), 'the endpoint chains DNAT to exactly the pods of the slice');

    assert.match(listing, /\tset cluster-ips \{[\s\S]*?elements = \{[^}]*198\.19\.0\.80/);
    assert.match(chainBody(listing, 'masquerading') ?? '', /masquerade fully-random/);
    assert.match(chainBody(listing, 'mark-for-masquerade') ?? '', /meta mark set meta mark \| 0x00004000/);
  });

  test('a service without endpoints and a wrong port of a ClusterIP are rejected, not dropped', async () => {
    const listing = await nftListing();
    assert.ok(listing.includes(`${EMPTY_CLUSTER_IP} . tcp . 80 comment "demo/empty" : goto reject-chain`), 'no-endpoint-services holds the empty service');
    assert.ok(!listing.includes(`${EMPTY_CLUSTER_IP} . tcp . 80 : goto service-`), 'and service-ips does not');
    // `reject` answers ICMP port unreachable, which a TCP client reads as "Connection refused"
    // (an address nobody routes would give "No route to host" or a timeout instead).
    // bash names the connect() error; curl only says "Couldn't connect". Constant script, data in argv.
    const connect = (address: string, port: number): Promise<Run> =>
      execIn(nftClient, ['timeout', '5', 'bash', '--norc', '-c', 'exec 3<>"/dev/tcp/$1/$2"', 'bash', address, String(port)]);
    const empty = await connect(EMPTY_CLUSTER_IP, 80);
    assert.notEqual(empty.code, 0);
    assert.match(empty.stderr, /Connection refused/);
    const wrongPort = await connect(WEB_CLUSTER_IP, 81);
    assert.notEqual(wrongPort.code, 0);
    assert.match(wrongPort.stderr, /Connection refused/, 'cluster-ips-check rejects other ports of a ClusterIP');
  });

  test('a pod on the iptables node reaches a backend on the nftables node through its ClusterIP', async () => {
    const reply = await curlJson(() => execIn(iptClient, ['curl', '-s', '-m', '5', `http://${LOCAL_CLUSTER_IP}/`]));
    assert.equal(reply.pod, webLocal.name);
    assert.equal(reply.nodeName, nftNode.name);
    assert.equal(reply.clientAddress, sandbox(iptClient).podIP);
  });

  test('a NodePort on the nftables node is masqueraded, and hairpin traffic too', async () => {
    const listing = await nftListing();
    assert.match(listing, new RegExp(`elements = \\{ tcp \\. ${LOCAL_NODE_PORT} : goto external-[A-Z2-7]{8}-demo/local/tcp/http \\}`));
    assert.match(listing, new RegExp(`\\tset nodeport-ips \\{[\\s\\S]*?elements = \\{ ${escapeRegExp(nftNode.internalIP)} \\}`));
    const fromOtherNode = await curlJson(() => inNetns(iptNetns, ['curl', '-s', '-m', '5', `http://${nftNode.internalIP}:${LOCAL_NODE_PORT}/`]));
    assert.equal(fromOtherNode.pod, webLocal.name);
    assert.equal(fromOtherNode.clientAddress, nftNode.bridgeIP, 'external traffic is masqueraded to the node address toward the pod');
    const hairpin = await curlJson(() => execIn(webLocal, ['curl', '-s', '-m', '5', `http://${LOCAL_CLUSTER_IP}/`]));
    assert.equal(hairpin.pod, webLocal.name);
    assert.equal(hairpin.clientAddress, nftNode.bridgeIP, 'the endpoint chain marks a pod reaching itself for SNAT');
  });

  test('the table follows the endpoints, and an unchanged state writes nothing', async () => {
    const writes = (): number => logLines.filter((line) => line.includes(' written on ') && line.includes(nftNode.name)).length;
    const writesBefore = writes();
    await network.syncClusterState({ ...state, endpointSlices: [...state.endpointSlices] });
    assert.equal(writes(), writesBefore, 'the same rules are not written again');

    const remaining = sandbox(web1).podIP;
    const removed = sandbox(web2).podIP;
    const oneBackend: ClusterState = {
      ...state,
      endpointSlices: state.endpointSlices.map((slice) =>
        slice.metadata?.name === 'web-abcde' ? { ...slice, endpoints: slice.endpoints.filter((endpoint) => endpoint.addresses[0] === remaining) } : slice,
      ),
    };
    await network.syncClusterState(oneBackend);
    assert.equal(writes(), writesBefore + 1);
    const listing = await nftListing();
    const webChain = chainBody(listing, `service-${nftHash('demo/web/tcp/http')}-demo/web/tcp/http`) ?? '';
    assert.match(webChain, /numgen random mod 1 vmap \{ 0 : goto endpoint-\S+__198\.18\.\d+\.\d+\/8080 \}/);
    assert.ok(listing.includes(`dnat to ${remaining}:8080`));
    assert.ok(!listing.includes(removed), 'nothing of the removed endpoint is left in the table');
    const reply = await curlJson(() => execIn(nftClient, ['curl', '-s', '-m', '5', `http://${WEB_CLUSTER_IP}/`]));
    assert.equal(reply.podIP, remaining);
    await network.syncClusterState(state);
    assert.ok((await nftListing()).includes(`dnat to ${removed}:8080`), 'and it comes back');
  });

  test('stop() leaves no namespace of the prefix behind', async () => {
    await network.stop();
    assert.deepEqual(await labNetnsNames(), [], 'no network namespace of the prefix is left');
    assert.equal(fs.existsSync(`/run/netns/${nftNetns}`), false);
  });
});

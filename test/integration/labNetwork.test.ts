/**
 * The lab's Linux data plane, for real: namespaces, veths, kube-proxy's iptables rules,
 * conntrack, the cluster DNS server, cgroups, and teardown after a clean stop and after a
 * SIGKILL. Needs root. Runs under its own prefix so that it never meets a running lab.
 *
 * All traffic is a handful of requests to 198.18.0.0/15 addresses inside the lab's own
 * namespaces.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { ClusterState, PodSandbox, PodSandboxRequest } from '../../lab/types.js';

// LAB_PREFIX is read when lab/config loads: set the test's own prefix before loading it.
const TEST_PREFIX = process.env.KNI_LABNET_TEST_PREFIX ?? 'kninetlab';
process.env.KNI_LAB_PREFIX = TEST_PREFIX;
// ip, conntrack and iptables-save live in sbin, which a PATH from npm may lack.
process.env.PATH = [process.env.PATH ?? '', '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean).join(':');
const config: typeof import('../../lab/config.js') = require('../../lab/config.js');
const labNet: typeof import('../../lab/net/index.js') = require('../../lab/net/index.js');

const [NODE_A, NODE_B, NODE_C] = config.LAB_NODES;
const CGROUP_ROOT = fs.existsSync('/sys/fs/cgroup/cgroup.controllers') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/unified';
const LAB_CGROUP = path.join(CGROUP_ROOT, `${TEST_PREFIX}.slice`);
const WEB_CLUSTER_IP = '198.19.0.80';
const EMPTY_CLUSTER_IP = '198.19.0.81';
const SOLO_CLUSTER_IP = '198.19.0.82';
const SOLO_NODE_PORT = 30080;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
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

function podRequest(name: string, namespace: string, nodeName: string, image: string, ports: number[], extra: Partial<PodSandboxRequest> = {}): PodSandboxRequest {
  return {
    uid: randomUUID(),
    namespace,
    name,
    nodeName,
    hostNetwork: false,
    qosClass: 'BestEffort',
    containers: [{ name: name.replace(/-.*$/, ''), image, containerId: hex64(), ports }],
    ...extra,
  };
}

function service(namespace: string, name: string, clusterIP: string, ports: { name?: string; port: number; protocol: string }[]): V1Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP], ports } };
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

/**
 * PIDs of every live process whose cgroup v2 path is under the test prefix's slice. Zombies
 * are dead already: they wait for init to reap them (orphans of a SIGKILLed lab do).
 */
function processesInLabCgroups(): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    try {
      if (fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8').includes(`/${TEST_PREFIX}.slice/`) && alive(Number(entry))) {
        found.push(Number(entry));
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

function etcNetnsEntries(): string[] {
  try {
    return fs.readdirSync('/etc/netns').filter((name) => name.startsWith(`${TEST_PREFIX}-`));
  } catch {
    return [];
  }
}

async function assertNothingLeft(pids: readonly number[]): Promise<void> {
  assert.deepEqual(await labNetnsNames(), [], 'no network namespace of the prefix is left');
  assert.equal(fs.existsSync(LAB_CGROUP), false, `${LAB_CGROUP} is gone`);
  assert.deepEqual(processesInLabCgroups(), [], 'no process sits in a cgroup of the prefix');
  assert.deepEqual(
    pids.filter((pid) => alive(pid)),
    [],
    'every container process of the lab is gone',
  );
  assert.deepEqual(etcNetnsEntries(), [], 'no /etc/netns entry of the prefix is left');
}

describe('lab network (real namespaces, iptables, DNS)', { concurrency: false }, () => {
  const logLines: string[] = [];
  const network = new labNet.LinuxLabNetwork({ nodes: config.LAB_NODES, log: (line) => logLines.push(line) });
  const dnsPod = podRequest('coredns-5d78c9869d-abcde', 'kube-system', NODE_A!.name, 'registry.k8s.io/coredns/coredns:v1.11.3', [53]);
  const web1 = podRequest('web-1', 'demo', NODE_B!.name, 'registry.k8s.io/e2e-test-images/agnhost:2.52', [8080]);
  const web2 = podRequest('web-2', 'demo', NODE_C!.name, 'registry.k8s.io/e2e-test-images/agnhost:2.52', [8080]);
  const client = podRequest('client', 'demo', NODE_A!.name, 'docker.io/nicolaka/netshoot:v0.13', []);
  const debug = podRequest('node-debugger-a', 'default', NODE_A!.name, 'docker.io/nicolaka/netshoot:v0.13', [], { hostNetwork: true, qosClass: 'Guaranteed' });
  const sandboxes = new Map<string, PodSandbox>();
  const allPids: number[] = [];
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

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the lab network test needs root (network namespaces, iptables)');
    await network.start();
    for (const request of [dnsPod, web1, web2, client, debug]) {
      const created = await network.createPodSandbox(request);
      sandboxes.set(request.uid, created);
      allPids.push(...created.containers.map((container) => container.pid));
    }
    state = {
      services: [
        service('default', 'kubernetes', config.KUBERNETES_SERVICE_IP, [{ name: 'https', port: 443, protocol: 'TCP' }]),
        service('kube-system', 'kube-dns', config.KUBE_DNS_SERVICE_IP, [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ]),
        service('demo', 'web', WEB_CLUSTER_IP, [{ name: 'http', port: 80, protocol: 'TCP' }]),
        service('demo', 'empty', EMPTY_CLUSTER_IP, [{ port: 80, protocol: 'TCP' }]),
        { ...service('demo', 'web-headless', 'None', [{ name: 'http', port: 8080, protocol: 'TCP' }]) },
        { ...service('demo', 'solo', SOLO_CLUSTER_IP, []), spec: { type: 'NodePort', clusterIP: SOLO_CLUSTER_IP, ports: [{ name: 'http', port: 80, nodePort: SOLO_NODE_PORT, protocol: 'TCP' }] } },
      ],
      endpointSlices: [
        endpointSlice('default', 'kubernetes', [{ ip: config.UNDERLAY_APISERVER_IP }], [{ name: 'https', port: 6443, protocol: 'TCP' }]),
        endpointSlice('kube-system', 'kube-dns', [{ ip: sandbox(dnsPod).podIP, nodeName: NODE_A!.name }], [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ]),
        endpointSlice(
          'demo',
          'web',
          [
            { ip: sandbox(web1).podIP, nodeName: NODE_B!.name },
            { ip: sandbox(web2).podIP, nodeName: NODE_C!.name },
          ],
          [{ name: 'http', port: 8080, protocol: 'TCP' }],
        ),
        endpointSlice(
          'demo',
          'web-headless',
          [
            { ip: sandbox(web1).podIP, nodeName: NODE_B!.name },
            { ip: sandbox(web2).podIP, nodeName: NODE_C!.name },
          ],
          [{ name: 'http', port: 8080, protocol: 'TCP' }],
        ),
        endpointSlice('demo', 'solo', [{ ip: sandbox(web1).podIP, nodeName: NODE_B!.name }], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
      ],
      pods: [],
    };
    await network.syncClusterState(state);
  });

  after(async () => {
    await network.stop();
  });

  test('nodes are namespaces on an underlay, with cni0, host-gw routes and kube-proxy endpoints', async () => {
    for (const node of config.LAB_NODES) {
      const netns = config.nodeNetnsName(node.name);
      const eth0 = await run('ip', ['-n', netns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
      assert.match(eth0.stdout, new RegExp(`inet ${node.internalIP.replace(/\./g, '\\.')}/24`));
      const cni0 = await run('ip', ['-n', netns, '-o', '-4', 'addr', 'show', 'dev', 'cni0']);
      assert.match(cni0.stdout, new RegExp(`inet ${node.bridgeIP.replace(/\./g, '\\.')}/24`));
      const routes = await run('ip', ['-n', netns, 'route', 'show']);
      for (const other of config.LAB_NODES.filter((candidate) => candidate !== node)) {
        assert.ok(routes.stdout.includes(`${other.podCIDR} via ${other.internalIP} dev eth0`), `${node.name} routes ${other.podCIDR} via ${other.internalIP}:\n${routes.stdout}`);
      }
      const proxyMode = await inNetns(netns, ['curl', '-s', '-m', '5', 'http://127.0.0.1:10249/proxyMode']);
      assert.equal(proxyMode.stdout, node.proxyMode);
      const healthz = await inNetns(netns, ['curl', '-s', '-m', '5', `http://${node.internalIP}:10256/healthz`]);
      assert.equal(JSON.parse(healthz.stdout).nodeEligible, true);
    }
    // Nothing of the lab is in the root namespace: no lab address, no veth peered into a lab netns.
    const rootLinks = await run('ip', ['-o', 'link', 'show']);
    assert.ok(!rootLinks.stdout.includes(`link-netns ${TEST_PREFIX}-`), rootLinks.stdout);
    const rootAddresses = await run('ip', ['-o', '-4', 'addr', 'show']);
    assert.doesNotMatch(rootAddresses.stdout, /inet 198\.1[89]\./);
  });

  test('a pod has its own netns: eth0@ifN pairs with a vethXXXXXXXX on the node bridge', async () => {
    const podNetns = labNet.podNetnsName(TEST_PREFIX, client.uid);
    const eth0 = await run('ip', ['-n', podNetns, '-o', 'link', 'show', 'eth0']);
    const peer = /^(\d+): eth0@if(\d+):/.exec(eth0.stdout);
    assert.ok(peer, `eth0@ifN in: ${eth0.stdout}`);
    const [, podIndex, nodeIndex] = peer;
    const nodeLinks = await run('ip', ['-n', config.nodeNetnsName(NODE_A!.name), '-o', 'link', 'show']);
    const nodeSide = nodeLinks.stdout.split('\n').find((line) => line.startsWith(`${nodeIndex}: `));
    assert.ok(nodeSide, `interface ${nodeIndex} exists on the node`);
    assert.match(nodeSide, new RegExp(`^${nodeIndex}: veth[0-9a-f]{8}@if${podIndex}: .* master cni0 `));
    const address = await run('ip', ['-n', podNetns, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(address.stdout.includes(`inet ${sandbox(client).podIP}/`), address.stdout);
    assert.ok(sandbox(client).podIP.startsWith(NODE_A!.bridgeIP.replace(/\.1$/, '.')), 'the pod IP comes from its node pod CIDR');
  });

  test('a container process is in a cgroup named by its container ID and sees the pod resolv.conf', () => {
    const container = sandbox(client).containers[0]!;
    const cgroup = fs.readFileSync(`/proc/${container.pid}/cgroup`, 'utf8');
    assert.ok(cgroup.includes(`cri-containerd-${container.containerId}.scope`), cgroup);
    assert.ok(cgroup.includes('kubepods-besteffort-pod'), cgroup);
    const resolvConf = fs.readFileSync(`/proc/${container.pid}/root/etc/resolv.conf`, 'utf8');
    assert.ok(resolvConf.includes(`nameserver ${config.KUBE_DNS_SERVICE_IP}`), resolvConf);
    assert.ok(resolvConf.includes('search demo.svc.cluster.local svc.cluster.local cluster.local'), resolvConf);
    assert.ok(resolvConf.includes('options ndots:5'), resolvConf);
    const guaranteed = sandbox(debug).containers[0]!;
    assert.ok(fs.readFileSync(`/proc/${guaranteed.pid}/cgroup`, 'utf8').includes(`/kubepods.slice/kubepods-pod${debug.uid.replace(/-/g, '_')}.slice/cri-containerd-`));
  });

  test('a TCP request from a pod to a ClusterIP reaches a backend on another node, and conntrack shows the DNAT', async () => {
    const backends = new Map([web1, web2].map((request) => [sandbox(request).podIP, request]));
    let reply: { pod: string; podIP: string; nodeName: string; clientAddress: string; clientPort: number } | undefined;
    for (let attempt = 0; attempt < 5 && !reply; attempt += 1) {
      const response = await execIn(client, ['curl', '-s', '-m', '5', `http://${WEB_CLUSTER_IP}:80/`]);
      if (response.code === 0 && response.stdout.trim() !== '') {
        reply = JSON.parse(response.stdout);
      }
    }
    assert.ok(reply, 'the ClusterIP answered');
    const backend = backends.get(reply.podIP);
    assert.ok(backend, `the answer came from a backend pod (${reply.podIP})`);
    assert.equal(reply.pod, backend.name);
    assert.notEqual(reply.nodeName, NODE_A!.name, 'the backend runs on another node than the client');
    assert.equal(reply.clientAddress, sandbox(client).podIP, 'pod traffic keeps its source address (no SNAT)');

    const conntrack = await inNetns(config.nodeNetnsName(NODE_A!.name), ['conntrack', '-L', '-p', 'tcp', '--orig-dst', WEB_CLUSTER_IP]);
    const entry = conntrack.stdout.split('\n').find((line) => line.includes(`sport=${reply!.clientPort} dport=80 `));
    assert.ok(entry, `conntrack entry for the request:\n${conntrack.stdout}${conntrack.stderr}`);
    assert.ok(entry.includes(`src=${sandbox(client).podIP} dst=${WEB_CLUSTER_IP} `), entry);
    assert.ok(entry.includes(`src=${reply.podIP} dst=${sandbox(client).podIP} sport=8080 dport=${reply.clientPort}`), `reply tuple is the DNAT'd backend: ${entry}`);
  });

  test('hairpin: a pod reaching itself through its service is masqueraded to the bridge address', async () => {
    const response = await execIn(web1, ['curl', '-s', '-m', '5', `http://${SOLO_CLUSTER_IP}/`]);
    const reply = JSON.parse(response.stdout) as { pod: string; clientAddress: string };
    assert.equal(reply.pod, web1.name);
    assert.equal(reply.clientAddress, NODE_B!.bridgeIP, 'KUBE-SEP marks the hairpin for SNAT to the node bridge');
  });

  test('a NodePort on one node reaches the backend on another node, masqueraded', async () => {
    const response = await inNetns(config.nodeNetnsName(NODE_C!.name), ['curl', '-s', '-m', '5', `http://${NODE_A!.internalIP}:${SOLO_NODE_PORT}/`]);
    const reply = JSON.parse(response.stdout) as { pod: string; clientAddress: string };
    assert.equal(reply.pod, web1.name);
    assert.equal(reply.clientAddress, NODE_A!.internalIP, 'node A masquerades external traffic it forwards to another node');
  });

  test('node rules are kube-proxy iptables rules in its own format', async () => {
    const saved = await inNetns(config.nodeNetnsName(NODE_A!.name), ['iptables-save']);
    const rules = saved.stdout;
    // This chain name is the same on every cluster: sha256("default/kubernetes:https" + "tcp").
    assert.match(rules, /-A KUBE-SERVICES -d 198\.19\.0\.1\/32 -p tcp -m comment --comment "default\/kubernetes:https cluster IP" -m tcp --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y/);
    assert.match(rules, /-A KUBE-SERVICES -d 198\.19\.0\.10\/32 -p udp -m comment --comment "kube-system\/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU/);
    const webChain = /-A KUBE-SERVICES -d 198\.19\.0\.80\/32 -p tcp -m comment --comment "demo\/web:http cluster IP" -m tcp --dport 80 -j (KUBE-SVC-[A-Z2-7]{16})/.exec(rules)?.[1];
    assert.ok(webChain, rules);
    const webRules = rules.split('\n').filter((line) => line.startsWith(`-A ${webChain} `));
    assert.equal(webRules.length, 3, webRules.join('\n'));
    assert.ok(webRules[0]!.includes(`! -s ${NODE_A!.podCIDR} `) && webRules[0]!.endsWith('-j KUBE-MARK-MASQ'), webRules[0]);
    assert.match(webRules[1]!, /-m statistic --mode random --probability 0\.50000000000 -j KUBE-SEP-[A-Z2-7]{16}$/);
    assert.doesNotMatch(webRules[2]!, /statistic/);
    for (const request of [web1, web2]) {
      const ip = sandbox(request).podIP;
      assert.ok(rules.includes(`-s ${ip}/32 -m comment --comment "demo/web:http" -j KUBE-MARK-MASQ`), `hairpin rule for ${ip}`);
      assert.ok(rules.includes(`-p tcp -m comment --comment "demo/web:http" -m tcp -j DNAT --to-destination ${ip}:8080`), `DNAT to ${ip}`);
    }
    assert.ok(rules.includes('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'));
    assert.ok(rules.includes('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'));
    assert.ok(rules.includes('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'));
    assert.ok(rules.includes(`-A KUBE-SERVICES -d ${EMPTY_CLUSTER_IP}/32 -p tcp -m comment --comment "demo/empty has no endpoints" -m tcp --dport 80 -j REJECT`));

    // An endpoint going away: its KUBE-SEP chain is deleted and the statistic rule goes.
    const oneBackend: ClusterState = {
      ...state,
      endpointSlices: state.endpointSlices.map((slice) =>
        slice.metadata?.labels?.['kubernetes.io/service-name'] === 'web' ? { ...slice, endpoints: slice.endpoints.slice(0, 1) } : slice,
      ),
    };
    await network.syncClusterState(oneBackend);
    const after = (await inNetns(config.nodeNetnsName(NODE_A!.name), ['iptables-save', '-t', 'nat'])).stdout;
    const remaining = state.endpointSlices.find((slice) => slice.metadata?.name === 'web-abcde')!.endpoints[0]!.addresses[0]!;
    const removed = [sandbox(web1).podIP, sandbox(web2).podIP].find((ip) => ip !== remaining)!;
    assert.ok(after.includes(`--to-destination ${remaining}:8080`));
    assert.ok(!after.includes(`--to-destination ${removed}:8080`), 'the removed endpoint has no DNAT left');
    assert.ok(!after.split('\n').some((line) => line.startsWith(`-A ${webChain} `) && line.includes('statistic')));
    await network.syncClusterState(state);
  });

  test('cluster DNS behind the kube-dns ClusterIP answers from the state, through same-node DNAT', async () => {
    const dig = (args: string[]): Promise<Run> => execIn(client, ['dig', '+time=3', '+tries=2', `@${config.KUBE_DNS_SERVICE_IP}`, ...args]);
    const web = await dig(['+short', 'web.demo.svc.cluster.local']);
    assert.equal(web.stdout.trim(), WEB_CLUSTER_IP);
    const kubernetes = await dig(['+short', '+tcp', 'kubernetes.default.svc.cluster.local']);
    assert.equal(kubernetes.stdout.trim(), config.KUBERNETES_SERVICE_IP);
    const missing = await dig(['missing.demo.svc.cluster.local']);
    assert.match(missing.stdout, /status: NXDOMAIN/);
    assert.match(missing.stdout, /cluster\.local\.\s+30\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
    assert.match(missing.stdout, /flags: qr aa rd;/);
    const srv = await dig(['+short', '-t', 'SRV', '_http._tcp.web.demo.svc.cluster.local']);
    assert.equal(srv.stdout.trim(), '0 100 80 web.demo.svc.cluster.local.');
    const podRecord = await dig(['+short', `${sandbox(web1).podIP.replace(/\./g, '-')}.demo.pod.cluster.local`]);
    assert.equal(podRecord.stdout.trim(), sandbox(web1).podIP);
    const search = await execIn(client, ['dig', '+time=3', '+tries=2', '+search', '+short', 'web']);
    assert.equal(search.stdout.trim(), WEB_CLUSTER_IP, 'the pod resolv.conf search path works');
    const headless = await dig(['+short', 'web-headless.demo.svc.cluster.local']);
    assert.deepEqual(headless.stdout.trim().split('\n').sort(), [sandbox(web1).podIP, sandbox(web2).podIP].sort(), 'a headless name resolves to its ready endpoints');
    const headlessSrv = await dig(['+short', '-t', 'SRV', '_http._tcp.web-headless.demo.svc.cluster.local']);
    assert.deepEqual(
      headlessSrv.stdout.trim().split('\n').sort(),
      [web1, web2].map((request) => `0 50 8080 ${sandbox(request).podIP.replace(/\./g, '-')}.web-headless.demo.svc.cluster.local.`).sort(),
    );
    const aaaa = await dig(['-t', 'AAAA', 'web.demo.svc.cluster.local']);
    assert.match(aaaa.stdout, /status: NOERROR/);
    assert.match(aaaa.stdout, /ANSWER: 0,/);
    const outside = await dig(['example.com']);
    assert.match(outside.stdout, /status: SERVFAIL/);
  });

  test('exec: ordinary pods run in their netns and container cgroup, hostNetwork pods in the node netns', async () => {
    const inPod = await execIn(client, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(inPod.stdout.includes(`inet ${sandbox(client).podIP}/32`), inPod.stdout);
    const cgroup = await execIn(client, ['cat', '/proc/self/cgroup']);
    assert.ok(cgroup.stdout.includes(client.containers[0]!.containerId), cgroup.stdout);
    assert.equal(sandbox(debug).podIP, NODE_A!.internalIP);
    const onNode = await execIn(debug, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(onNode.stdout.includes(`inet ${NODE_A!.internalIP}/24`), onNode.stdout);
    // The tutorial's step from the node: enter a pod's netns through its container's PID.
    const entered = await execIn(debug, ['nsenter', '-t', String(sandbox(client).containers[0]!.pid), '-n', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    assert.ok(entered.stdout.includes(`inet ${sandbox(client).podIP}/32`), entered.stdout + entered.stderr);
    const missing = await execIn(client, ['no-such-command-here']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /no-such-command-here/);
    const environment = await execIn(client, ['env']);
    assert.ok(environment.stdout.includes(`KUBERNETES_SERVICE_HOST=${config.KUBERNETES_SERVICE_IP}`), environment.stdout);
    assert.ok(!environment.stdout.includes('KNI_LAB_PREFIX'), 'an exec gets the container environment, not the lab process environment');
  });

  test('deleting a pod kills its containers and tracked execs and removes its netns, cgroup and /etc/netns entry', async () => {
    const spec = network.execSpec(client.uid, client.containers[0]!.name, ['sleep', '600']);
    const exec = spawn(spec.file, spec.args, { stdio: 'ignore' });
    assert.ok(exec.pid);
    network.trackExecProcess(client.uid, exec.pid);
    const exited = new Promise((resolve) => exec.on('exit', resolve));
    const podNetns = labNet.podNetnsName(TEST_PREFIX, client.uid);
    const containerPid = sandbox(client).containers[0]!.pid;
    const podSlice = path.join(LAB_CGROUP, 'kubepods.slice', 'kubepods-besteffort.slice', `kubepods-besteffort-pod${client.uid.replace(/-/g, '_')}.slice`);
    assert.ok(fs.existsSync(podSlice));
    await network.deletePodSandbox(client.uid);
    await exited;
    assert.equal(alive(containerPid), false);
    assert.equal(alive(exec.pid), false);
    assert.ok(!(await labNetnsNames()).includes(podNetns));
    assert.equal(fs.existsSync(podSlice), false);
    assert.ok(!etcNetnsEntries().includes(podNetns));
    const nodeLinks = await run('ip', ['-n', config.nodeNetnsName(NODE_A!.name), '-o', 'link', 'show']);
    assert.ok(!nodeLinks.stdout.includes(labNet.podVethName(client.uid)), 'the node side veth is gone');
    await network.deletePodSandbox(client.uid);
  });

  test('stop() leaves no namespace, process, cgroup or /etc/netns entry, and can run twice', async () => {
    await network.stop();
    await assertNothingLeft(allPids);
    await network.stop();
    await assertNothingLeft(allPids);
  });
});

/** A lab network in a child process that the test then SIGKILLs. Constant script; data in argv. */
const HOLDER_SCRIPT = `
const crypto = require('node:crypto');
const [indexPath, configPath] = process.argv.slice(1);
const { LinuxLabNetwork } = require(indexPath);
const { LAB_NODES } = require(configPath);
const network = new LinuxLabNetwork({ nodes: LAB_NODES, log: () => {} });
(async () => {
  await network.start();
  const pids = [];
  const images = ['registry.k8s.io/coredns/coredns:v1.11.3', 'registry.k8s.io/pause:3.10', 'registry.k8s.io/e2e-test-images/agnhost:2.52'];
  for (const [index, node] of LAB_NODES.entries()) {
    const sandbox = await network.createPodSandbox({
      uid: crypto.randomUUID(), namespace: 'default', name: 'held-' + index, nodeName: node.name, hostNetwork: false, qosClass: 'Burstable',
      containers: [{ name: 'c', image: images[index % images.length], containerId: crypto.randomBytes(32).toString('hex'), ports: [8080] }],
    });
    pids.push(...sandbox.containers.map((container) => container.pid));
  }
  process.stdout.write('READY ' + JSON.stringify(pids) + '\\n');
  setInterval(() => {}, 1 << 30);
})().catch((error) => { process.stderr.write(String((error && error.stack) || error) + '\\n'); process.exit(1); });
`;

/** Starts the holder, waits for READY, SIGKILLs it, and returns the PIDs it left running. */
async function startAndKillHolder(): Promise<number[]> {
  const holder = spawn(process.execPath, ['-e', HOLDER_SCRIPT, require.resolve('../../lab/net/index.js'), require.resolve('../../lab/config.js')], {
    env: { ...process.env, KNI_LAB_PREFIX: TEST_PREFIX },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  holder.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const exited = new Promise<void>((resolve) => holder.on('exit', () => resolve()));
  const pids = await new Promise<number[]>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`holder not ready: ${stderr}`)), 60_000);
    holder.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const line = /^READY (.*)$/m.exec(stdout);
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line[1]!) as number[]);
      }
    });
    holder.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`holder exited (${code}) before it was ready: ${stderr}`));
    });
  });
  holder.kill('SIGKILL');
  await exited;
  return pids;
}

describe('lab network after a SIGKILL', { concurrency: false }, () => {
  after(async () => {
    await labNet.sweepLab(TEST_PREFIX);
  });

  test('the next start() sweeps what a killed lab left, and stop() then leaves nothing', async () => {
    const leftPids = await startAndKillHolder();
    assert.ok(leftPids.every((pid) => alive(pid)), 'a SIGKILLed lab leaves its containers running');
    assert.ok((await labNetnsNames()).length > 0, 'and its namespaces');
    const next = new labNet.LinuxLabNetwork({ nodes: config.LAB_NODES, log: () => {} });
    await next.start();
    assert.deepEqual(
      leftPids.filter((pid) => alive(pid)),
      [],
      'start() killed the leftovers',
    );
    const names = await labNetnsNames();
    assert.ok(!names.some((name) => name.includes('-pod-')), `no pod namespace of the killed lab survives: ${names.join(' ')}`);
    await next.stop();
    await assertNothingLeft(leftPids);
  });

  test('sweepLab() alone removes everything a killed lab left', async () => {
    const leftPids = await startAndKillHolder();
    assert.ok(leftPids.every((pid) => alive(pid)));
    const report = await labNet.sweepLab(TEST_PREFIX);
    assert.ok(report.netns.length >= 1 + config.LAB_NODES.length * 2, `swept: ${report.netns.join(' ')}`);
    await assertNothingLeft(leftPids);
  });
});

/**
 * The diagnostics core's English sentences in Russian. The sentences are written the way
 * src/diagnostics/veth.ts, dig.ts and manualCommands.ts write them (their templates, with
 * values from the shared corpus' captures); the manual commands come from the core's own
 * builders. With an English `t` each known sentence must come back unchanged (so the shape and
 * its template agree), with the Russian bundle it must be Russian and keep every value. The
 * end-to-end test (test/e2e/russian.test.ts) checks the same on the sentences a real run
 * against the lab produces.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { crictlPidCommand, kubectlDebugNodeCommand, kubectlGetPodCommand } from '../../../src/diagnostics/manualCommands.js';
import type { Translate } from '../../../src/features/clusterNodes.js';
import { isKnownCoreSentence, localizeCoreSentence } from '../../../src/features/reports/coreSentences.js';
import { repoRoot } from '../parsers/corpusFiles.js';

function fill(message: string, args: ReadonlyArray<string | number | boolean>): string {
  return message.replace(/\{(\d+)\}/g, (match, position: string) => (Number(position) < args.length ? String(args[Number(position)]) : match));
}

const english: Translate = (message, ...args) => fill(message, args);
const bundle = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'l10n', 'bundle.l10n.ru.json'), 'utf8')) as Record<string, string>;
const russian: Translate = (message, ...args) => {
  assert.ok(message in bundle, `l10n/bundle.l10n.ru.json has no ${JSON.stringify(message)}`);
  return fill(bundle[message] ?? message, args);
};

/**
 * A sentence, the values it carries and, where the English output differs on purpose, that
 * output (the core capitalises a sentence's first letter even when it starts a `namespace/pod`).
 */
type Sample = readonly [string, readonly string[], string?];

const capitalize = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const clusterIpWho = 'the kube-dns ClusterIP 10.96.0.10';
const endpointWho = 'kube-system/coredns-7db6d8ff4d-x2x9q (10.244.0.3)';

const samples: readonly Sample[] = [
  ["No interface other than loopback was found in the pod's network namespace.", []],
  ["The pod's eth0 does not name a peer (ipvlan), so it is not one end of a veth pair.", ['eth0', 'ipvlan']],
  ["The pod's eth0 does not name a peer (unknown kind), so it is not one end of a veth pair.", ['eth0']],
  [
    "The pod's eth0@if12 points at interface index 12, but node lab-worker has no interface with that index in its root namespace (the peer may live in another namespace, or the CNI uses ipvlan/macvlan).",
    ['eth0@if12', '12', 'lab-worker', 'ipvlan/macvlan'],
  ],
  ["The pod's eth0 (index 2) is paired with veth4c7e20e6 (index 4) on node lab-worker2.", ['eth0', '2', 'veth4c7e20e6', '4', 'lab-worker2']],
  [
    "The node end veth4c7e20e6 points back at index 3, not at the pod's index 2: the pair may not be what it seems (index reuse after a restart?).",
    ['veth4c7e20e6', '3', '2'],
  ],
  ['MTU differs: 1450 in the pod, 1500 on the node end.', ['1450', '1500']],
  ['The node end veth4c7e20e6 is DOWN.', ['veth4c7e20e6', 'DOWN']],
  ['veth4c7e20e6 is a port of bridge cni0 (198.18.3.1/24, fe80::d0b9:90ff:fefc:a1e9/64).', ['veth4c7e20e6', 'cni0', '198.18.3.1/24, fe80::d0b9:90ff:fefc:a1e9/64']],
  ['vethabc is a port of bridge kube-bridge.', ['vethabc', 'kube-bridge']],
  ['cali12345 is enslaved to vrf-blue.', ['cali12345', 'vrf-blue']],
  ['cali12345 has no bridge: the node routes to the pod through it directly (Calico/Cilium style).', ['cali12345', 'Calico/Cilium']],
  ["The pod's eth0 is LOWERLAYERDOWN.", ['eth0', 'LOWERLAYERDOWN']],
  ['The node routes 198.18.3.3 via flannel.1, not via veth4c7e20e6 or cni0: traffic to the pod leaves another way (overlay, or a wrong route).', ['198.18.3.3', 'flannel.1', 'veth4c7e20e6', 'cni0']],
  ['The node routes 198.18.3.3 via cni0 (source 198.18.3.1).', ['198.18.3.3', 'cni0', '198.18.3.1']],
  ['The node routes 198.18.3.3 via cali12345.', ['198.18.3.3', 'cali12345']],
  ['Extra interface net1@if7 (macvlan), node end veth9: 192.168.50.4/24.', ['net1@if7', 'macvlan', 'veth9', '192.168.50.4/24']],
  ['Extra interface net1 (unknown kind).', ['net1']],
  [
    "Pod kube-system/kube-proxy-x uses the host network (hostNetwork: true): it shares node lab-worker's network namespace, so it has no veth of its own. Its interfaces are the node's, listed below.",
    ['kube-system/kube-proxy-x', 'lab-worker', 'hostNetwork: true'],
  ],
  [capitalize(`${clusterIpWho} answered web.lab-apps.svc.cluster.local with A 198.18.128.10 in 3 ms.`), ['kube-dns', '10.96.0.10', 'web.lab-apps.svc.cluster.local', 'A 198.18.128.10', '3']],
  [
    capitalize(`${endpointWho} answered web.lab-apps.svc.cluster.local with A 198.18.128.10, A 198.18.128.11.`),
    ['kube-system/coredns-7db6d8ff4d-x2x9q', '10.244.0.3', 'A 198.18.128.10, A 198.18.128.11'],
    `${endpointWho} answered web.lab-apps.svc.cluster.local with A 198.18.128.10, A 198.18.128.11.`,
  ],
  [
    capitalize(`${clusterIpWho} says web.lab-apps.svc.cluster.local exists but has no AAAA record (NOERROR without answers). A headless service without ready pods, or an IPv4/IPv6 mismatch, look like this.`),
    ['web.lab-apps.svc.cluster.local', 'AAAA', 'NOERROR'],
  ],
  [
    capitalize(
      `${endpointWho} says web.lab-app.svc.cluster.local does not exist (NXDOMAIN). Check the spelling and the namespace: a service is <service>.<namespace>.svc.cluster.local. dig, unlike the programs in the pod, does not apply the pod's search list, so a short name such as "web" fails here; use the full name.`,
    ),
    ['web.lab-app.svc.cluster.local', 'NXDOMAIN', '<service>.<namespace>.svc.cluster.local'],
  ],
  [
    capitalize(
      `${clusterIpWho} could not answer (SERVFAIL): CoreDNS itself failed, e.g. its upstream DNS is unreachable (for names outside the cluster), a forwarding loop, or a plugin error. Look at the CoreDNS logs (kubectl logs -n kube-system -l k8s-app=kube-dns).`,
    ),
    ['SERVFAIL', 'kubectl logs -n kube-system -l k8s-app=kube-dns'],
  ],
  [capitalize(`DNS endpoint (10.244.0.3) refused the query (REFUSED): the server is not willing to answer for this name (an ACL, or it is not a resolver for this zone).`), ['10.244.0.3', 'REFUSED']],
  [
    `No reply from ${clusterIpWho} within 2 s. Packets between the pod and the service are lost: check kube-proxy's rules for 10.96.0.10 (iptables -t nat -L KUBE-SERVICES -n | grep 10.96.0.10), NetworkPolicies that block egress to UDP port 53, and that the CoreDNS pods are Running.`,
    ['10.96.0.10', 'iptables -t nat -L KUBE-SERVICES -n | grep 10.96.0.10', '53'],
  ],
  [`No reply from ${endpointWho} within 2 s: the pod network between this pod and that CoreDNS pod drops the packets (CNI, NetworkPolicy), or CoreDNS is overloaded.`, ['kube-system/coredns-7db6d8ff4d-x2x9q', 'CNI, NetworkPolicy']],
  [capitalize(`dig did not get a usable reply from ${clusterIpWho}: communications error to 10.96.0.10#53: connection refused.`), ['communications error to 10.96.0.10#53: connection refused']],
  [capitalize(`dig did not get a usable reply from ${endpointWho}.`), ['kube-system/coredns-7db6d8ff4d-x2x9q']],
  ['The CoreDNS pods answer when asked directly, but not through the ClusterIP 10.96.0.10: the service translation (kube-proxy rules) on this node is the suspect.', ['10.96.0.10', 'kube-proxy']],
  ['No CoreDNS pod answers directly either: suspect the pod network or CoreDNS itself.', []],
  ['The CoreDNS pods disagree; one of them may be unhealthy. Compare the answers below.', []],
  [
    "The pod's resolv.conf uses 169.254.20.10, not the kube-dns ClusterIP 10.96.0.10 (dnsPolicy other than ClusterFirst, or a node-local DNS cache); programs in the pod ask that server for web.lab-apps.svc.cluster.local.",
    ['169.254.20.10', '10.96.0.10', 'ClusterFirst', 'web.lab-apps.svc.cluster.local'],
  ],
  ["The pod's resolv.conf uses no nameserver, not the kube-dns ClusterIP 10.96.0.10 (dnsPolicy other than ClusterFirst, or a node-local DNS cache); programs in the pod ask that server for x.", ['10.96.0.10']],
  // Manual command descriptions, from the core's own builders where it has them.
  [kubectlDebugNodeCommand('lab-worker', 'docker.io/nicolaka/netshoot:v0.13').description, ['lab-worker', '/host']],
  [crictlPidCommand('a'.repeat(64)).description, ['PID', 'containerd / CRI-O']],
  [kubectlGetPodCommand('lab-apps', 'web-1').description, []],
  ["The pod's interfaces (eth0@ifN: N is the node-side index)", ['eth0@ifN']],
  ["The node interface with index 4: the pod's peer", ['4']],
  ["The node's route to the pod", []],
  ['Interfaces on bridge cni0', ['cni0']],
  ["The node's interfaces (the pod's too)", []],
  ['The cluster DNS service and its ClusterIP', ['ClusterIP']],
  ['Its endpoints (the CoreDNS pods)', ['CoreDNS']],
  ['Ask kube-dns from inside the pod', ['kube-dns']],
  ['Ask kube-system/coredns-7db6d8ff4d-x2x9q directly', ['kube-system/coredns-7db6d8ff4d-x2x9q']],
  ["The pod's resolv.conf", ['resolv.conf']],
];

describe('the diagnostics core’s sentences in Russian', () => {
  it('knows every shape, and English comes back exactly as the core wrote it', () => {
    for (const [text, , englishOutput] of samples) {
      assert.ok(isKnownCoreSentence(text), `unknown shape: ${text}`);
      const namespaceFirst = /^[A-Z][a-z0-9-]*\//.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;
      assert.equal(localizeCoreSentence(text, english), englishOutput ?? namespaceFirst);
    }
  });

  it('gives Russian that keeps every value', () => {
    for (const [text, values] of samples) {
      const ru = localizeCoreSentence(text, russian);
      assert.match(ru, /[а-яё]/i, `not Russian: ${ru}`);
      assert.equal(localizeCoreSentence(ru, russian), ru, 'a translated sentence is not translated again');
      for (const value of values) {
        assert.ok(ru.includes(value), `"${ru}" lost ${JSON.stringify(value)} of "${text}"`);
      }
    }
  });

  it('leaves a sentence of an unknown shape as it is', () => {
    for (const text of ['Something the core says now that it did not say before.', 'Look at web";$(id)', '']) {
      assert.equal(isKnownCoreSentence(text), false);
      assert.equal(localizeCoreSentence(text, russian), text);
    }
  });
});

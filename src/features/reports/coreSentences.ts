/**
 * The diagnostics core (src/diagnostics) explains its findings in English sentences (a veth
 * result's `notes`, a dig query's `explanation` and `summary`, a manual command's
 * `description`). Those sentences have a few fixed shapes with values in them; this turns each
 * known shape into the user's language, values kept. A sentence of another shape (a newer core,
 * a reworded one) stays as the core wrote it, so nothing is lost. Pure (no `vscode` import);
 * `t` is `vscode.l10n.t` in the extension, and with an English `t` every known sentence comes
 * out exactly as it went in (the unit tests check that, shape by shape).
 */

import type { Translate } from '../clusterNodes.js';

type Shape = readonly [RegExp, (match: RegExpExecArray, t: Translate) => string];

/** Capture group `n`, or '' (a group that did not take part). */
function group(match: RegExpExecArray, n: number): string {
  return match[n] ?? '';
}

/**
 * Who a dig explanation is about: `the kube-dns ClusterIP 10.96.0.10`, `kube-system/coredns-x
 * (10.244.0.3)` or `DNS endpoint (10.244.0.3)`. The core capitalises the sentence's first
 * letter, which may be a namespace's (Kubernetes names are lowercase, so it is undone).
 */
const who = String.raw`(?:[Tt]he (\S+) ClusterIP (\S+)|(DNS endpoint|\S+) \((\S+)\))`;

function whoText(match: RegExpExecArray, first: number, t: Translate): string {
  if (match[first] !== undefined) {
    return t('the {0} ClusterIP {1}', group(match, first), group(match, first + 1));
  }
  const name = group(match, first + 2);
  const address = group(match, first + 3);
  if (name === 'DNS endpoint') {
    return t('DNS endpoint ({0})', address);
  }
  return t('{0} ({1})', /^[A-Z][a-z0-9-]*\//.test(name) ? name.charAt(0).toLowerCase() + name.slice(1) : name, address);
}

/**
 * Upper-cases the first letter, as the core does with its dig explanations; but not the first
 * letter of a `namespace/pod` reference, which the core wrongly capitalises.
 */
function sentence(text: string): string {
  return /^[a-z0-9][a-z0-9-]*\//.test(text) ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

const shapes: readonly Shape[] = [
  // veth notes (src/diagnostics/veth.ts)
  [/^No interface other than loopback was found in the pod's network namespace\.$/, (_m, t) => t("No interface other than loopback was found in the pod's network namespace.")],
  [/^The pod's (\S+) does not name a peer \((.+)\), so it is not one end of a veth pair\.$/, (m, t) => t("The pod's {0} does not name a peer ({1}), so it is not one end of a veth pair.", group(m, 1), group(m, 2))],
  [
    /^The pod's (\S+) points at interface index (\d+), but node (\S+) has no interface with that index in its root namespace \(the peer may live in another namespace, or the CNI uses ipvlan\/macvlan\)\.$/,
    (m, t) =>
      t(
        "The pod's {0} points at interface index {1}, but node {2} has no interface with that index in its root namespace (the peer may live in another namespace, or the CNI uses ipvlan/macvlan).",
        group(m, 1),
        group(m, 2),
        group(m, 3),
      ),
  ],
  [
    /^The pod's (\S+) \(index (\S+)\) is paired with (\S+) \(index (\S+)\) on node (\S+)\.$/,
    (m, t) => t("The pod's {0} (index {1}) is paired with {2} (index {3}) on node {4}.", group(m, 1), group(m, 2), group(m, 3), group(m, 4), group(m, 5)),
  ],
  [
    /^The node end (\S+) points back at index (\S+), not at the pod's index (\S+): the pair may not be what it seems \(index reuse after a restart\?\)\.$/,
    (m, t) => t("The node end {0} points back at index {1}, not at the pod's index {2}: the pair may not be what it seems (index reuse after a restart?).", group(m, 1), group(m, 2), group(m, 3)),
  ],
  [/^MTU differs: (\S+) in the pod, (\S+) on the node end\.$/, (m, t) => t('MTU differs: {0} in the pod, {1} on the node end.', group(m, 1), group(m, 2))],
  [/^The node end (\S+) is (\S+)\.$/, (m, t) => t('The node end {0} is {1}.', group(m, 1), group(m, 2))],
  [
    /^(\S+) is a port of bridge (\S+)(?: \((.+)\))?\.$/,
    (m, t) => (m[3] === undefined ? t('{0} is a port of bridge {1}.', group(m, 1), group(m, 2)) : t('{0} is a port of bridge {1} ({2}).', group(m, 1), group(m, 2), group(m, 3))),
  ],
  [/^(\S+) is enslaved to (\S+)\.$/, (m, t) => t('{0} is enslaved to {1}.', group(m, 1), group(m, 2))],
  [/^(\S+) has no bridge: the node routes to the pod through it directly \(Calico\/Cilium style\)\.$/, (m, t) => t('{0} has no bridge: the node routes to the pod through it directly (Calico/Cilium style).', group(m, 1))],
  [/^The pod's (\S+) is (\S+)\.$/, (m, t) => t("The pod's {0} is {1}.", group(m, 1), group(m, 2))],
  [
    /^The node routes (\S+) via (\S+), not via (.+): traffic to the pod leaves another way \(overlay, or a wrong route\)\.$/,
    (m, t) => t('The node routes {0} via {1}, not via {2}: traffic to the pod leaves another way (overlay, or a wrong route).', group(m, 1), group(m, 2), group(m, 3).split(' or ').join(t(' or '))),
  ],
  [
    /^The node routes (\S+) via (\S+)(?: \(source (\S+)\))?\.$/,
    (m, t) => (m[3] === undefined ? t('The node routes {0} via {1}.', group(m, 1), group(m, 2)) : t('The node routes {0} via {1} (source {2}).', group(m, 1), group(m, 2), group(m, 3))),
  ],
  [
    /^Extra interface (\S+) \(([^)]*)\)(?:, node end (\S+))?(?:: (.+))?\.$/,
    (m, t) => {
      const kind = group(m, 2) === 'unknown kind' ? t('unknown kind') : group(m, 2);
      const base = m[3] === undefined ? t('Extra interface {0} ({1})', group(m, 1), kind) : t('Extra interface {0} ({1}), node end {2}', group(m, 1), kind, group(m, 3));
      return m[4] === undefined ? t('{0}.', base) : t('{0}: {1}.', base, group(m, 4));
    },
  ],
  [
    /^Pod (\S+) uses the host network \(hostNetwork: true\): it shares node (\S+)'s network namespace, so it has no veth of its own\. Its interfaces are the node's, listed below\.$/,
    (m, t) => t("Pod {0} uses the host network (hostNetwork: true): it shares node {1}'s network namespace, so it has no veth of its own. Its interfaces are the node's, listed below.", group(m, 1), group(m, 2)),
  ],

  // dig explanations and conclusions (src/diagnostics/dig.ts)
  [
    new RegExp(String.raw`^${who} answered (\S+) with (.+?)(?: in (\d+) ms)?\.$`),
    (m, t) =>
      m[7] === undefined
        ? sentence(t('{0} answered {1} with {2}.', whoText(m, 1, t), group(m, 5), group(m, 6)))
        : sentence(t('{0} answered {1} with {2} in {3} ms.', whoText(m, 1, t), group(m, 5), group(m, 6), group(m, 7))),
  ],
  [
    new RegExp(String.raw`^${who} says (\S+) exists but has no (\S+) record \(NOERROR without answers\)\. A headless service without ready pods, or an IPv4/IPv6 mismatch, look like this\.$`),
    (m, t) =>
      sentence(
        t('{0} says {1} exists but has no {2} record (NOERROR without answers). A headless service without ready pods, or an IPv4/IPv6 mismatch, look like this.', whoText(m, 1, t), group(m, 5), group(m, 6)),
      ),
  ],
  [
    new RegExp(
      String.raw`^${who} says (\S+) does not exist \(NXDOMAIN\)\. Check the spelling and the namespace: a service is <service>\.<namespace>\.svc\.cluster\.local\. dig, unlike the programs in the pod, does not apply the pod's search list, so a short name such as "web" fails here; use the full name\.$`,
    ),
    (m, t) =>
      sentence(
        t(
          '{0} says {1} does not exist (NXDOMAIN). Check the spelling and the namespace: a service is <service>.<namespace>.svc.cluster.local. dig, unlike the programs in the pod, does not apply the pod\'s search list, so a short name such as "web" fails here; use the full name.',
          whoText(m, 1, t),
          group(m, 5),
        ),
      ),
  ],
  [
    new RegExp(
      String.raw`^${who} could not answer \(SERVFAIL\): CoreDNS itself failed, e\.g\. its upstream DNS is unreachable \(for names outside the cluster\), a forwarding loop, or a plugin error\. Look at the CoreDNS logs \(kubectl logs -n (\S+) -l k8s-app=kube-dns\)\.$`,
    ),
    (m, t) =>
      sentence(
        t(
          '{0} could not answer (SERVFAIL): CoreDNS itself failed, e.g. its upstream DNS is unreachable (for names outside the cluster), a forwarding loop, or a plugin error. Look at the CoreDNS logs (kubectl logs -n {1} -l k8s-app=kube-dns).',
          whoText(m, 1, t),
          group(m, 5),
        ),
      ),
  ],
  [
    new RegExp(String.raw`^${who} refused the query \(REFUSED\): the server is not willing to answer for this name \(an ACL, or it is not a resolver for this zone\)\.$`),
    (m, t) => sentence(t('{0} refused the query (REFUSED): the server is not willing to answer for this name (an ACL, or it is not a resolver for this zone).', whoText(m, 1, t))),
  ],
  [
    new RegExp(
      String.raw`^No reply from ${who} within 2 s\. Packets between the pod and the service are lost: check kube-proxy's rules for (\S+) \(iptables -t nat -L KUBE-SERVICES -n \| grep (\S+)\), NetworkPolicies that block egress to UDP port (\d+), and that the CoreDNS pods are Running\.$`,
    ),
    (m, t) =>
      t(
        "No reply from {0} within 2 s. Packets between the pod and the service are lost: check kube-proxy's rules for {1} (iptables -t nat -L KUBE-SERVICES -n | grep {2}), NetworkPolicies that block egress to UDP port {3}, and that the CoreDNS pods are Running.",
        whoText(m, 1, t),
        group(m, 5),
        group(m, 6),
        group(m, 7),
      ),
  ],
  [
    new RegExp(String.raw`^No reply from ${who} within 2 s: the pod network between this pod and that CoreDNS pod drops the packets \(CNI, NetworkPolicy\), or CoreDNS is overloaded\.$`),
    (m, t) => t('No reply from {0} within 2 s: the pod network between this pod and that CoreDNS pod drops the packets (CNI, NetworkPolicy), or CoreDNS is overloaded.', whoText(m, 1, t)),
  ],
  [
    new RegExp(String.raw`^[Dd]ig did not get a usable reply from ${who}(?:: (.+))?\.$`),
    (m, t) => (m[5] === undefined ? sentence(t('dig did not get a usable reply from {0}.', whoText(m, 1, t))) : sentence(t('dig did not get a usable reply from {0}: {1}.', whoText(m, 1, t), group(m, 5)))),
  ],
  [
    /^The CoreDNS pods answer when asked directly, but not through the ClusterIP (\S+): the service translation \(kube-proxy rules\) on this node is the suspect\.$/,
    (m, t) => t('The CoreDNS pods answer when asked directly, but not through the ClusterIP {0}: the service translation (kube-proxy rules) on this node is the suspect.', group(m, 1)),
  ],
  [/^No CoreDNS pod answers directly either: suspect the pod network or CoreDNS itself\.$/, (_m, t) => t('No CoreDNS pod answers directly either: suspect the pod network or CoreDNS itself.')],
  [/^The CoreDNS pods disagree; one of them may be unhealthy\. Compare the answers below\.$/, (_m, t) => t('The CoreDNS pods disagree; one of them may be unhealthy. Compare the answers below.')],
  [
    /^The pod's resolv\.conf uses (.+), not the kube-dns ClusterIP (\S+) \(dnsPolicy other than ClusterFirst, or a node-local DNS cache\); programs in the pod ask that server for (\S+)\.$/,
    (m, t) =>
      t(
        "The pod's resolv.conf uses {0}, not the kube-dns ClusterIP {1} (dnsPolicy other than ClusterFirst, or a node-local DNS cache); programs in the pod ask that server for {2}.",
        group(m, 1) === 'no nameserver' ? t('no nameserver') : group(m, 1),
        group(m, 2),
        group(m, 3),
      ),
  ],

  // manual command descriptions (src/diagnostics/manualCommands.ts, veth.ts, dig.ts)
  [/^Open a root shell on node (\S+) \(the node's root filesystem at \/host\)$/, (m, t) => t("Open a root shell on node {0} (the node's root filesystem at /host)", group(m, 1))],
  [/^Find the container's PID \(containerd \/ CRI-O\)$/, (_m, t) => t("Find the container's PID (containerd / CRI-O)")],
  [/^See the pod's IP and node$/, (_m, t) => t("See the pod's IP and node")],
  [/^The pod's interfaces \(eth0@ifN: N is the node-side index\)$/, (_m, t) => t("The pod's interfaces (eth0@ifN: N is the node-side index)")],
  [/^The node interface with index (\d+): the pod's peer$/, (m, t) => t("The node interface with index {0}: the pod's peer", group(m, 1))],
  [/^The node's route to the pod$/, (_m, t) => t("The node's route to the pod")],
  [/^Interfaces on bridge (\S+)$/, (m, t) => t('Interfaces on bridge {0}', group(m, 1))],
  [/^The node's interfaces \(the pod's too\)$/, (_m, t) => t("The node's interfaces (the pod's too)")],
  [/^The cluster DNS service and its ClusterIP$/, (_m, t) => t('The cluster DNS service and its ClusterIP')],
  [/^Its endpoints \(the CoreDNS pods\)$/, (_m, t) => t('Its endpoints (the CoreDNS pods)')],
  [/^Ask kube-dns from inside the pod$/, (_m, t) => t('Ask kube-dns from inside the pod')],
  [/^Ask (\S+) directly$/, (m, t) => t('Ask {0} directly', group(m, 1))],
  [/^The pod's resolv\.conf$/, (_m, t) => t("The pod's resolv.conf")],
];

/**
 * One sentence of the diagnostics core in the user's language, when it has a known shape;
 * otherwise the sentence as it is.
 */
export function localizeCoreSentence(text: string, t: Translate): string {
  for (const [pattern, render] of shapes) {
    const match = pattern.exec(text);
    if (match !== null) {
      return render(match, t);
    }
  }
  return text;
}

/** True when `text` has one of the known shapes (for tests). */
export function isKnownCoreSentence(text: string): boolean {
  return shapes.some(([pattern]) => pattern.test(text));
}

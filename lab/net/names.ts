import { createHash } from 'node:crypto';
import * as path from 'node:path';

/**
 * Names the data plane gives to what it creates. Every name starts with the lab prefix, so
 * the lab only ever touches (and sweeps) its own namespaces, cgroups and /etc/netns entries.
 * The prefix is a parameter (not read from config here) so that a sweep can name another lab.
 */

/** Pod UIDs come from the lab's API server, but are still checked before they become names. */
export function assertUid(uid: string): void {
  if (!/^[0-9a-fA-F-]{12,64}$/.test(uid) || uid.replace(/-/g, '').length < 12) {
    throw new Error(`not a pod UID: ${JSON.stringify(uid)}`);
  }
}

export function assertContainerId(containerId: string): void {
  if (!/^[0-9a-f]{64}$/.test(containerId)) {
    throw new Error(`not a container ID (64 lowercase hex): ${JSON.stringify(containerId)}`);
  }
}

export function underlayNetnsName(prefix: string): string {
  return `${prefix}-underlay`;
}

/** `<prefix>-pod-<first 12 hex of the UID>`. */
export function podNetnsName(prefix: string, uid: string): string {
  assertUid(uid);
  return `${prefix}-pod-${uid.replace(/-/g, '').slice(0, 12).toLowerCase()}`;
}

/**
 * The node side of a pod's veth pair, named like the bridge CNI plugin names it
 * (`veth` + 8 hex), derived from the UID so that it is stable and findable again.
 */
export function podVethName(uid: string): string {
  return `veth${createHash('sha256').update(uid).digest('hex').slice(0, 8)}`;
}

/** The pod sandbox ("pause") container's ID, derived from the UID like a runtime-made ID. */
export function sandboxContainerId(uid: string): string {
  return createHash('sha256').update(`sandbox/${uid}`).digest('hex');
}

/** All netns names that belong to a lab: `<prefix>-…`. */
export function isLabNetns(prefix: string, name: string): boolean {
  return name.startsWith(`${prefix}-`);
}

/** The lab's own top-level cgroup, `<prefix>.slice`, inside the cgroup2 mount. */
export function labCgroupRoot(cgroup2Mount: string, prefix: string): string {
  return path.join(cgroup2Mount, `${prefix}.slice`);
}

/**
 * The kubelet's systemd-driver layout for a pod's slice:
 * `kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid_>.slice`, or
 * `kubepods.slice/kubepods-pod<uid_>.slice` for Guaranteed pods.
 */
export function podCgroupRelative(uid: string, qosClass: string): string {
  assertUid(uid);
  const escapedUid = uid.replace(/-/g, '_');
  const qos = qosClass.toLowerCase();
  if (qos === 'guaranteed') {
    return path.join('kubepods.slice', `kubepods-pod${escapedUid}.slice`);
  }
  const tier = qos === 'burstable' ? 'burstable' : 'besteffort';
  return path.join('kubepods.slice', `kubepods-${tier}.slice`, `kubepods-${tier}-pod${escapedUid}.slice`);
}

/** containerd's scope name for a container under the systemd cgroup driver. */
export function containerScopeName(containerId: string): string {
  assertContainerId(containerId);
  return `cri-containerd-${containerId}.scope`;
}

/** Where the per-node agent (the kube-proxy stand-in) runs. */
export function nodeAgentCgroupRelative(nodeName: string): string {
  return path.join('system.slice', `kube-proxy-${nodeName.replace(/[^a-zA-Z0-9_.-]/g, '_')}.scope`);
}

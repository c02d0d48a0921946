/**
 * Pod Security admission as k8s.io/pod-security-admission does it: the namespace's
 * `pod-security.kubernetes.io/enforce` level decides, the checks run in the upstream order
 * and their reasons and details are joined exactly like `AggregateCheckResult.ForbiddenDetail`.
 */
import type { Container, Namespace, Pod, PodSpec } from './objects';
import type { ApiError } from './status';
import { forbidden } from './status';

export type PodSecurityLevel = 'privileged' | 'baseline' | 'restricted';

interface CheckResult {
  readonly reason: string;
  readonly detail: string;
}

type Check = (spec: PodSpec) => CheckResult | undefined;

function joinQuote(items: readonly string[]): string {
  return items.length === 0 ? '' : `"${items.join('", "')}"`;
}

function pluralize(singular: string, plural: string, count: number): string {
  return count === 1 ? singular : plural;
}

function allContainers(spec: PodSpec): Container[] {
  const ephemeral = Array.isArray(spec.ephemeralContainers) ? (spec.ephemeralContainers as Container[]) : [];
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...ephemeral];
}

function sortedUnique(items: Iterable<string>): string[] {
  return [...new Set(items)].sort();
}

const hostNamespaces: Check = (spec) => {
  const used: string[] = [];
  if (spec.hostNetwork === true) {
    used.push('hostNetwork=true');
  }
  if (spec.hostPID === true) {
    used.push('hostPID=true');
  }
  if (spec.hostIPC === true) {
    used.push('hostIPC=true');
  }
  return used.length > 0 ? { reason: 'host namespaces', detail: used.join(', ') } : undefined;
};

const hostPorts: Check = (spec) => {
  const bad: string[] = [];
  const ports = new Set<string>();
  for (const container of allContainers(spec)) {
    let valid = true;
    for (const port of container.ports ?? []) {
      if (port.hostPort !== undefined && port.hostPort !== 0) {
        valid = false;
        ports.add(String(port.hostPort));
      }
    }
    if (!valid) {
      bad.push(container.name);
    }
  }
  if (bad.length === 0) {
    return undefined;
  }
  const portList = sortedUnique(ports);
  return {
    reason: 'hostPort',
    detail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} ${pluralize('uses', 'use', bad.length)} ${pluralize('hostPort', 'hostPorts', portList.length)} ${portList.join(', ')}`,
  };
};

const privileged: Check = (spec) => {
  const bad = allContainers(spec)
    .filter((container) => container.securityContext?.privileged === true)
    .map((container) => container.name);
  return bad.length > 0
    ? { reason: 'privileged', detail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not set securityContext.privileged=true` }
    : undefined;
};

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);

const capabilitiesBaseline: Check = (spec) => {
  const bad: string[] = [];
  const capabilities = new Set<string>();
  for (const container of allContainers(spec)) {
    let valid = true;
    for (const capability of container.securityContext?.capabilities?.add ?? []) {
      if (!BASELINE_CAPABILITIES.has(capability)) {
        valid = false;
        capabilities.add(capability);
      }
    }
    if (!valid) {
      bad.push(container.name);
    }
  }
  return bad.length > 0
    ? {
        reason: 'non-default capabilities',
        detail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must not include ${joinQuote(sortedUnique(capabilities))} in securityContext.capabilities.add`,
      }
    : undefined;
};

const hostPathVolumes: Check = (spec) => {
  const bad = (spec.volumes ?? []).filter((volume) => volume.hostPath !== undefined && volume.hostPath !== null).map((volume) => volume.name);
  return bad.length > 0 ? { reason: 'hostPath volumes', detail: `${pluralize('volume', 'volumes', bad.length)} ${joinQuote(bad)}` } : undefined;
};

function seccompCheck(isBad: (type: string) => boolean, requireSet: boolean): Check {
  return (spec) => {
    const badSetters: string[] = [];
    const badValues = new Set<string>();
    let podSet = false;
    const podType = spec.securityContext?.seccompProfile?.type;
    if (podType !== undefined) {
      if (isBad(podType)) {
        badSetters.push('pod');
        badValues.add(podType);
      } else {
        podSet = true;
      }
    }
    const explicit: string[] = [];
    const implicit: string[] = [];
    for (const container of allContainers(spec)) {
      const type = container.securityContext?.seccompProfile?.type;
      if (type !== undefined) {
        if (isBad(type)) {
          explicit.push(container.name);
          badValues.add(type);
        }
      } else if (!podSet) {
        implicit.push(container.name);
      }
    }
    if (explicit.length > 0) {
      badSetters.push(`${pluralize('container', 'containers', explicit.length)} ${joinQuote(explicit)}`);
    }
    if (badSetters.length > 0) {
      return { reason: 'seccompProfile', detail: `${badSetters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(sortedUnique(badValues))}` };
    }
    if (requireSet && implicit.length > 0) {
      return {
        reason: 'seccompProfile',
        detail: `pod or ${pluralize('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
      };
    }
    return undefined;
  };
}

const seccompBaseline = seccompCheck((type) => type === 'Unconfined', false);
const seccompRestricted = seccompCheck((type) => type !== 'RuntimeDefault' && type !== 'Localhost', true);

const allowPrivilegeEscalation: Check = (spec) => {
  const bad = allContainers(spec)
    .filter((container) => container.securityContext?.allowPrivilegeEscalation !== false)
    .map((container) => container.name);
  return bad.length > 0
    ? {
        reason: 'allowPrivilegeEscalation != false',
        detail: `${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)} must set securityContext.allowPrivilegeEscalation=false`,
      }
    : undefined;
};

const capabilitiesRestricted: Check = (spec) => {
  const missingDropAll: string[] = [];
  const addingForbidden: string[] = [];
  const forbiddenCapabilities = new Set<string>();
  for (const container of allContainers(spec)) {
    const capabilities = container.securityContext?.capabilities;
    if (capabilities === undefined || capabilities === null) {
      missingDropAll.push(container.name);
      continue;
    }
    if (!(capabilities.drop ?? []).includes('ALL')) {
      missingDropAll.push(container.name);
    }
    let added = false;
    for (const capability of capabilities.add ?? []) {
      if (capability !== 'NET_BIND_SERVICE') {
        added = true;
        forbiddenCapabilities.add(capability);
      }
    }
    if (added) {
      addingForbidden.push(container.name);
    }
  }
  const details: string[] = [];
  if (missingDropAll.length > 0) {
    details.push(`${pluralize('container', 'containers', missingDropAll.length)} ${joinQuote(missingDropAll)} must set securityContext.capabilities.drop=["ALL"]`);
  }
  if (addingForbidden.length > 0) {
    details.push(
      `${pluralize('container', 'containers', addingForbidden.length)} ${joinQuote(addingForbidden)} must not include ${joinQuote(sortedUnique(forbiddenCapabilities))} in securityContext.capabilities.add`,
    );
  }
  return details.length > 0 ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
};

const ALLOWED_RESTRICTED_VOLUMES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret', 'image'];

const restrictedVolumes: Check = (spec) => {
  const badNames: string[] = [];
  const badTypes = new Set<string>();
  for (const volume of spec.volumes ?? []) {
    const sources = Object.keys(volume).filter((key) => key !== 'name');
    if (sources.some((source) => ALLOWED_RESTRICTED_VOLUMES.includes(source))) {
      continue;
    }
    badNames.push(volume.name);
    badTypes.add(sources[0] ?? 'unknown');
  }
  if (badNames.length === 0) {
    return undefined;
  }
  const types = sortedUnique(badTypes);
  return {
    reason: 'restricted volume types',
    detail: `${pluralize('volume', 'volumes', badNames.length)} ${joinQuote(badNames)} ${pluralize('uses', 'use', badNames.length)} restricted volume ${pluralize('type', 'types', types.length)} ${joinQuote(types)}`,
  };
};

const runAsNonRoot: Check = (spec) => {
  const badSetters: string[] = [];
  let podRunAsNonRoot = false;
  const podValue = spec.securityContext?.runAsNonRoot;
  if (podValue !== undefined) {
    if (podValue === false) {
      badSetters.push('pod');
    } else {
      podRunAsNonRoot = true;
    }
  }
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const container of allContainers(spec)) {
    const value = container.securityContext?.runAsNonRoot;
    if (value !== undefined) {
      if (value === false) {
        explicit.push(container.name);
      }
    } else if (!podRunAsNonRoot) {
      implicit.push(container.name);
    }
  }
  if (explicit.length > 0) {
    badSetters.push(`${pluralize('container', 'containers', explicit.length)} ${joinQuote(explicit)}`);
  }
  if (badSetters.length > 0) {
    return { reason: 'runAsNonRoot != true', detail: `${badSetters.join(' and ')} must not set securityContext.runAsNonRoot=false` };
  }
  if (implicit.length > 0) {
    return { reason: 'runAsNonRoot != true', detail: `pod or ${pluralize('container', 'containers', implicit.length)} ${joinQuote(implicit)} must set securityContext.runAsNonRoot=true` };
  }
  return undefined;
};

const runAsUser: Check = (spec) => {
  const badSetters: string[] = [];
  if (spec.securityContext?.runAsUser === 0) {
    badSetters.push('pod');
  }
  const bad = allContainers(spec)
    .filter((container) => container.securityContext?.runAsUser === 0)
    .map((container) => container.name);
  if (bad.length > 0) {
    badSetters.push(`${pluralize('container', 'containers', bad.length)} ${joinQuote(bad)}`);
  }
  return badSetters.length > 0 ? { reason: 'runAsUser=0', detail: `${badSetters.join(' and ')} must not set runAsUser=0` } : undefined;
};

/** Baseline checks that restricted also runs, in registration (file name) order. */
const BASELINE_CHECKS: readonly Check[] = [hostNamespaces, hostPorts, privileged];
/** Baseline checks that a stricter restricted check replaces. */
const OVERLAPPING_BASELINE_CHECKS: readonly Check[] = [capabilitiesBaseline, hostPathVolumes, seccompBaseline];
const RESTRICTED_CHECKS: readonly Check[] = [allowPrivilegeEscalation, capabilitiesRestricted, restrictedVolumes, runAsNonRoot, runAsUser, seccompRestricted];

/** `host namespaces (hostNetwork=true), privileged (container "x" ...)` or undefined when allowed. */
export function podSecurityViolations(level: PodSecurityLevel, spec: PodSpec): string | undefined {
  if (level === 'privileged') {
    return undefined;
  }
  const checks = level === 'baseline' ? [...BASELINE_CHECKS, ...OVERLAPPING_BASELINE_CHECKS] : [...BASELINE_CHECKS, ...RESTRICTED_CHECKS];
  const parts: string[] = [];
  for (const check of checks) {
    const result = check(spec);
    if (result !== undefined) {
      parts.push(result.detail === '' ? result.reason : `${result.reason} (${result.detail})`);
    }
  }
  return parts.length > 0 ? parts.join(', ') : undefined;
}

interface LevelVersion {
  readonly level: PodSecurityLevel;
  readonly version: string;
}

const LEVELS: readonly PodSecurityLevel[] = ['privileged', 'baseline', 'restricted'];

function levelFromLabels(namespace: Namespace, mode: 'enforce' | 'warn' | 'audit'): LevelVersion | undefined {
  const labels = namespace.metadata.labels ?? {};
  const level = labels[`pod-security.kubernetes.io/${mode}`];
  if (level === undefined) {
    return undefined;
  }
  const versionLabel = labels[`pod-security.kubernetes.io/${mode}-version`];
  const version = versionLabel !== undefined && /^(latest|v1\.\d+)$/.test(versionLabel) ? versionLabel : 'latest';
  // An unreadable level fails closed, as the admission plugin does.
  return { level: LEVELS.includes(level as PodSecurityLevel) ? (level as PodSecurityLevel) : 'restricted', version };
}

export interface PodSecurityDecision {
  /** Set when the enforce level rejects the pod: the API's 403. */
  readonly error?: ApiError;
  /** `Warning` header texts for the warn level. */
  readonly warnings: readonly string[];
}

export function admitPod(namespace: Namespace, pod: Pod): PodSecurityDecision {
  const warnings: string[] = [];
  let error: ApiError | undefined;
  const enforce = levelFromLabels(namespace, 'enforce');
  if (enforce !== undefined) {
    const violations = podSecurityViolations(enforce.level, pod.spec);
    if (violations !== undefined) {
      error = forbidden('', 'pods', pod.metadata.name ?? '', `violates PodSecurity "${enforce.level}:${enforce.version}": ${violations}`);
    }
  }
  const warn = levelFromLabels(namespace, 'warn');
  if (warn !== undefined && error === undefined) {
    const violations = podSecurityViolations(warn.level, pod.spec);
    if (violations !== undefined) {
      warnings.push(`would violate PodSecurity "${warn.level}:${warn.version}": ${violations}`);
    }
  }
  return { error, warnings };
}

import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { apiFailure } from '../node/kubeStatus.js';
import { silentLogger } from '../node/logger.js';
import type { Logger } from '../node/logger.js';
import type { DebugPodProgress } from '../node/debugPodManager.js';
import type { NodeRunner } from '../node/nodeRunner.js';

/** What every diagnostic needs: the API, a way to run commands on nodes, a log. */
export interface DiagnosticContext {
  readonly core: CoreV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly runner: NodeRunner;
  readonly logger: Logger;
}

export function createDiagnosticContext(kubeConfig: KubeConfig, runner: NodeRunner, logger: Logger = silentLogger): DiagnosticContext {
  return {
    core: kubeConfig.makeApiClient(CoreV1Api),
    discovery: kubeConfig.makeApiClient(DiscoveryV1Api),
    runner,
    logger,
  };
}

/** Options every diagnostic takes. */
export interface DiagnosticOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: DebugPodProgress) => void;
}

/** A pod named by namespace and name. */
export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

/** The facts about the pod a result is for (cluster text: escape before showing). */
export interface PodSummary {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string | null;
  readonly nodeName: string | null;
  readonly podIP: string | null;
  readonly podIPs: string[];
  readonly hostIP: string | null;
  readonly hostNetwork: boolean;
  readonly phase: string | null;
}

export type DiagnosticErrorCode =
  | 'invalid-input'
  | 'pod-not-found'
  | 'pod-not-running'
  | 'dns-service-not-found'
  | 'api'
  | 'command-failed'
  | 'node-not-found'
  | 'service-not-found'
  | 'tool-missing'
  | 'not-permitted';

export class DiagnosticError extends Error {
  override readonly name = 'DiagnosticError';

  constructor(
    readonly code: DiagnosticErrorCode,
    message: string,
  ) {
    super(message);
  }

  static is(value: unknown, code?: DiagnosticErrorCode): value is DiagnosticError {
    return value instanceof DiagnosticError && (code === undefined || value.code === code);
  }
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** Parses `NS/POD`; throws `invalid-input` when it is not two valid names. */
export function parsePodRef(text: string): PodRef {
  const parts = text.split('/');
  if (parts.length !== 2 || !DNS_LABEL.test(parts[0]) || !DNS_SUBDOMAIN.test(parts[1])) {
    throw new DiagnosticError('invalid-input', `Expected NAMESPACE/POD (lowercase names), got ${JSON.stringify(text)}.`);
  }
  return { namespace: parts[0], name: parts[1] };
}

/** Reads the pod fresh from the API. */
export async function readPod(context: DiagnosticContext, ref: PodRef): Promise<V1Pod> {
  if (!DNS_LABEL.test(ref.namespace) || !DNS_SUBDOMAIN.test(ref.name)) {
    throw new DiagnosticError('invalid-input', `Not a valid pod reference: ${JSON.stringify(`${ref.namespace}/${ref.name}`)}.`);
  }
  try {
    return await context.core.readNamespacedPod({ namespace: ref.namespace, name: ref.name });
  } catch (error) {
    const failure = apiFailure(error);
    if (failure.httpStatus === 404) {
      throw new DiagnosticError('pod-not-found', `Pod ${ref.namespace}/${ref.name} does not exist.`);
    }
    throw new DiagnosticError('api', `Could not read pod ${ref.namespace}/${ref.name}: ${failure.message}`);
  }
}

export function summarizePod(pod: V1Pod): PodSummary {
  const podIPs = (pod.status?.podIPs ?? []).map((item) => item.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '');
  const podIP = pod.status?.podIP ?? podIPs[0] ?? null;
  return {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? null,
    nodeName: pod.spec?.nodeName ?? null,
    podIP,
    podIPs: podIPs.length > 0 ? podIPs : podIP !== null ? [podIP] : [],
    hostIP: pod.status?.hostIP ?? null,
    hostNetwork: pod.spec?.hostNetwork === true,
    phase: pod.status?.phase ?? null,
  };
}

/** Throws unless the pod is on a node and running (has a process whose namespace we can enter). */
export function requireRunningOnNode(pod: V1Pod): string {
  const summary = summarizePod(pod);
  if (summary.nodeName === null || summary.nodeName === '') {
    throw new DiagnosticError('pod-not-running', `Pod ${summary.namespace}/${summary.name} is not scheduled to a node yet.`);
  }
  if (summary.phase !== 'Running') {
    throw new DiagnosticError('pod-not-running', `Pod ${summary.namespace}/${summary.name} is ${summary.phase ?? 'in an unknown phase'}, not Running; it has no network namespace to inspect.`);
  }
  return summary.nodeName;
}

/**
 * Splits the output of a script that marks its sections with `@@kni:NAME@@` lines and ends
 * each with `@@kni:exit=N@@`.
 */
export function splitSections(stdout: string): ScriptSection[] {
  const sections: { name: string; lines: string[]; exitCode: number | null }[] = [];
  let current: { name: string; lines: string[]; exitCode: number | null } | undefined;
  for (const line of stdout.split('\n')) {
    const marker = /^@@kni:(.+)@@$/.exec(line);
    if (marker === null) {
      current?.lines.push(line);
      continue;
    }
    const exit = /^exit=(\d+)$/.exec(marker[1]);
    if (exit !== null) {
      if (current !== undefined) {
        current.exitCode = Number(exit[1]);
      }
      continue;
    }
    current = { name: marker[1], lines: [], exitCode: null };
    sections.push(current);
  }
  return sections.map((section) => ({ name: section.name, text: section.lines.join('\n'), exitCode: section.exitCode }));
}

/** One marked part of a script's output. */
export interface ScriptSection {
  readonly name: string;
  readonly text: string;
  /** The part's exit code; null when the script did not get to print it. */
  readonly exitCode: number | null;
}

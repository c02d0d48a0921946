/**
 * The node layer's English errors, progress lines and consent privileges in the user's
 * language. The errors are made by the core's own functions from the API server's own Status
 * formats (as in test/unit/node/debugPodErrors.test.ts); Russian is looked up in the real
 * l10n/bundle.l10n.ru.json the way `vscode.l10n.t` does (message → translation, then `{n}`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

import { ApiException } from '@kubernetes/client-node';
import type { V1Node, V1Pod } from '@kubernetes/client-node';

import { DiagnosticError } from '../../../src/diagnostics/context.js';
import type { Translate } from '../../../src/features/clusterNodes.js';
import { localizedErrorMessage, localizedPrivileges, localizedProgress, privilegeTranslation } from '../../../src/features/diagnostics/coreText.js';
import { DEBUG_POD_PRIVILEGES, SETTING_IMAGE, SETTING_NAMESPACE, createError, nodeProblem, podStartVerdict } from '../../../src/node/debugPodManager.js';
import type { DebugPodProgress, DebugPodStage } from '../../../src/node/debugPodManager.js';
import { ContainerPidError, DebugPodError, NodeExecError } from '../../../src/node/errors.js';
import { repoRoot } from '../parsers/corpusFiles.js';

function fill(message: string, args: ReadonlyArray<string | number | boolean>): string {
  return message.replace(/\{(\d+)\}/g, (match, position: string) => (Number(position) < args.length ? String(args[Number(position)]) : match));
}

/** English: what `vscode.l10n.t` gives without a translation. */
const english: Translate = (message, ...args) => fill(message, args);

const russianBundle = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'l10n', 'bundle.l10n.ru.json'), 'utf8')) as Record<string, string>;
/** Russian: as `vscode.l10n.t` does with the Russian bundle loaded; records what it was asked. */
const asked: string[] = [];
const russian: Translate = (message, ...args) => {
  asked.push(message);
  return fill(russianBundle[message] ?? message, args);
};

const cyrillic = /[а-яё]/i;

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

const context = { nodeName: 'lab-worker', namespace: 'lab-restricted', image: 'docker.io/nicolaka/netshoot:v0.13' };

/** Checks one error both ways: the facts of the core's message survive, and Russian is Russian. */
function bothWays(error: unknown, facts: readonly string[], errorContext: { pod?: string } = {}): { en: string; ru: string } {
  const en = localizedErrorMessage(error, english, errorContext);
  const ru = localizedErrorMessage(error, russian, errorContext);
  assert.ok(en !== undefined && ru !== undefined, `no translation for ${error instanceof Error ? error.message : String(error)}`);
  assert.match(ru, cyrillic, ru);
  for (const fact of facts) {
    assert.ok(en.includes(fact), `English lost ${JSON.stringify(fact)}: ${en}`);
    assert.ok(ru.includes(fact), `Russian lost ${JSON.stringify(fact)}: ${ru}`);
  }
  return { en, ru };
}

describe('the debug pod errors users meet most, by code and details', () => {
  it('PodSecurity: the namespace, the level, the label and the setting', () => {
    const message =
      'pods "kni-debug-lab-worker-abcde" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true), privileged (container "debugger" must not set securityContext.privileged=true)';
    const error = createError(new ApiException(403, 'Unknown API Status Code!', statusBody(403, 'Forbidden', message), {}), context);
    assert.ok(DebugPodError.is(error, 'pod-security'));
    bothWays(error, ['lab-restricted', 'baseline', 'pod-security.kubernetes.io/enforce=baseline', SETTING_NAMESPACE]);
  });

  it('RBAC Forbidden: the verb, the resource, the namespace and the setting', () => {
    const message = 'pods is forbidden: User "system:serviceaccount:lab-apps:viewer" cannot create resource "pods" in API group "" in the namespace "default"';
    const error = createError(new ApiException(403, 'Unknown API Status Code!', statusBody(403, 'Forbidden', message), {}), { ...context, namespace: 'default' });
    assert.ok(DebugPodError.is(error, 'forbidden'));
    bothWays(error, ['create', 'pods', 'default', SETTING_NAMESPACE]);
  });

  it('unauthorized and a missing namespace', () => {
    bothWays(createError(new ApiException(401, 'Unauthorized', undefined, {}), context), ['401']);
    bothWays(createError(new ApiException(404, 'x', statusBody(404, 'NotFound', 'namespaces "nope" not found'), {}), { ...context, namespace: 'nope' }), ['nope', SETTING_NAMESPACE]);
  });

  it('an image that cannot be pulled: the node, the image, its registry, the kubelet reason and both settings', () => {
    const pod: V1Pod = {
      metadata: { name: 'kni-debug-x', namespace: 'default' },
      spec: { nodeName: 'lab-worker', containers: [] },
      status: { phase: 'Pending', containerStatuses: [{ name: 'debugger', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'pull access denied' } } }] },
    };
    const verdict = podStartVerdict(pod, { ...context, image: 'registry.example.com:5000/tools/netshoot:1' });
    assert.ok(verdict.kind === 'failed' && verdict.error.code === 'image-pull');
    bothWays(verdict.error, ['lab-worker', 'registry.example.com:5000/tools/netshoot:1', 'registry.example.com:5000', 'pull access denied', SETTING_IMAGE, 'kubeNet.debugPod.imagePullSecrets']);
  });

  it('a NotReady node and a Windows node, from the node objects the API returns', () => {
    const node = (labels: Record<string, string>, ready: 'True' | 'False', message?: string): V1Node => ({
      metadata: { name: 'lab-worker', labels },
      status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady', ...(message === undefined ? {} : { message }) }] },
    });
    const notReady = nodeProblem(node({ 'kubernetes.io/os': 'linux' }, 'False', 'container runtime is down'), context);
    assert.ok(DebugPodError.is(notReady, 'node-not-ready'));
    bothWays(notReady, ['lab-worker', 'NotReady', 'container runtime is down', 'kubectl describe node lab-worker']);
    const windows = nodeProblem(node({ 'kubernetes.io/os': 'windows' }, 'True'), context);
    assert.ok(DebugPodError.is(windows, 'windows-node'));
    bothWays(windows, ['lab-worker', 'Windows']);
  });

  it('a debug pod that was not running in time, and one the kubelet refused', () => {
    const timeout = new DebugPodError('timeout', 'The debug pod on node "lab-worker" was not running in time (last state: Pending, ContainerCreating).', { ...context, serverMessage: 'Pending, ContainerCreating' });
    bothWays(timeout, ['lab-worker', 'Pending, ContainerCreating', context.image]);
    const base: V1Pod = { metadata: { name: 'kni-debug-x', namespace: 'default' }, spec: { nodeName: 'lab-worker', containers: [] } };
    const refused = podStartVerdict({ ...base, status: { phase: 'Failed', reason: 'OutOfcpu', message: "Node didn't have enough resource: cpu" } }, context);
    assert.ok(refused.kind === 'failed' && refused.error.code === 'unschedulable');
    bothWays(refused.error, ['lab-worker', 'OutOfcpu']);
  });

  it('exec and diagnostic failures, with the pod the command ran on', () => {
    bothWays(new NodeExecError('forbidden', 'Your Kubernetes user may not run commands in pods …', { namespace: 'kube-net-debug', httpStatus: 403 }), ['kube-net-debug', 'pods/exec']);
    bothWays(new NodeExecError('timeout', 'The command did not finish within 120 s; it was stopped.'), []);
    bothWays(new NodeExecError('closed', 'The connection to the node closed before the command finished.'), []);
    bothWays(new ContainerPidError('no-container-id', 'Pod lab-apps/web-1 has no running container, so it has no process to enter.'), ['lab-apps/web-1'], { pod: 'lab-apps/web-1' });
    bothWays(new DiagnosticError('pod-not-found', 'Pod lab-apps/web-1 does not exist.'), ['lab-apps/web-1'], { pod: 'lab-apps/web-1' });
    bothWays(new DiagnosticError('dns-service-not-found', 'Found no cluster DNS service …'), ['kube-dns']);
  });

  it('leaves what it has no words for to the core (the API server’s own text, unknown errors)', () => {
    const api = createError(new Error('socket hang up'), context);
    assert.ok(DebugPodError.is(api, 'api'));
    assert.equal(localizedErrorMessage(api, russian), undefined);
    assert.equal(localizedErrorMessage(new Error('anything'), russian), undefined);
    assert.equal(localizedErrorMessage(new DiagnosticError('invalid-input', 'Not a DNS name'), russian), undefined);
  });
});

describe('debug pod progress and the consent privileges', () => {
  it('has a line for every stage, in Russian, naming the node', () => {
    const stages: DebugPodStage[] = ['checking-node', 'consent', 'creating', 'scheduling', 'starting', 'running', 'reusing'];
    for (const stage of stages) {
      const progress: DebugPodProgress = { nodeName: 'lab-worker', stage, message: stage === 'starting' ? 'Debug pod on lab-worker: Pending, ContainerCreating' : 'x' };
      const ru = localizedProgress(progress, russian);
      assert.match(ru, cyrillic, `${stage}: ${ru}`);
      if (stage !== 'consent') {
        assert.ok(ru.includes('lab-worker'), `${stage}: ${ru}`);
      }
    }
    const starting = localizedProgress({ nodeName: 'lab-worker', stage: 'starting', message: 'Debug pod on lab-worker: Pending, ContainerCreating' }, russian);
    assert.ok(starting.includes('Pending, ContainerCreating'));
  });

  it('translates every privilege the core lists (a reworded one would stay English)', () => {
    for (const privilege of DEBUG_POD_PRIVILEGES) {
      assert.equal(privilegeTranslation(privilege, english), privilege, `no translation for the core's ${JSON.stringify(privilege)}`);
      assert.match(privilegeTranslation(privilege, russian) ?? '', cyrillic);
    }
    assert.deepEqual(localizedPrivileges(['something new'], russian), ['something new']);
  });

  it('asks only for messages the Russian bundle has', () => {
    const missing = [...new Set(asked)].filter((message) => !(message in russianBundle));
    assert.deepEqual(missing, []);
  });
});

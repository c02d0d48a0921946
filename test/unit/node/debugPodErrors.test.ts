/**
 * How API refusals and pod states become typed errors with advice. The Status texts are the
 * API server's own formats (PodSecurity admission, RBAC authorizer, kubelet reasons).
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { SETTING_IMAGE, SETTING_NAMESPACE, createError, imageRegistry, podStartVerdict } from '../../../src/node/debugPodManager';
import { DebugPodError } from '../../../src/node/errors';
import { exitCodeFromStatus } from '../../../src/node/nodeExec';
import { apiFailure, forbiddenAction, parseStatusBody } from '../../../src/node/kubeStatus';

function statusBody(code: number, reason: string, message: string, details?: object): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) });
}

const context = { nodeName: 'lab-worker', namespace: 'lab-restricted', image: 'docker.io/nicolaka/netshoot:v0.13' };

describe('createError', () => {
  test('PodSecurity rejection names the level, the namespace label and the setting', () => {
    const message =
      'pods "kni-debug-lab-worker-abcde" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true, hostPID=true), privileged (container "debugger" must not set securityContext.privileged=true), hostPath volumes (volume "host-root")';
    const error = createError(new ApiException(403, 'Unknown API Status Code!', statusBody(403, 'Forbidden', message), {}), context);
    assert.ok(DebugPodError.is(error, 'pod-security'));
    assert.equal(error.details.level, 'baseline');
    assert.match(error.message, /lab-restricted/);
    assert.match(error.message, /pod-security\.kubernetes\.io\/enforce=baseline/);
    assert.ok(error.message.includes(SETTING_NAMESPACE));
  });

  test('RBAC Forbidden names the verb and the resource', () => {
    const message = 'pods is forbidden: User "system:serviceaccount:lab-apps:viewer" cannot create resource "pods" in API group "" in the namespace "default"';
    const error = createError(new ApiException(403, 'Unknown API Status Code!', statusBody(403, 'Forbidden', message, { kind: 'pods' }), {}), { ...context, namespace: 'default' });
    assert.ok(DebugPodError.is(error, 'forbidden'));
    assert.equal(error.details.verb, 'create');
    assert.equal(error.details.resource, 'pods');
    assert.match(error.message, /may not create pods in namespace "default"/);
  });

  test('a missing namespace and other failures', () => {
    const missing = createError(new ApiException(404, 'x', statusBody(404, 'NotFound', 'namespaces "nope" not found'), {}), { ...context, namespace: 'nope' });
    assert.ok(DebugPodError.is(missing, 'namespace-not-found'));
    const unauthorized = createError(new ApiException(401, 'Unauthorized', undefined, {}), context);
    assert.ok(DebugPodError.is(unauthorized, 'unauthorized'));
    const other = createError(new Error('socket hang up'), context);
    assert.ok(DebugPodError.is(other, 'api'));
    assert.match(other.message, /socket hang up/);
  });
});

describe('podStartVerdict', () => {
  const base = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'kni-debug-x', namespace: 'default' }, spec: { nodeName: 'lab-worker', containers: [] }, status });
  const container = (state: object) => ({ name: 'debugger', image: context.image, imageID: '', ready: false, restartCount: 0, state });

  test('running', () => {
    assert.equal(podStartVerdict(base({ phase: 'Running', containerStatuses: [container({ running: { startedAt: new Date() } })] }), context).kind, 'running');
  });

  test('image pull failures fail at once with the image, the registry and the setting', () => {
    for (const reason of ['ErrImagePull', 'ImagePullBackOff']) {
      const verdict = podStartVerdict(base({ phase: 'Pending', containerStatuses: [container({ waiting: { reason, message: 'pull access denied' } })] }), { ...context, image: 'registry.example.com:5000/tools/netshoot:1' });
      assert.equal(verdict.kind, 'failed');
      if (verdict.kind === 'failed') {
        assert.equal(verdict.error.code, 'image-pull');
        assert.match(verdict.error.message, /registry\.example\.com:5000\/tools\/netshoot:1/);
        assert.match(verdict.error.message, /registry registry\.example\.com:5000/);
        assert.ok(verdict.error.message.includes(SETTING_IMAGE));
      }
    }
  });

  test('kubelet admission failures are unschedulable; other ends are pod-failed', () => {
    const admission = podStartVerdict(base({ phase: 'Failed', reason: 'OutOfcpu', message: 'Node didn\'t have enough resource: cpu' }), context);
    assert.equal(admission.kind === 'failed' && admission.error.code, 'unschedulable');
    const deadline = podStartVerdict(base({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' }), context);
    assert.equal(deadline.kind === 'failed' && deadline.error.code, 'pod-failed');
    const config = podStartVerdict(base({ phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'CreateContainerConfigError', message: 'secret "x" not found' } })] }), context);
    assert.equal(config.kind === 'failed' && config.error.code, 'pod-failed');
  });

  test('still on its way', () => {
    const pending = podStartVerdict(base({ phase: 'Pending' }), context);
    assert.equal(pending.kind, 'waiting');
    const creating = podStartVerdict(base({ phase: 'Pending', containerStatuses: [container({ waiting: { reason: 'ContainerCreating' } })] }), context);
    assert.equal(creating.kind === 'waiting' && creating.stage, 'starting');
  });
});

describe('imageRegistry', () => {
  test('follows the reference grammar', () => {
    assert.equal(imageRegistry('docker.io/nicolaka/netshoot:v0.13'), 'docker.io');
    assert.equal(imageRegistry('nicolaka/netshoot:v0.13'), 'docker.io');
    assert.equal(imageRegistry('busybox:1.36'), 'docker.io');
    assert.equal(imageRegistry('registry.k8s.io/pause:3.10'), 'registry.k8s.io');
    assert.equal(imageRegistry('localhost/x'), 'localhost');
    assert.equal(imageRegistry('myhost:5000/x'), 'myhost:5000');
  });
});

describe('kube Status helpers', () => {
  test('reads Status bodies from strings, buffers and objects, and nothing else', () => {
    const text = statusBody(403, 'Forbidden', 'nope');
    assert.equal(parseStatusBody(text)?.reason, 'Forbidden');
    assert.equal(parseStatusBody(Buffer.from(text))?.message, 'nope');
    assert.equal(parseStatusBody('<html>'), undefined);
    assert.equal(parseStatusBody({ kind: 'Pod', message: 'x' }), undefined);
    assert.equal(apiFailure(new ApiException(403, 'x', text, {})).httpStatus, 403);
    assert.deepEqual(forbiddenAction('pods "x" is forbidden: User "u" cannot create resource "pods/exec" in API group "" in the namespace "ns"'), {
      verb: 'create',
      resource: 'pods/exec',
      group: '',
      namespace: 'ns',
    });
  });

  test('exec exit codes from channel-3 statuses', () => {
    assert.deepEqual(exitCodeFromStatus({ status: 'Success' }), { exitCode: 0 });
    assert.deepEqual(exitCodeFromStatus({ status: 'Failure', reason: 'NonZeroExitCode', message: 'command terminated with non-zero exit code: exit status 3', details: { causes: [{ reason: 'ExitCode', message: '3' }] } }), { exitCode: 3 });
    const failed = exitCodeFromStatus({ status: 'Failure', reason: 'InternalError', message: 'executable file not found in $PATH' });
    assert.equal(failed.exitCode, undefined);
    assert.match(failed.message ?? '', /executable file not found/);
  });
});

import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEBUG_CONTAINER_NAME,
  DEFAULT_DEBUG_IMAGE,
  DEFAULT_LIFETIME_SECONDS,
  EXPIRES_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NODE_LABEL,
  OWNER_LABEL,
  buildDebugPod,
  clampLifetime,
  debugPodExpiry,
  debugPodName,
  isValidLabelValue,
  isValidOwnerId,
  labelSafeValue,
  newOwnerId,
} from '../../../src/node/debugPodSpec';
import { AVAILABLE_IMAGES } from '../../../lab/config';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('buildDebugPod', () => {
  const now = new Date('2025-01-02T03:04:05.000Z');
  const pod = buildDebugPod({ nodeName: 'lab-worker', ownerId: 'abc123', now, nameSuffix: 'x7k2q', lifetimeSeconds: 600 });

  test('is shaped like kubectl debug node --profile=sysadmin', () => {
    const spec = pod.spec!;
    assert.equal(spec.nodeName, 'lab-worker');
    assert.equal(spec.hostNetwork, true);
    assert.equal(spec.hostPID, true);
    assert.equal(spec.hostIPC, false);
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.activeDeadlineSeconds, 600);
    assert.equal(spec.terminationGracePeriodSeconds, 0);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.deepEqual(spec.tolerations, [{ operator: 'Exists' }]);
    assert.equal(spec.containers.length, 1);
    const container = spec.containers[0];
    assert.equal(container.name, DEBUG_CONTAINER_NAME);
    assert.equal(container.image, DEFAULT_DEBUG_IMAGE);
    assert.deepEqual(container.command, ['sleep', '600']);
    assert.equal(container.securityContext?.privileged, true);
    const mount = container.volumeMounts?.find((item) => item.mountPath === '/host');
    assert.ok(mount, 'host root is mounted at /host');
    const volume = spec.volumes?.find((item) => item.name === mount.name);
    assert.equal(volume?.hostPath?.path, '/');
    assert.equal(spec.imagePullSecrets, undefined);
  });

  test('carries the managed-by, owner and node labels and the expiry', () => {
    assert.equal(pod.metadata?.labels?.[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
    assert.equal(pod.metadata?.labels?.[OWNER_LABEL], 'abc123');
    assert.equal(pod.metadata?.labels?.[NODE_LABEL], 'lab-worker');
    assert.equal(pod.metadata?.annotations?.[EXPIRES_ANNOTATION], '2025-01-02T03:14:05.000Z');
    assert.equal(debugPodExpiry(pod)?.getTime(), now.getTime() + 600_000);
    assert.equal(pod.metadata?.namespace, 'default');
    assert.equal(pod.metadata?.name, 'kni-debug-lab-worker-x7k2q');
  });

  test('takes image, namespace, pull secrets and clamps the lifetime', () => {
    const custom = buildDebugPod({ nodeName: 'n1', ownerId: 'o', image: ' registry.example/netshoot:1 ', namespace: 'tools', imagePullSecrets: ['regcred', ' '], lifetimeSeconds: 5 });
    assert.equal(custom.spec?.containers[0].image, 'registry.example/netshoot:1');
    assert.equal(custom.metadata?.namespace, 'tools');
    assert.deepEqual(custom.spec?.imagePullSecrets, [{ name: 'regcred' }]);
    assert.equal(custom.spec?.activeDeadlineSeconds, clampLifetime(5));
    assert.ok(clampLifetime(5) >= 60);
    assert.equal(clampLifetime(Number.NaN), DEFAULT_LIFETIME_SECONDS);
  });

  test('the default image is one the lab can pull', () => {
    assert.ok(AVAILABLE_IMAGES.includes(DEFAULT_DEBUG_IMAGE));
  });

  test('rejects an owner id that is not a label value', () => {
    assert.throws(() => buildDebugPod({ nodeName: 'n', ownerId: 'bad owner!' }), RangeError);
    assert.throws(() => buildDebugPod({ nodeName: '', ownerId: 'o' }), RangeError);
    assert.ok(isValidOwnerId(newOwnerId()));
    assert.ok(isValidOwnerId(`cli-${newOwnerId()}`));
  });
});

describe('debugPodName', () => {
  const odd = [
    'lab-worker',
    'ip-10-0-0-1.eu-west-1.compute.internal',
    'UPPER_case.Node',
    'a'.repeat(253),
    '---',
    'node-with-trailing-dash-' + 'x'.repeat(40) + '-',
  ];
  for (const nodeName of odd) {
    test(`is a DNS-1123 label of at most 63 characters for ${JSON.stringify(nodeName.slice(0, 40))}`, () => {
      const name = debugPodName(nodeName);
      assert.ok(name.length <= 63, name);
      assert.match(name, DNS1123_LABEL);
      assert.ok(name.startsWith('kni-debug-'));
    });
  }

  test('random suffixes differ', () => {
    const names = new Set(Array.from({ length: 20 }, () => debugPodName('n')));
    assert.ok(names.size > 15);
  });
});

describe('labelSafeValue', () => {
  test('keeps valid values and makes long or odd ones valid and distinct', () => {
    assert.equal(labelSafeValue('lab-worker'), 'lab-worker');
    const long1 = labelSafeValue(`${'a'.repeat(70)}.one`);
    const long2 = labelSafeValue(`${'a'.repeat(70)}.two`);
    assert.ok(isValidLabelValue(long1));
    assert.ok(isValidLabelValue(long2));
    assert.notEqual(long1, long2);
    assert.ok(isValidLabelValue(labelSafeValue('-weird name-')));
  });
});

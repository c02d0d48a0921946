import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ContainerPidInfo } from '../../../src/parsers/container';
import { containerIdFromStatus, parseCrictlInspect, parseProcCgroup } from '../../../src/parsers/container';
import { appendLine, assertExpectationsMatchFiles, assertReadOrExplained, assertWellFormed, corpusFiles, problemLines } from './corpusFiles';
import type { CorpusEntry } from './corpusFiles';

function isCgroup(entry: CorpusEntry): boolean {
  return /\/cgroup\b/.test(entry.header.command ?? '');
}

const expectations: Record<string, (info: ContainerPidInfo, problems: number[]) => void> = {
  'adoptium638-cgroupv1-cgroupfs-kubepods-burstable-pod-uid-cid.txt': (info, problems) => {
    assert.deepEqual(info.containerIds, ['fbaa59723cd1f05d310e6f48b5d49a9d9e9552b7fde2205d0a2e2b5f60ec21ba']);
    assert.equal(info.podUid, 'd7874f44-eee0-423c-83c9-f246075bdde1');
    assert.equal(info.pid, null);
    assert.deepEqual(problems, []);
  },
  'calicoctl1634-k8s1.6-docker-inspect-format-State-Pid-pause.txt': (info, problems) => {
    assert.equal(info.pid, 3542);
    assert.deepEqual(problems, []);
  },
  'containerd-cri452-2017-crictl-inspects-info-pid-state-running-old-format.txt': (info, problems) => {
    assert.equal(info.pid, 9475);
    assert.deepEqual(info.containerIds, ['0f8c455422a0546eb425a4fa305d5b7a0072109dff38fb94213a468ec27e680e']);
    assert.equal(info.podUid, 'hdishd83djaidwnduwk28bcsb');
    assert.deepEqual(problems, [0], 'the cut-short JSON is reported once');
  },
  'containerd7731-crictl-inspectp-info-pid-runc-v2.txt': (info, problems) => {
    assert.equal(info.pid, 48095);
    assert.deepEqual(info.containerIds, ['8f9ec14c8c927fc516444052653a936fbd22d74d04b016e2809ddd2eb75a6cfa']);
    assert.equal(info.podUid, 'hdishd83djaidwnduwk28bcsb');
    assert.deepEqual(problems, [0]);
  },
  'flyingfishfuse-kubeadm-docker-describe-pod-containerID-docker.txt': (info, problems) => {
    assert.deepEqual(info.containers, [
      { runtime: 'docker', id: 'b14dda1dced0f106de8e098df2ba89cbf0f1a81cf7c30addd9ceb2d4599f5b5c' },
      { runtime: 'docker', id: '75c7a77c4822342e208f169d8d77529ca324d27db8c6a56c2ccd9b8ad4f3608e' },
      { runtime: 'docker', id: 'a0ff67149dafa97f7c56791e10402d7f28a69bb8b1cbec39e276f14323165e98' },
    ]);
    assert.equal(info.pid, null);
    assert.deepEqual(problems, []);
  },
  'inquisitivefrog-1.28-describe-pod-kube-proxy-containerID-containerd.txt': (info, problems) => {
    assert.deepEqual(info.containers, [{ runtime: 'containerd', id: '68261f5136b984e8935b7876f97886e8d4a5233120a1a62663f23e7a09f28290' }]);
    assert.deepEqual(problems, []);
  },
  'minikube-docker-inspect-grep-pid.txt': (info, problems) => {
    assert.equal(info.pid, 4200);
    assert.deepEqual(problems, []);
  },
  'moby20224-k8s-pause-docker-inspect-format-State-Pid.txt': (info, problems) => {
    assert.equal(info.pid, 4011);
    assert.deepEqual(problems, []);
  },
  'peass-ng124-2021-proc-self-cgroup-v1-rdma-root-besteffort.txt': (info, problems) => {
    assert.deepEqual(info.containerIds, ['c3cd4e0a7993a1c155cc1bdd3326c7b1e260226d0c2c79e3e48dbc360543c768']);
    assert.equal(info.podUid, '4eede96e-e976-4573-bc90-68dfe2516d3b');
    assert.deepEqual(problems, []);
  },
  'pharos440-centos-proc-pid-cgroup-v1-host-process-no-container-negative.txt': (info, problems) => {
    assert.deepEqual(info.containerIds, [], 'a host process has no container');
    assert.equal(info.podUid, null);
    assert.deepEqual(problems, []);
  },
};

describe('container-pid corpus', () => {
  test('every expectation names a corpus file', () => {
    assertExpectationsMatchFiles('container-pid', Object.keys(expectations));
  });
  for (const entry of corpusFiles('container-pid')) {
    test(entry.name, () => {
      const result = isCgroup(entry) ? parseProcCgroup(entry.body) : parseCrictlInspect(entry.body);
      assertWellFormed(result, entry.body);
      const info = result.value;
      assert.equal(info.containerIds.length, info.containers.length);
      for (const id of info.containerIds) {
        assert.match(id, /^[0-9a-f]{12,128}$/);
      }
      if (!isCgroup(entry)) {
        assertReadOrExplained(info.pid !== null || info.containerIds.length > 0, result);
      }
      expectations[entry.name]?.(info, problemLines(result));
    });
  }
});

const ID = 'a3f1c2b4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80';
const UID = '6b1c2f0e-8f3a-4c1d-9e2b-7a6d5c4b3a21';

describe('parseProcCgroup layouts', () => {
  test('cgroup v2, systemd driver, containerd', () => {
    const text = `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice/cri-containerd-${ID}.scope\n`;
    const result = parseProcCgroup(text);
    assert.deepEqual(result.value.containers, [{ runtime: 'containerd', id: ID }]);
    assert.equal(result.value.podUid, UID);
    assert.deepEqual(result.problems, []);
  });
  test('cgroup v2, systemd driver, CRI-O (conmon scope is not the container)', () => {
    const text = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/crio-conmon-${ID}.scope\n0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${UID.replace(/-/g, '_')}.slice/crio-${ID}.scope\n`;
    const result = parseProcCgroup(text);
    assert.deepEqual(result.value.containers, [{ runtime: 'cri-o', id: ID }]);
    assert.equal(result.value.podUid, UID);
  });
  test('cgroup v1, systemd driver, docker', () => {
    const text = `11:memory:/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/docker-${ID}.scope\n1:name=systemd:/kubepods.slice/kubepods-pod${UID.replace(/-/g, '_')}.slice/docker-${ID}.scope\n`;
    const result = parseProcCgroup(text);
    assert.deepEqual(result.value.containers, [{ runtime: 'docker', id: ID }]);
    assert.equal(result.value.podUid, UID);
  });
  test('containerd with systemd driver writing slice:prefix:id', () => {
    const text = `0::/system.slice/containerd.service/kubepods-besteffort-pod${UID.replace(/-/g, '_')}.slice:cri-containerd:${ID}\n`;
    const result = parseProcCgroup(text);
    assert.deepEqual(result.value.containers, [{ runtime: 'containerd', id: ID }]);
    assert.equal(result.value.podUid, UID);
  });
  test('a garbage line is a problem, the rest is still read', () => {
    const entry = corpusFiles('container-pid').find((item) => item.name.startsWith('adoptium638'));
    assert.ok(entry);
    const { text, lineNumber } = appendLine(entry.body, 'no colons here');
    const result = parseProcCgroup(text);
    assert.deepEqual(result.value, parseProcCgroup(entry.body).value);
    assert.deepEqual(problemLines(result), [lineNumber]);
  });
});

describe('parseCrictlInspect forms', () => {
  test('complete crictl inspect JSON of a container: pod UID from its label', () => {
    const text = JSON.stringify({ status: { id: ID, labels: { 'io.kubernetes.pod.uid': UID } }, info: { pid: 4242 } }, null, 2);
    const result = parseCrictlInspect(text);
    assert.deepEqual(result.value, { containerIds: [ID], podUid: UID, pid: 4242, containers: [{ runtime: null, id: ID }] });
    assert.deepEqual(result.problems, []);
  });
  test('docker inspect JSON array', () => {
    const text = JSON.stringify([{ Id: ID, State: { Pid: 77 }, Config: { Labels: { 'io.kubernetes.pod.uid': UID } } }]);
    const result = parseCrictlInspect(text);
    assert.equal(result.value.pid, 77);
    assert.equal(result.value.podUid, UID);
    assert.deepEqual(result.value.containers, [{ runtime: 'docker', id: ID }]);
  });
  test('PID 0 (exited container) is null with a problem', () => {
    const result = parseCrictlInspect('0\n');
    assert.equal(result.value.pid, null);
    assert.deepEqual(problemLines(result), [1]);
  });
  test('a garbage line after a PID is a problem', () => {
    const result = parseCrictlInspect('4011\nError: No such object\n');
    assert.equal(result.value.pid, 4011);
    assert.deepEqual(problemLines(result), [2]);
  });
});

describe('containerIdFromStatus', () => {
  test('the three runtimes', () => {
    assert.deepEqual(containerIdFromStatus(`containerd://${ID}`), { runtime: 'containerd', id: ID });
    assert.deepEqual(containerIdFromStatus(`cri-o://${ID}`), { runtime: 'cri-o', id: ID });
    assert.deepEqual(containerIdFromStatus(`docker://${ID.toUpperCase()}`), { runtime: 'docker', id: ID });
  });
  test('another scheme is passed through', () => {
    assert.deepEqual(containerIdFromStatus(`cri-dockerd://${ID}`), { runtime: 'cri-dockerd', id: ID });
  });
  test('invalid input gives null and never throws', () => {
    for (const value of ['', 'containerd://', 'containerd://abc', `containerd://${ID}; rm -rf /`, `containerd://../../${ID}`, ID, 'docker://zzzzzzzzzzzzzzzz', null, undefined, 42, {}]) {
      assert.equal(containerIdFromStatus(value as unknown as string), null, String(value));
    }
  });
});

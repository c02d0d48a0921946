/**
 * The PID lookup script, run for real by dash and (when installed) BusyBox sh against
 * prepared node trees: a host root with state files and a /proc with real cgroup files
 * (from the shared corpus and the lab's own naming).
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { CONTAINER_PID_SCRIPT, containerPidArgv, containerTarget, parsePidScriptOutput } from '../../../src/node/containerPid';
import { ContainerPidError } from '../../../src/node/errors';
import { containerScopeName, podCgroupRelative } from '../../../lab/net/names';
import { corpusFiles } from '../parsers/corpusFiles';

const ID = 'c3cd4e0a7993a1c155cc1bdd3326c7b1e260226d0c2c79e3e48dbc360543c768';
const OTHER = 'fbaa59723cd1f05d310e6f48b5d49a9d9e9552b7fde2205d0a2e2b5f60ec21ba';

const shells = ['/bin/sh', ...(fs.existsSync('/usr/bin/busybox') || fs.existsSync('/bin/busybox') ? ['busybox'] : [])];

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kni-pid-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
function tree(): { host: string; proc: string } {
  counter += 1;
  const base = path.join(scratch, `t${counter}`);
  const host = path.join(base, 'host');
  const proc = path.join(base, 'proc');
  fs.mkdirSync(host, { recursive: true });
  fs.mkdirSync(proc, { recursive: true });
  return { host, proc };
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function addProcess(proc: string, pid: number, ppid: number, cgroup: string, comm = 'pause'): void {
  write(path.join(proc, String(pid), 'cgroup'), cgroup);
  write(path.join(proc, String(pid), 'stat'), `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 0 0 0 0\n`);
}

function run(shell: string, id: string, roots: { host: string; proc: string }): { status: number | null; stdout: string } {
  const argv = containerPidArgv(id, { hostRoot: roots.host, procRoot: roots.proc });
  assert.equal(argv[0], 'sh');
  const [command, ...rest] = shell === 'busybox' ? ['busybox', 'sh', ...argv.slice(1)] : [shell, ...argv.slice(1)];
  const result = spawnSync(command, rest, { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout };
}

function corpusCgroup(name: string): string {
  const entry = corpusFiles('container-pid').find((item) => item.name === name);
  assert.ok(entry, name);
  return entry.body;
}

describe('containerPidArgv', () => {
  test('keeps the ID out of the script text', () => {
    const argv = containerPidArgv(ID);
    assert.deepEqual(argv.slice(0, 2), ['sh', '-c']);
    assert.equal(argv[2], CONTAINER_PID_SCRIPT);
    assert.ok(!CONTAINER_PID_SCRIPT.includes(ID));
    assert.deepEqual(argv.slice(3), ['kni-container-pid', ID, '/host', '/proc']);
  });

  test('refuses anything but hex', () => {
    for (const bad of ['', 'abc', `${ID};reboot`, ID.toUpperCase(), `$(id)${ID}`, `${ID} x`]) {
      assert.throws(() => containerPidArgv(bad), ContainerPidError, bad);
    }
    assert.throws(() => containerPidArgv(ID, { hostRoot: '/host;x', procRoot: '/proc' }), RangeError);
  });
});

for (const shell of shells) {
  describe(`the PID script under ${shell}`, () => {
    test('reads containerd init.pid', () => {
      const roots = tree();
      addProcess(roots.proc, 4242, 1, corpusCgroup('peass-ng124-2021-proc-self-cgroup-v1-rdma-root-besteffort.txt'));
      write(path.join(roots.host, 'run/containerd/io.containerd.runtime.v2.task/k8s.io', ID, 'init.pid'), '4242');
      const { status, stdout } = run(shell, ID, roots);
      assert.equal(status, 0, stdout);
      const output = parsePidScriptOutput(stdout);
      assert.equal(output.method, 'state-file');
      assert.equal(output.pid, 4242);
      assert.match(output.source ?? '', /init\.pid$/);
      assert.deepEqual(output.attempts, ['crictl: no-host-root']);
    });

    test('reads runc state.json (CRI-O) and docker config.v2.json', () => {
      const roots = tree();
      fs.mkdirSync(path.join(roots.host, 'usr'));
      addProcess(roots.proc, 777, 1, '0::/\n');
      write(path.join(roots.host, 'run/runc', ID, 'state.json'), `{"id":"${ID}","init_process_pid":777,"init_process_start":123,"created":"2024"}`);
      let output = parsePidScriptOutput(run(shell, ID, roots).stdout);
      assert.equal(output.method, 'state-file');
      assert.equal(output.pid, 777);
      assert.equal(output.attempts[0], 'crictl: no-pid', 'crictl was tried in the host root and gave nothing');

      const docker = tree();
      addProcess(docker.proc, 31337, 1, '0::/\n');
      write(path.join(docker.host, 'var/lib/docker/containers', ID, 'config.v2.json'), `{"State":{"Running":true,"Paused":false,"Pid":31337,"ExitCode":0},"ID":"${ID}"}`);
      output = parsePidScriptOutput(run(shell, ID, docker).stdout);
      assert.equal(output.pid, 31337);
    });

    test('skips a state file whose PID is not alive and falls through to the cgroup scan', () => {
      const roots = tree();
      write(path.join(roots.host, 'run/containerd/io.containerd.runtime.v2.task/k8s.io', ID, 'init.pid'), '999999');
      addProcess(roots.proc, 1200, 1, corpusCgroup('peass-ng124-2021-proc-self-cgroup-v1-rdma-root-besteffort.txt'));
      const output = parsePidScriptOutput(run(shell, ID, roots).stdout);
      assert.equal(output.method, 'cgroup-scan');
      assert.equal(output.pid, 1200);
      assert.ok(output.cgroupText?.includes(ID));
    });

    test('scans cgroup v1 cgroupfs and picks the process whose parent is outside the container', () => {
      const roots = tree();
      const v1 = corpusCgroup('peass-ng124-2021-proc-self-cgroup-v1-rdma-root-besteffort.txt');
      addProcess(roots.proc, 50, 1, '0::/init.scope\n', 'systemd');
      addProcess(roots.proc, 9000, 50, v1, 'containerd-shim');
      addProcess(roots.proc, 100, 9000, v1, 'app');
      addProcess(roots.proc, 20000, 100, v1, 'child');
      addProcess(roots.proc, 300, 1, corpusCgroup('adoptium638-cgroupv1-cgroupfs-kubepods-burstable-pod-uid-cid.txt'));
      // 9000's cgroup also names the ID (a shim in the container's cgroup): the container's
      // first process is the one whose parent does not share the cgroup.
      const output = parsePidScriptOutput(run(shell, ID, roots).stdout);
      assert.equal(output.method, 'cgroup-scan');
      assert.equal(output.pid, 9000);
      const other = parsePidScriptOutput(run(shell, OTHER, roots).stdout);
      assert.equal(other.pid, 300);
    });

    test('scans cgroup v2 with the systemd driver layout (cri-containerd-<id>.scope)', () => {
      const roots = tree();
      const uid = '4eede96e-e976-4573-bc90-68dfe2516d3b';
      const line = `0::/${podCgroupRelative(uid, 'BestEffort')}/${containerScopeName(ID)}\n`;
      addProcess(roots.proc, 1, 0, '0::/init.scope\n', 'systemd');
      addProcess(roots.proc, 5150, 1, line);
      const output = parsePidScriptOutput(run(shell, ID, roots).stdout);
      assert.equal(output.method, 'cgroup-scan');
      assert.equal(output.pid, 5150);
      assert.equal(output.cgroupText?.trim(), line.trim());
    });

    test('says not-found with every attempt when nothing names the ID', () => {
      const roots = tree();
      addProcess(roots.proc, 1, 0, '0::/init.scope\n', 'systemd');
      const { status, stdout } = run(shell, ID, roots);
      assert.equal(status, 3);
      const output = parsePidScriptOutput(stdout);
      assert.equal(output.pid, null);
      assert.equal(output.error, 'not-found');
      assert.deepEqual(output.attempts, ['crictl: no-host-root', 'state-file: none', 'cgroup-scan: none']);
    });

    test('refuses a non-hex ID inside the script too', () => {
      const roots = tree();
      const argv = containerPidArgv(ID, { hostRoot: roots.host, procRoot: roots.proc });
      argv[4] = `${ID}/../../x`;
      const [command, ...rest] = shell === 'busybox' ? ['busybox', 'sh', ...argv.slice(1)] : [shell, ...argv.slice(1)];
      const result = spawnSync(command, rest, { encoding: 'utf8' });
      assert.equal(result.status, 2);
      assert.equal(parsePidScriptOutput(result.stdout).error, 'invalid-id');
    });
  });
}

test('the script runs against this machine\'s real /proc without error (and finds no such ID)', () => {
  const argv = containerPidArgv('0123456789abcdef'.repeat(4), { hostRoot: path.join(scratch, 'no-host'), procRoot: '/proc' });
  const result = spawnSync('/bin/sh', argv.slice(1), { encoding: 'utf8' });
  assert.equal(result.status, 3, result.stderr);
  assert.equal(parsePidScriptOutput(result.stdout).error, 'not-found');
});

describe('parsePidScriptOutput', () => {
  test('reads method, pid, source and attempts; ignores garbage', () => {
    const output = parsePidScriptOutput('attempt=crictl result=no-pid\nnoise\nmethod=state-file pid=12 source=/host/run/x/init.pid\n');
    assert.equal(output.method, 'state-file');
    assert.equal(output.pid, 12);
    assert.equal(output.source, '/host/run/x/init.pid');
    assert.deepEqual(output.attempts, ['crictl: no-pid']);
    assert.equal(parsePidScriptOutput('method=evil pid=1').pid, null);
    assert.equal(parsePidScriptOutput('method=crictl pid=0').pid, null);
    assert.equal(parsePidScriptOutput('method=crictl pid=12x').pid, null);
    assert.equal(parsePidScriptOutput('').method, null);
  });
});

describe('containerTarget', () => {
  const pod = (statuses: NonNullable<V1Pod['status']>['containerStatuses'], nodeName = 'n1'): V1Pod => ({
    metadata: { namespace: 'ns', name: 'p' },
    spec: { nodeName: nodeName === '' ? undefined : nodeName, containers: [] },
    status: { containerStatuses: statuses },
  });
  const running = { running: {} };

  test('takes the runtime and ID from containerID', () => {
    for (const [raw, runtime] of [
      [`containerd://${ID}`, 'containerd'],
      [`cri-o://${ID}`, 'cri-o'],
      [`docker://${ID}`, 'docker'],
    ] as const) {
      const target = containerTarget(pod([{ name: 'app', image: 'x', imageID: '', ready: true, restartCount: 0, containerID: raw, state: running }]));
      assert.equal(target.containerId, ID);
      assert.equal(target.runtime, runtime);
      assert.equal(target.nodeName, 'n1');
    }
  });

  test('refuses hostile or missing IDs, unscheduled pods and unknown containers', () => {
    const base = { image: 'x', imageID: '', ready: true, restartCount: 0, state: running };
    assert.throws(() => containerTarget(pod([{ ...base, name: 'a', containerID: `containerd://${ID}$(reboot)` }])), (error) => ContainerPidError.is(error, 'invalid-container-id'));
    assert.throws(() => containerTarget(pod([{ ...base, name: 'a', containerID: '' }])), (error) => ContainerPidError.is(error, 'no-container-id'));
    assert.throws(() => containerTarget(pod([{ ...base, name: 'a', containerID: `containerd://${ID}` }], '')), (error) => ContainerPidError.is(error, 'pod-not-scheduled'));
    assert.throws(() => containerTarget(pod([{ ...base, name: 'a', containerID: `containerd://${ID}` }]), 'b'), (error) => ContainerPidError.is(error, 'container-not-found'));
    assert.throws(() => containerTarget(pod([{ ...base, name: 'a', containerID: `containerd://${ID}`, state: { waiting: { reason: 'CrashLoopBackOff' } } }])), (error) => ContainerPidError.is(error, 'no-container-id'));
  });
});

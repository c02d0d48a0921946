import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseKernelLog } from '../../../src/parsers/kernelLog';
import { problemLines } from './corpusFiles';

describe('parseKernelLog', () => {
  test('dmesg, dmesg -T, dmesg -x, journalctl -k short and ISO; table-full lines flagged', () => {
    const text = [
      '[    0.000000] kvm-clock: Using msrs 4b564d01 and 4b564d00',
      '[  123.456789] nf_conntrack: nf_conntrack: table full, dropping packet',
      '[Mon Jan  1 00:00:00 2024] nf_conntrack: table full, dropping packet',
      'Nov 26 22:00:01 node-1 kernel: nf_conntrack: table full, dropping packet',
      '2024-01-01T00:00:00+0000 node-1 kernel: eth0: link up',
      '-- No entries --',
      'kern  :warn  : [    5.100000] nf_conntrack: table full, dropping packet',
      '[ 9.1] ip_conntrack: table full, dropping packet.',
      '[ 9.2] net_ratelimit: 1234 callbacks suppressed',
    ].join('\n');
    const result = parseKernelLog(text);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.value.map((entry) => entry.conntrackTableFull), [false, true, true, true, false, true, true, false]);
    assert.equal(result.value[0].timestamp, '0.000000');
    assert.equal(result.value[0].message, 'kvm-clock: Using msrs 4b564d01 and 4b564d00');
    assert.equal(result.value[2].timestamp, 'Mon Jan  1 00:00:00 2024');
    assert.equal(result.value[3].host, 'node-1');
    assert.equal(result.value[3].timestamp, 'Nov 26 22:00:01');
    assert.equal(result.value[4].timestamp, '2024-01-01T00:00:00+0000');
    assert.equal(result.value[5].facility, 'kern');
    assert.equal(result.value[5].level, 'warn');
  });
  test('lines that are not log lines are problems', () => {
    const result = parseKernelLog('[ 1.0] ok\n%%% 12\n');
    assert.deepEqual(problemLines(result), [2]);
  });
});

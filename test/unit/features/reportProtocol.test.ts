import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  copyableTexts,
  isHostToWebviewMessage,
  isReport,
  isReportWebviewState,
  isWebviewToHostMessage,
  maxCopyLength,
} from '../../../src/protocol/report.js';
import type { Report, ReportLabels } from '../../../src/protocol/report.js';

const report: Report = {
  title: 'veth of shop/web-1',
  subtitle: 'node-a',
  sections: [
    { kind: 'keyValue', heading: 'Pod side', items: [{ key: 'interface', value: 'eth0@if12', emphasis: 'good' }, { key: 'mtu', value: '1500' }] },
    { kind: 'table', heading: 'Interfaces', columns: ['name', 'state'], rows: [['eth0', 'UP'], ['net1']] },
    { kind: 'commands', heading: 'By hand', commands: ['nsenter -t 4242 -n ip addr', "ip -o link | grep '^12:'"] },
    { kind: 'notice', level: 'warning', text: 'hostNetwork pod: no veth of its own' },
    { kind: 'code', heading: 'resolv.conf', text: 'nameserver 198.18.128.2\nsearch shop.svc.cluster.local' },
  ],
};

const labels: ReportLabels = { copy: 'Копировать', copyCommand: 'Копировать команду', copyAllCommands: 'Копировать все команды', copied: 'Скопировано' };

describe('report protocol guards', () => {
  it('accepts a well-formed report and the messages carrying it', () => {
    assert.ok(isReport(report));
    assert.ok(isHostToWebviewMessage({ type: 'render', report, labels, language: 'ru' }));
    assert.ok(isHostToWebviewMessage({ type: 'render', report, labels, language: 'zh-cn' }));
    assert.ok(isReportWebviewState({ report }));
    assert.ok(isReportWebviewState({ report, labels, language: 'en' }));
  });

  it('needs the webview labels and a plain language tag with every report', () => {
    assert.equal(isHostToWebviewMessage({ type: 'render', report }), false);
    assert.equal(isHostToWebviewMessage({ type: 'render', report, labels: { ...labels, copied: 1 }, language: 'ru' }), false);
    assert.equal(isHostToWebviewMessage({ type: 'render', report, labels, language: 'ru" onload="x' }), false);
    assert.equal(isReportWebviewState({ report, labels: { copy: 'Copy' } }), false);
  });

  it('rejects malformed reports', () => {
    const broken: unknown[] = [
      null,
      { title: 1, sections: [] },
      { title: 't', sections: {} },
      { title: 't', sections: [{ kind: 'html', heading: 'x', text: '<b>' }] },
      { title: 't', sections: [{ kind: 'keyValue', heading: 'h', items: [{ key: 'k', value: 3 }] }] },
      { title: 't', sections: [{ kind: 'keyValue', heading: 'h', items: [{ key: 'k', value: 'v', emphasis: 'blink' }] }] },
      { title: 't', sections: [{ kind: 'table', heading: 'h', columns: ['a'], rows: [[1]] }] },
      { title: 't', sections: [{ kind: 'notice', level: 'fatal', text: 'x' }] },
      { title: 't', subtitle: 5, sections: [] },
    ];
    for (const value of broken) {
      assert.equal(isReport(value), false, JSON.stringify(value));
    }
    assert.equal(isHostToWebviewMessage({ type: 'render', report: { title: 't' } }), false);
    assert.equal(isReportWebviewState(undefined), false);
  });

  it('accepts only known webview messages', () => {
    assert.ok(isWebviewToHostMessage({ type: 'ready' }));
    assert.ok(isWebviewToHostMessage({ type: 'copy', text: 'ip addr' }));
    assert.equal(isWebviewToHostMessage({ type: 'copy', text: 42 }), false);
    assert.equal(isWebviewToHostMessage({ type: 'copy', text: 'x'.repeat(maxCopyLength + 1) }), false);
    assert.equal(isWebviewToHostMessage({ type: 'run', command: 'rm -rf /' }), false);
    assert.equal(isWebviewToHostMessage('ready'), false);
  });

  it('lists what may be copied: each command, all commands, each code block', () => {
    assert.deepEqual(
      [...copyableTexts(report)].sort(),
      [
        "ip -o link | grep '^12:'",
        'nameserver 198.18.128.2\nsearch shop.svc.cluster.local',
        "nsenter -t 4242 -n ip addr\nip -o link | grep '^12:'",
        'nsenter -t 4242 -n ip addr',
      ].sort(),
    );
  });
});

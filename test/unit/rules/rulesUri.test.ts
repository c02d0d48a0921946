import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isRulesBackend, languageOfBackend, rulesDocumentPath, safeNodeName, safeTitle } from '../../../src/features/rules/rulesUri.js';

describe('rules document names', () => {
  it('name the node and the backend, with the language\'s extension', () => {
    assert.equal(rulesDocumentPath({ node: 'lab-worker', backend: 'iptables-nft' }), '/lab-worker/lab-worker iptables-save (nft).iptables');
    assert.equal(rulesDocumentPath({ node: 'lab-worker', backend: 'iptables-legacy' }), '/lab-worker/lab-worker iptables-save (legacy).iptables');
    assert.equal(rulesDocumentPath({ node: 'lab-worker', backend: 'nftables' }), '/lab-worker/lab-worker nft list ruleset.nft');
    assert.equal(rulesDocumentPath({ node: 'n1', backend: 'nftables', title: 'nft list table ip kube-proxy' }), '/n1/n1 nft list table ip kube-proxy.nft');
    assert.equal(languageOfBackend('iptables-legacy'), 'iptables');
    assert.equal(languageOfBackend('nftables'), 'nftables');
    assert.ok(isRulesBackend('iptables-nft') && !isRulesBackend('ipvs') && !isRulesBackend(undefined));
  });

  it('keep hostile node names and titles to one safe path segment', () => {
    for (const node of ['../../etc/passwd', 'a/b', 'a\\b', '..', '.', '', 'x\u202Egnp', 'n\nnewline', 'x'.repeat(400), '%2e%2e', 'a?b#c']) {
      const path = rulesDocumentPath({ node, backend: 'iptables-nft' });
      const segments = path.split('/');
      assert.equal(segments.length, 3, `${JSON.stringify(node)} → ${path}`);
      assert.ok(segments[1].length > 0 && segments[1].length <= 253);
      assert.match(segments[1], /^[A-Za-z0-9._-]+$/);
      assert.ok(!/^\.+$/.test(segments[1]), 'never . or ..');
      assert.match(segments[2], /^[A-Za-z0-9._ ()-]+$/);
    }
    assert.equal(safeNodeName('kind-worker2.example.com'), 'kind-worker2.example.com');
    assert.equal(safeTitle('nft list table ip kube-proxy; rm -rf /'), 'nft list table ip kube-proxy_ rm -rf _');
  });
});

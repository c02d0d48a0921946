import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { collectServicePorts, endpointChainName, serviceChainName, servicePortNameString } from '../../../lab/net/kubeProxyRules.js';
import { formatProbability, formatShare, hoverMarkdown } from '../../../src/features/rules/rulesHover.js';
import { buildRulesIndex } from '../../../src/features/rules/rulesIndex.js';
import type { RulesIndex } from '../../../src/features/rules/rulesIndex.js';
import { fixtureServices, fixtureSlices } from './fixtures/capture.js';
import { linesOf, readFixture, unescapeMarkdown } from './dumps.js';

/** The hover of the first place a chain is named as a jump target (else anywhere), read as plain text. */
function hoverOfChain(index: RulesIndex, text: string, chain: string): string {
  const lines = linesOf(text);
  let line = lines.findIndex((candidate) => candidate.includes(`-j ${chain}`) || candidate.includes(`jump ${chain}`) || candidate.includes(`goto ${chain}`));
  if (line === -1) {
    line = lines.findIndex((candidate) => candidate.includes(chain));
  }
  assert.ok(line !== -1, `${chain} is in the dump`);
  const target = index.resolve(line, lines[line].indexOf(chain) + 2, lines[line]);
  assert.ok(target !== null, `${chain} resolves`);
  const markdown = hoverMarkdown(index, target);
  assert.ok(markdown !== null, `${chain} has a hover`);
  return unescapeMarkdown(markdown);
}

const ports = collectServicePorts(fixtureServices, fixtureSlices, () => undefined, '198.18.0.0/15');

describe('hover: every service port of the captured kube-proxy dumps', () => {
  for (const fixture of ['kube-proxy-iptables-nft.iptables', 'kube-proxy-iptables-legacy.iptables']) {
    it(`${fixture}: KUBE-SVC hovers name the service port, its ClusterIP and every endpoint; KUBE-SEP hovers their own endpoint`, () => {
      const text = readFixture(fixture);
      const index = buildRulesIndex(text, 'iptables');
      let checked = 0;
      for (const port of ports) {
        const name = servicePortNameString(port.namespace, port.name, port.portName);
        if (port.endpoints.length === 0) {
          // kube-proxy writes a REJECT rule instead of a KUBE-SVC chain.
          assert.ok(!text.includes(serviceChainName(name, port.protocol)));
          continue;
        }
        const hover = hoverOfChain(index, text, serviceChainName(name, port.protocol));
        assert.ok(hover.includes(`${name} (${port.protocol})`), hover);
        assert.ok(hover.includes(`ClusterIP: ${port.clusterIP}:${port.port}`), hover);
        for (const endpoint of port.endpoints) {
          assert.ok(hover.includes(`${endpoint.ip}:${endpoint.port}`), `${name}: ${endpoint.ip}`);
          const sep = endpointChainName(name, port.protocol, `${endpoint.ip}:${endpoint.port}`);
          const sepHover = hoverOfChain(index, text, sep);
          assert.ok(sepHover.includes(`Endpoint ${endpoint.ip}:${endpoint.port}`), sepHover);
          assert.ok(sepHover.includes(name));
          assert.ok(sepHover.includes(`${formatShare(1 / port.endpoints.length)} of new connections`), sepHover);
        }
        if (port.sessionAffinityClientIP) {
          assert.ok(hover.includes('Session affinity: ClientIP'));
        }
        if (port.nodePort !== 0) {
          assert.ok(hover.includes(`NodePorts: ${port.nodePort}`), hover);
        }
        for (const address of [...port.externalIPs, ...port.loadBalancerIPs]) {
          assert.ok(hover.includes(address), `${name}: external ${address}`);
        }
        checked++;
      }
      assert.ok(checked >= 5);
    });
  }

  it('kube-proxy-nftables-mode.nft: service-, external- and endpoint- chains name the service port and endpoint', () => {
    const text = readFixture('kube-proxy-nftables-mode.nft');
    const index = buildRulesIndex(text, 'nftables');
    const chains = index.tables[0].chains.map((chain) => chain.name);
    const serviceChains = chains.filter((chain) => chain.startsWith('service-'));
    assert.ok(serviceChains.length >= 2);
    for (const chain of serviceChains) {
      const [, namespace, name, protocol, portName] = /^service-[A-Z0-9]+-([^/]+)\/([^/]+)\/([^/]+)\/(.*)$/.exec(chain) ?? [];
      const port = ports.find((candidate) => candidate.namespace === namespace && candidate.name === name && candidate.protocol === protocol && candidate.portName === portName);
      assert.ok(port !== undefined, chain);
      const hover = hoverOfChain(index, text, chain);
      assert.ok(hover.includes(`ClusterIP: ${port.clusterIP}:${port.port}`), hover);
      for (const endpoint of port.endpoints) {
        assert.ok(hover.includes(`${endpoint.ip}:${endpoint.port}`), `${chain}: ${endpoint.ip}`);
      }
    }
    for (const chain of chains.filter((candidate) => candidate.startsWith('endpoint-'))) {
      const address = /__(.+)\/(\d+)$/.exec(chain);
      assert.ok(address !== null);
      assert.ok(hoverOfChain(index, text, chain).includes(`Endpoint ${address[1]}:${address[2]}`));
    }
    const external = chains.find((chain) => chain.startsWith('external-'));
    assert.ok(external !== undefined);
    assert.match(hoverOfChain(index, text, external), /external chain[\s\S]*Service port demo\/web:http/);
  });
});

describe('hover: dump text is escaped', () => {
  // A dump anyone who can create services or write rules could shape: comments, DNAT targets
  // and chain names carrying Markdown links, HTML, code spans and theme icons.
  const hostile = [
    '*nat',
    ':KUBE-SERVICES - [0:0]',
    ':KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]',
    ':KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]',
    ':[pwn](command:workbench.action.terminal.new) - [0:0]',
    '-A KUBE-SERVICES -d 10.96.0.5/32 -p tcp -m comment --comment "evil/svc:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-AAAAAAAAAAAAAAAA',
    '-A KUBE-SVC-AAAAAAAAAAAAAAAA -m comment --comment "evil/svc:http -> 10.0.0.1:80" -j KUBE-SEP-BBBBBBBBBBBBBBBB',
    '-A KUBE-SEP-BBBBBBBBBBBBBBBB -p tcp -m comment --comment "<img src=x onerror=alert(1)> $(zap) `code`" -m tcp -j DNAT --to-destination [x](command:evil)<b>',
    '-A [pwn](command:workbench.action.terminal.new) -j KUBE-SVC-AAAAAAAAAAAAAAAA',
    'COMMIT',
  ].join('\n');

  it('no link, HTML, code span or icon survives; the text still reads the same', () => {
    const index = buildRulesIndex(hostile, 'iptables');
    const lines = linesOf(hostile);
    const seen: string[] = [];
    for (let line = 0; line < lines.length; line++) {
      for (const occurrence of index.occurrencesOnLine(line)) {
        const target = index.resolve(line, occurrence.start, lines[line]);
        const markdown = target === null ? null : hoverMarkdown(index, target);
        if (markdown === null) {
          continue;
        }
        // Every ASCII punctuation character from the dump is escaped; ours are `**`, `- ` and `·`.
        const withoutOurs = markdown.replace(/\*\*/g, '').replace(/^- /gm, '');
        assert.doesNotMatch(withoutOurs.replace(/\\[!-/:-@[-`{-~]/g, ''), /[[\]()<>`$]/, markdown);
        seen.push(unescapeMarkdown(markdown));
      }
    }
    const all = seen.join('\n');
    assert.ok(all.includes('[x](command:evil)<b>'), 'the DNAT target is shown, as text');
    assert.ok(all.includes('[pwn](command:workbench.action.terminal.new)'), 'the chain name is shown, as text');
  });

  it('formats probabilities as kube-proxy writes them and shares as percentages', () => {
    assert.equal(formatProbability(0.33333333349), '0.33333333349');
    assert.equal(formatProbability(1 / 3), '0.33333333333');
    assert.equal(formatProbability(0.5), '0.5');
    assert.equal(formatShare(1 / 3), '33.3%');
    assert.equal(formatShare(1), '100%');
  });
});

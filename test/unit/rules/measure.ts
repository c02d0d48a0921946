/**
 * Measures the rules index on generated kube-proxy dumps of about 100,000 lines (not a test:
 * numbers vary with the machine). Run: `node out-<name>/test/unit/rules/measure.js`.
 *
 * For each dump: splitting into lines, the parser alone, the whole index built in one go,
 * built in steps on this thread (longest step = longest time the thread is held), and built
 * in the worker thread (the most this thread was held, seen as the lag of a 5 ms timer).
 */
import { parseIptablesSave } from '../../../src/parsers/iptablesSave.js';
import { parseNft } from '../../../src/parsers/nft.js';
import { RulesIndexBuilder } from '../../../src/features/rules/indexBuilder.js';
import { buildRulesIndexAsync, buildRulesIndexData } from '../../../src/features/rules/rulesIndex.js';
import type { RulesLanguageId } from '../../../src/features/rules/rulesIndex.js';
import { generateKubeProxyIptablesSave, generateKubeProxyNft } from '../parsers/generators.js';

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(run: () => void, rounds = 5): number {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    run();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

/** Runs `work` while a 5 ms interval timer notes how late it fires: the longest the thread was held. */
async function withLag<T>(work: () => Promise<T>): Promise<{ value: T; lag: number; milliseconds: number }> {
  let lag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 5);
    last = now;
  }, 5);
  const started = performance.now();
  try {
    const value = await work();
    return { value, lag, milliseconds: performance.now() - started };
  } finally {
    clearInterval(timer);
  }
}

async function measure(label: string, text: string, language: RulesLanguageId): Promise<void> {
  const lineCount = text.split('\n').length;
  const split = time(() => text.split('\n'));
  const parse = time(() => (language === 'nftables' ? parseNft(text) : parseIptablesSave(text)));
  const whole = time(() => buildRulesIndexData(text, language));
  const steps: number[] = [];
  const stepwise = await withLag(() => buildRulesIndexAsync(text, language, { onStep: (milliseconds) => steps.push(milliseconds) }));
  const builder = new RulesIndexBuilder({ threshold: 0 });
  try {
    await builder.build(text, language); // start the worker once
    const worker = await withLag(() => builder.build(text, language));
    const chains = stepwise.value?.tables.reduce((sum, table) => sum + table.chains.length, 0) ?? 0;
    console.log(
      [
        `${label}: ${lineCount} lines, ${(text.length / 1e6).toFixed(1)} MB, ${chains} chains`,
        `  split into lines      ${split.toFixed(0)} ms`,
        `  parse                 ${parse.toFixed(0)} ms`,
        `  index, in one go      ${whole.toFixed(0)} ms (parse included)`,
        `  index, in steps       ${stepwise.milliseconds.toFixed(0)} ms, ${steps.length} steps, longest ${Math.max(...steps).toFixed(0)} ms (timer lag ${stepwise.lag.toFixed(0)} ms)`,
        `  index, in the worker  ${worker.milliseconds.toFixed(0)} ms, this thread held at most ${worker.lag.toFixed(0)} ms`,
      ].join('\n'),
    );
  } finally {
    builder.dispose();
  }
}

async function main(): Promise<void> {
  await measure('iptables-save (kube-proxy)', generateKubeProxyIptablesSave(100_000).text, 'iptables');
  await measure('nft list table ip kube-proxy', generateKubeProxyNft(9_000).text, 'nftables');
}

if (require.main === module) {
  void main();
}

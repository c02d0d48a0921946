/**
 * `npm run bench`: the figures the product is designed for (100,000-line iptables dumps,
 * 262,144 conntrack entries, 10,000 pods), each printed as a ratio against a baseline measured
 * in the same run on the same input, so the numbers compare across machines and loads.
 *
 * The baseline of a parser is the least any parser must do with that input: split it into
 * lines and look at each line once. The baseline of the tree's index is one deep copy of the
 * same objects (what receiving them from the API costs at the least).
 *
 * Last, when code-server is installed: the extension's activation in a real VS Code, from the
 * activation event to the tree's first rows, against the first open of the built-in Extensions
 * view in the same session (see activation.ts).
 */
import type { V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { performance } from 'node:perf_hooks';
import { ClusterIndex } from '../../src/kube/clusterIndex';
import { measureActivation } from './activation';
import { parseConntrack, parseIptablesSave, parseNft } from '../../src/parsers';
import { generateConntrackListing, generateKubeProxyIptablesSave, generateKubeProxyNft } from '../unit/parsers/generators';

interface Figure {
  name: string;
  size: string;
  measure: () => unknown;
  baseline: () => unknown;
}

const RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function time(work: () => unknown): number {
  const start = performance.now();
  const result = work();
  const elapsed = performance.now() - start;
  if (result === undefined) {
    throw new Error('a benchmark step must return its result, so that it cannot be optimised away');
  }
  return elapsed;
}

/** Alternates measured and baseline runs so that both see the same machine state. */
function run(figure: Figure): { measured: number; baseline: number } {
  const measured: number[] = [];
  const baseline: number[] = [];
  time(figure.measure);
  time(figure.baseline);
  for (let i = 0; i < RUNS; i++) {
    measured.push(time(figure.measure));
    baseline.push(time(figure.baseline));
  }
  return { measured: median(measured), baseline: median(baseline) };
}

function lineScan(text: string): number {
  let count = 0;
  for (const line of text.split('\n')) {
    if (line.length > 0 && line.charCodeAt(0) !== 35) {
      count++;
    }
  }
  return count;
}

function clusterObjects(namespaceCount: number, podCount: number, serviceCount: number): { namespaces: V1Namespace[]; pods: V1Pod[]; services: V1Service[] } {
  const namespaces: V1Namespace[] = [];
  for (let i = 0; i < namespaceCount; i++) {
    namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${i}`, uid: `ns-${i}`, resourceVersion: String(i) }, status: { phase: 'Active' } });
  }
  const pods: V1Pod[] = [];
  for (let i = 0; i < podCount; i++) {
    pods.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `app-${i}-7d9f8c6b5-x${i % 97}`, namespace: `team-${i % namespaceCount}`, uid: `pod-${i}`, labels: { app: `app-${i % 300}` }, resourceVersion: String(i) },
      spec: { nodeName: `node-${i % 50}`, containers: [{ name: 'app', image: 'registry.example/app:1.0', ports: [{ containerPort: 8080, name: 'http' }] }] },
      status: {
        phase: 'Running',
        podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
        hostIP: `192.0.2.${i % 50}`,
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'app', image: 'registry.example/app:1.0', imageID: '', ready: true, restartCount: 0, containerID: `containerd://${i.toString(16).padStart(64, '0')}` }],
      },
    });
  }
  const services: V1Service[] = [];
  for (let i = 0; i < serviceCount; i++) {
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: `team-${i % namespaceCount}`, uid: `svc-${i}`, resourceVersion: String(i) },
      spec: { type: 'ClusterIP', clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], selector: { app: `app-${i % 300}` } },
    });
  }
  return { namespaces, pods, services };
}

async function main(): Promise<void> {
  const dump = generateKubeProxyIptablesSave(100_000);
  const conntrack = generateConntrackListing(262_144);
  const nft = generateKubeProxyNft(5_000);
  const cluster = clusterObjects(500, 10_000, 3_000);

  const figures: Figure[] = [
    {
      name: 'parse iptables-save',
      size: `${dump.lineCount.toLocaleString('en')} lines, ${dump.services.length.toLocaleString('en')} services`,
      measure: () => parseIptablesSave(dump.text),
      baseline: () => lineScan(dump.text),
    },
    {
      name: 'parse conntrack -L',
      size: `${conntrack.entryCount.toLocaleString('en')} entries`,
      measure: () => parseConntrack(conntrack.text),
      baseline: () => lineScan(conntrack.text),
    },
    {
      name: 'parse nft list table ip kube-proxy',
      size: `${nft.text.split('\n').length.toLocaleString('en')} lines`,
      measure: () => parseNft(nft.text),
      baseline: () => lineScan(nft.text),
    },
    {
      name: 'tree index: load and sort every namespace',
      size: '500 namespaces, 10,000 pods, 3,000 services',
      measure: () => {
        const index = new ClusterIndex();
        for (const namespace of cluster.namespaces) {
          index.upsert('namespaces', namespace);
        }
        for (const pod of cluster.pods) {
          index.upsert('pods', pod);
        }
        for (const service of cluster.services) {
          index.upsert('services', service);
        }
        let rows = 0;
        for (const name of index.namespaceNames()) {
          rows += index.pods(name).length + index.services(name).length;
        }
        return rows;
      },
      baseline: () => JSON.parse(JSON.stringify(cluster)),
    },
  ];

  process.stdout.write(`kube-net-inspector benchmarks (median of ${RUNS} runs, Node ${process.version})\n`);
  for (const figure of figures) {
    const { measured, baseline } = run(figure);
    const ratio = measured / baseline;
    process.stdout.write(`${figure.name} [${figure.size}]: ${ratio.toFixed(2)}x baseline (${measured.toFixed(1)} ms vs ${baseline.toFixed(1)} ms)\n`);
  }

  // In a real VS Code: optional, it needs code-server, Chromium and the built extension.
  const activation = await measureActivation();
  process.stdout.write('skipped' in activation ? `activation in code-server: skipped: ${activation.skipped}\n` : `${activation.line}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

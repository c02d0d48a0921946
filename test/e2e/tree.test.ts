/**
 * The "Kubernetes Network" tree in a real VS Code (code-server) in a real Chromium, against the
 * lab: it shows the lab's pods with their real IPs, and follows pods created and deleted
 * through the API without being refreshed.
 *
 * Needs the lab (`npm run lab -- up`; `npm test` brings it up and sets KNI_LAB_KUBECONFIG) and
 * the built extension (`npm run build`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { VsCodeSession, findRepoRoot, formatRows, poll } from './harness';
import type { TreeRow } from './harness';

const NAMESPACE = 'lab-apps';
const CONTAINER_TITLE = 'Kubernetes Network';
/** Label of the pods this test creates, so a later run can remove what a killed run left. */
const CREATED_BY = { 'app.kubernetes.io/created-by': 'kni-e2e' };
/** How long the tree may take to follow a change in the cluster. */
const FOLLOW_TIMEOUT_MS = 60_000;

/** Resolves a `%key%` manifest string through package.nls.json. */
function localized(value: string, nls: Record<string, string>): string {
  const match = /^%(.+)%$/.exec(value);
  return match ? (nls[match[1]] ?? value) : value;
}

/**
 * The tree view the container "Kubernetes Network" holds, read from the extension's own
 * manifest so that the test follows the contribution rather than repeating it.
 */
function treeViewName(): string {
  const root = findRepoRoot();
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const nlsFile = path.join(root, 'package.nls.json');
  const nls: Record<string, string> = fs.existsSync(nlsFile) ? JSON.parse(fs.readFileSync(nlsFile, 'utf8')) : {};
  const containers: Array<{ id: string; title: string }> = manifest.contributes?.viewsContainers?.activitybar ?? [];
  const container = containers.find((each) => localized(each.title, nls) === CONTAINER_TITLE);
  assert.ok(container, `package.json contributes no activity-bar container titled "${CONTAINER_TITLE}"`);
  const views: Array<{ id: string; name: string; type?: string }> = manifest.contributes?.views?.[container.id] ?? [];
  const tree = views.find((view) => view.type === undefined || view.type === 'tree');
  assert.ok(tree, `the "${CONTAINER_TITLE}" container has no tree view`);
  return localized(tree.name, nls);
}

/** The IP as a whole token of `text` (198.18.1.5 must not match 198.18.1.50). */
function showsIp(text: string, ip: string): boolean {
  return new RegExp(`(^|[^\\d.])${ip.replace(/\./g, '\\.')}($|[^\\d.])`).test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function rowText(row: TreeRow): string {
  return `${row.label} ${row.description}`;
}

async function removeLeftoverPods(api: CoreV1Api): Promise<void> {
  const selector = Object.entries(CREATED_BY).map(([key, value]) => `${key}=${value}`).join(',');
  const leftovers = await api.listNamespacedPod({ namespace: NAMESPACE, labelSelector: selector });
  for (const pod of leftovers.items) {
    await api.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: NAMESPACE, gracePeriodSeconds: 0 }).catch(() => undefined);
  }
}

test('the tree shows the lab pods with their IPs and follows pods created and deleted through the API', { timeout: 10 * 60_000 }, async (t) => {
  const kubeconfig = process.env.KNI_LAB_KUBECONFIG;
  assert.ok(
    kubeconfig && fs.existsSync(kubeconfig),
    'KNI_LAB_KUBECONFIG is not set to a kubeconfig file: start the lab with `npm run lab -- up` and set KNI_LAB_KUBECONFIG to the path it prints (npm test does both)',
  );
  const started = Date.now();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  await removeLeftoverPods(api);

  const labPods = (await api.listNamespacedPod({ namespace: NAMESPACE })).items.filter((pod) => pod.status?.podIP);
  assert.ok(labPods.length > 0, `the lab has no pods with an IP in ${NAMESPACE}`);
  const viewName = treeViewName();

  const session = await VsCodeSession.start({ name: 'tree', kubeconfig });
  t.diagnostic(`code-server: install ${session.timings.installSeconds.toFixed(1)} s, listen ${session.timings.listenSeconds.toFixed(1)} s, first workbench paint ${session.timings.firstPaintSeconds.toFixed(1)} s`);
  let createdPod: string | undefined;
  try {
    await session.openView(CONTAINER_TITLE);

    // The namespace sits under the current context's row when the tree has one ("context: lab"),
    // and its pods under a "Pods" folder when it groups them.
    const contextName = kc.getCurrentContext();
    const contextRow = new RegExp(`(^|: )${escapeRegExp(contextName)}$`);
    const rows = await session.waitForRows(viewName, (current) => current.length > 0, `any row in view "${viewName}"`);
    const pathToNamespace = rows.some((row) => row.level === 1 && contextRow.test(row.label)) ? [contextRow, NAMESPACE] : [NAMESPACE];
    const namespaceRow = await session.expand(viewName, pathToNamespace);
    const podsFolder = /^Pods\b/;
    const hasPodsFolder = VsCodeSession.childrenOf(await session.treeItems(viewName), namespaceRow).some((row) => row.level === namespaceRow.level + 1 && podsFolder.test(row.label) && row.expanded !== undefined);
    const podsPath = hasPodsFolder ? [...pathToNamespace, podsFolder] : pathToNamespace;
    if (hasPodsFolder) {
      await session.expand(viewName, podsPath);
    }
    const podsUnder = (current: TreeRow[]): TreeRow[] => {
      const parent = VsCodeSession.findPath(current, podsPath);
      return parent ? VsCodeSession.childrenOf(current, parent) : [];
    };

    // Every lab pod with its real IP, as the API reports it.
    const expected = labPods.map((pod) => ({ name: pod.metadata!.name!, ip: pod.status!.podIP! }));
    await session.waitForRows(
      viewName,
      (current) => expected.every(({ name, ip }) => podsUnder(current).some((row) => row.label === name && showsIp(rowText(row), ip))),
      `the pods of ${NAMESPACE} with their IPs: ${expected.map(({ name, ip }) => `${name} ${ip}`).join(', ')}`,
    );
    t.diagnostic(`tree shows the ${expected.length} lab pods with their IPs:`);
    formatRows(podsUnder(await session.treeItems(viewName))).split('\n').forEach((line) => t.diagnostic(line));
    await session.resizeSidebar(560);
    await session.screenshot('tree');

    // A pod created through the API appears by itself, then shows the IP the lab gives it.
    const nodes = (await api.listNode()).items.filter((node) => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'));
    assert.ok(nodes.length > 0, 'the lab has no Ready node');
    createdPod = `e2e-${process.pid}-${Date.now().toString(36)}`;
    const body: V1Pod = {
      metadata: { name: createdPod, namespace: NAMESPACE, labels: { ...CREATED_BY } },
      spec: {
        nodeName: nodes[nodes.length - 1].metadata!.name!,
        containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'] }],
        terminationGracePeriodSeconds: 0,
        // Bounded even if this test is killed before it deletes the pod.
        activeDeadlineSeconds: 600,
      },
    };
    await api.createNamespacedPod({ namespace: NAMESPACE, body });
    const name = createdPod;
    await session.waitForRows(viewName, (current) => podsUnder(current).some((row) => row.label === name), `the new pod ${name} to appear in the tree`, FOLLOW_TIMEOUT_MS);
    const createdIp = await poll(
      async () => (await api.readNamespacedPod({ name, namespace: NAMESPACE })).status?.podIP || undefined,
      FOLLOW_TIMEOUT_MS,
      `the lab to give pod ${name} an IP`,
    );
    await session.waitForRows(
      viewName,
      (current) => podsUnder(current).some((row) => row.label === name && showsIp(rowText(row), createdIp)),
      `the new pod ${name} to show its IP ${createdIp}`,
      FOLLOW_TIMEOUT_MS,
    );
    await session.screenshot('tree-pod-added');

    // Deleted through the API, it disappears by itself.
    await api.deleteNamespacedPod({ name, namespace: NAMESPACE, gracePeriodSeconds: 0 });
    createdPod = undefined;
    await session.waitForRows(viewName, (current) => !podsUnder(current).some((row) => row.label === name), `the deleted pod ${name} to leave the tree`, FOLLOW_TIMEOUT_MS);
    // The lab's own pods are still listed after the change.
    const after = podsUnder(await session.treeItems(viewName));
    for (const { name: labPod } of expected) {
      assert.ok(after.some((row) => row.label === labPod), `pod ${labPod} vanished from the tree:\n${formatRows(after)}`);
    }
    t.diagnostic(`e2e tree test took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    await session.screenshot('tree-failure').catch(() => undefined);
    const logs = session.collectLogs();
    const extensionLog = session.extensionLog().slice(-6000);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n(logs in ${logs})\n${extensionLog}`, { cause: error });
  } finally {
    if (createdPod) {
      await api.deleteNamespacedPod({ name: createdPod, namespace: NAMESPACE, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
    await session.dispose();
  }
});

/**
 * Legacy (unaggregated) discovery documents: `/api`, `/apis`, `/api/v1`, `/apis/<group>` and
 * `/apis/<group>/<version>`. Clients that ask for aggregated discovery get these as plain
 * `application/json` and fall back to reading them, as against an older server.
 */
import { RESOURCES, SUBRESOURCES, apiVersionOf } from './resources';
import type { ResourceInfo } from './resources';

/** Groups served besides the core group, with resources that are not stored objects. */
const VIRTUAL_GROUPS: readonly { group: string; version: string; resources: Record<string, unknown>[] }[] = [
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resources: [
      { name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] },
      { name: 'selfsubjectrulesreviews', singularName: 'selfsubjectrulesreview', namespaced: false, kind: 'SelfSubjectRulesReview', verbs: ['create'] },
    ],
  },
  {
    group: 'authentication.k8s.io',
    version: 'v1',
    resources: [{ name: 'selfsubjectreviews', singularName: 'selfsubjectreview', namespaced: false, kind: 'SelfSubjectReview', verbs: ['create'] }],
  },
];

function resourceEntry(info: ResourceInfo): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    name: info.name,
    singularName: info.singularName,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: info.verbs,
  };
  if (info.shortNames.length > 0) {
    entry.shortNames = info.shortNames;
  }
  if (info.categories !== undefined) {
    entry.categories = info.categories;
  }
  return entry;
}

function groupVersions(): Map<string, { group: string; version: string; resources: Record<string, unknown>[] }> {
  const versions = new Map<string, { group: string; version: string; resources: Record<string, unknown>[] }>();
  for (const info of Object.values(RESOURCES)) {
    const key = apiVersionOf(info);
    let entry = versions.get(key);
    if (entry === undefined) {
      entry = { group: info.group, version: info.version, resources: [] };
      versions.set(key, entry);
    }
    entry.resources.push(resourceEntry(info));
    for (const sub of SUBRESOURCES.filter((item) => item.parent === info.name)) {
      entry.resources.push({ name: `${info.name}/${sub.name}`, singularName: '', namespaced: info.namespaced, kind: sub.kind, verbs: sub.verbs });
    }
  }
  for (const virtual of VIRTUAL_GROUPS) {
    versions.set(`${virtual.group}/${virtual.version}`, { ...virtual });
  }
  for (const entry of versions.values()) {
    entry.resources.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }
  return versions;
}

const GROUP_VERSIONS = groupVersions();

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(group: string): Record<string, unknown> | undefined {
  const versions = [...GROUP_VERSIONS.values()].filter((entry) => entry.group === group && group !== '');
  if (versions.length === 0) {
    return undefined;
  }
  const list = versions.map((entry) => ({ groupVersion: `${entry.group}/${entry.version}`, version: entry.version }));
  return { name: group, versions: list, preferredVersion: list[0] };
}

export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set([...GROUP_VERSIONS.values()].map((entry) => entry.group))].filter((group) => group !== '').sort();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map((group) => apiGroup(group)) };
}

export function apiGroupDocument(group: string): Record<string, unknown> | undefined {
  const document = apiGroup(group);
  return document === undefined ? undefined : { kind: 'APIGroup', apiVersion: 'v1', ...document };
}

export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const key = group === '' ? version : `${group}/${version}`;
  const entry = GROUP_VERSIONS.get(key);
  if (entry === undefined) {
    return undefined;
  }
  // The core list carries no apiVersion; group lists do (as the real server answers).
  return group === ''
    ? { kind: 'APIResourceList', groupVersion: key, resources: entry.resources }
    : { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: key, resources: entry.resources };
}

export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.2' } as const;

export function versionInfo(): Record<string, string> {
  return {
    major: KUBERNETES_VERSION.major,
    minor: KUBERNETES_VERSION.minor,
    gitVersion: KUBERNETES_VERSION.gitVersion,
    // No upstream build stands behind the lab's API: say so where nothing parses it.
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-02-12T21:19:07Z',
    goVersion: 'go1.23.6',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** The OpenAPI v3 group-version documents (`api/v1`, `apis/<group>/<version>`) the lab describes. */
function openApiPaths(): Map<string, Record<string, unknown>> {
  const documents = new Map<string, Record<string, unknown>>();
  const query = (name: string, description: string): Record<string, unknown> => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });
  const writeParameters = [
    query('dryRun', 'When present, indicates that modifications should not be persisted.'),
    query('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
    query('fieldValidation', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields.'),
  ];
  for (const info of Object.values(RESOURCES)) {
    const key = info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
    const document = documents.get(key) ?? { openapi: '3.0.0', info: { title: 'Kubernetes', version: KUBERNETES_VERSION.gitVersion }, paths: {} as Record<string, unknown>, components: { schemas: {} } };
    const paths = document.paths as Record<string, unknown>;
    const gvk = { group: info.group, version: info.version, kind: info.kind };
    const base = `/${key}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.name}`;
    const operation = (verb: string): Record<string, unknown> => ({
      tags: [info.group === '' ? `core_${info.version}` : `${info.group.split('.')[0]}_${info.version}`],
      operationId: `${verb}${info.namespaced ? 'Namespaced' : ''}${info.kind}`,
      parameters: writeParameters,
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': verb,
      'x-kubernetes-group-version-kind': gvk,
    });
    paths[base] = { post: operation('post') };
    paths[`${base}/{name}`] = { put: operation('put'), patch: operation('patch') };
    documents.set(key, document);
  }
  return documents;
}

const OPENAPI_DOCUMENTS = new Map([...openApiPaths()].map(([key, document]) => [key, JSON.stringify(document)]));

/** `/openapi/v3`: where each group version's document is, with a content hash for caching. */
export function openApiRoot(hash: (text: string) => string): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [key, document] of OPENAPI_DOCUMENTS) {
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash(document)}` };
  }
  return { paths };
}

/** The document of one group version (`api/v1`), or undefined. */
export function openApiDocument(key: string): string | undefined {
  return OPENAPI_DOCUMENTS.get(key);
}

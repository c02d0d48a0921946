/**
 * The resources the lab serves, described once: discovery, routing, field selectors and
 * Status messages all read these descriptors.
 */

export type ResourceName = 'namespaces' | 'nodes' | 'pods' | 'services' | 'endpointslices' | 'events' | 'leases';

export interface ResourceInfo {
  readonly name: ResourceName;
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly singularName: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  readonly verbs: readonly string[];
  readonly categories?: readonly string[];
  /** Field selector labels the real API server accepts for this resource. */
  readonly fieldLabels: readonly string[];
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: Readonly<Record<ResourceName, ResourceInfo>> = {
  namespaces: {
    name: 'namespaces',
    group: '',
    version: 'v1',
    kind: 'Namespace',
    singularName: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    fieldLabels: ['metadata.name', 'status.phase'],
  },
  nodes: {
    name: 'nodes',
    group: '',
    version: 'v1',
    kind: 'Node',
    singularName: 'node',
    namespaced: false,
    shortNames: ['no'],
    verbs: ALL_VERBS,
    fieldLabels: ['metadata.name', 'spec.unschedulable'],
  },
  pods: {
    name: 'pods',
    group: '',
    version: 'v1',
    kind: 'Pod',
    singularName: 'pod',
    namespaced: true,
    shortNames: ['po'],
    verbs: ALL_VERBS,
    categories: ['all'],
    fieldLabels: [
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ],
  },
  services: {
    name: 'services',
    group: '',
    version: 'v1',
    kind: 'Service',
    singularName: 'service',
    namespaced: true,
    shortNames: ['svc'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    categories: ['all'],
    fieldLabels: ['metadata.name', 'metadata.namespace', 'spec.clusterIP', 'spec.type'],
  },
  endpointslices: {
    name: 'endpointslices',
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    singularName: 'endpointslice',
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    fieldLabels: ['metadata.name', 'metadata.namespace', 'addressType'],
  },
  leases: {
    name: 'leases',
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    singularName: 'lease',
    namespaced: true,
    shortNames: [],
    verbs: ALL_VERBS,
    fieldLabels: ['metadata.name', 'metadata.namespace'],
  },
  events: {
    name: 'events',
    group: '',
    version: 'v1',
    kind: 'Event',
    singularName: 'event',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ALL_VERBS,
    fieldLabels: [
      'metadata.name',
      'metadata.namespace',
      'involvedObject.kind',
      'involvedObject.namespace',
      'involvedObject.name',
      'involvedObject.uid',
      'involvedObject.apiVersion',
      'involvedObject.resourceVersion',
      'involvedObject.fieldPath',
      'reason',
      'reportingComponent',
      'source',
      'type',
    ],
  },
};

export function apiVersionOf(info: ResourceInfo): string {
  return info.group === '' ? info.version : `${info.group}/${info.version}`;
}

/** The resource served under a group/version path, if the lab serves it. */
export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  for (const info of Object.values(RESOURCES)) {
    if (info.group === group && info.version === version && info.name === resource) {
      return info;
    }
  }
  return undefined;
}

/** Subresources the lab serves (for discovery). */
export const SUBRESOURCES: readonly { parent: ResourceName; name: string; kind: string; verbs: readonly string[] }[] = [
  { parent: 'pods', name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
  { parent: 'pods', name: 'log', kind: 'Pod', verbs: ['get'] },
  { parent: 'pods', name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
  { parent: 'namespaces', name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] },
  { parent: 'nodes', name: 'status', kind: 'Node', verbs: ['get', 'patch', 'update'] },
  { parent: 'services', name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] },
];

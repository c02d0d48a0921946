/**
 * The `meta.k8s.io/v1` Table form (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`),
 * with the columns and cell formatting of kubernetes/pkg/printers/internalversion, so that
 * `kubectl get` prints what it prints against a real cluster. The server always fills the
 * wide (priority 1) columns; kubectl shows them with `-o wide`.
 */
import type { CoreEvent, EndpointSlice, KubeObject, Namespace, Node, Pod, Service } from './objects';
import type { ResourceInfo, ResourceName } from './resources';
import type { StoredEntry } from './store';

export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

const NAME_DESCRIPTION =
  'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DESCRIPTION =
  'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata';

function column(name: string, description: string, options: { priority?: number; format?: string; type?: string } = {}): ColumnDefinition {
  return { name, type: options.type ?? 'string', format: options.format ?? '', description, priority: options.priority ?? 0 };
}

const NAME = column('Name', NAME_DESCRIPTION, { format: 'name' });
const AGE = column('Age', AGE_DESCRIPTION);

const COLUMNS: Record<ResourceName, ColumnDefinition[]> = {
  pods: [
    NAME,
    column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    AGE,
    column('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', { priority: 1 }),
    column('Node', 'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.', { priority: 1 }),
    column('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', { priority: 1 }),
    column('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', { priority: 1 }),
  ],
  services: [
    NAME,
    column('Type', 'type determines how the Service is exposed. Defaults to ClusterIP.'),
    column('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly.'),
    column('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    column('Port(s)', 'The list of ports that are exposed by this service.'),
    AGE,
    column('Selector', 'Route service traffic to pods with label keys and values matching this selector.', { priority: 1 }),
  ],
  nodes: [
    NAME,
    column('Status', 'The status of the node'),
    column('Roles', 'The roles of the node'),
    AGE,
    column('Version', 'Kubelet Version reported by the node.'),
    column('Internal-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    column('External-IP', 'List of addresses reachable to the node.', { priority: 1 }),
    column('OS-Image', 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', { priority: 1 }),
    column('Kernel-Version', "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", { priority: 1 }),
    column('Container-Runtime', 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', { priority: 1 }),
  ],
  namespaces: [NAME, column('Status', 'The status of the namespace'), AGE],
  leases: [NAME, column('Holder', 'holderIdentity contains the identity of the holder of a current lease.'), AGE],
  endpointslices: [
    NAME,
    column('AddressType', 'addressType specifies the type of address carried by this EndpointSlice.'),
    column('Ports', 'ports specifies the list of network ports exposed by each endpoint in this slice.'),
    column('Endpoints', 'endpoints is a list of unique endpoints in this slice.'),
    AGE,
  ],
  events: [
    column('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
    column('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
    column('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    column('Object', 'The object that this event is about.'),
    column('Subobject', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].', { priority: 1 }),
    column('Source', 'The component reporting this event. Should be a short machine understandable string.', { priority: 1 }),
    column('Message', 'A human-readable description of the status of this operation.'),
    column('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', { priority: 1 }),
    column('Count', 'The number of times this event has occurred.', { priority: 1 }),
    { ...NAME, priority: 1 },
  ],
};

export function tableColumns(resource: ResourceName): ColumnDefinition[] {
  return COLUMNS[resource];
}

/** apimachinery's `duration.HumanDuration`. */
export function humanDuration(milliseconds: number): string {
  const seconds = Math.floor(milliseconds / 1000);
  if (seconds < -1) {
    return '<invalid>';
  }
  if (seconds < 0) {
    return '0s';
  }
  if (seconds < 60 * 2) {
    return `${seconds}s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const rest = seconds % 60;
    return rest === 0 ? `${minutes}m` : `${minutes}m${rest}s`;
  }
  if (minutes < 60 * 3) {
    return `${minutes}m`;
  }
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const rest = minutes % 60;
    return rest === 0 ? `${hours}h` : `${hours}h${rest}m`;
  }
  if (hours < 48) {
    return `${hours}h`;
  }
  if (hours < 24 * 8) {
    const rest = hours % 24;
    return rest === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${rest}h`;
  }
  if (hours < 24 * 365 * 2) {
    return `${Math.floor(hours / 24)}d`;
  }
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function since(time: string | null | undefined, now: number): string {
  if (time === undefined || time === null || time === '') {
    return '<unknown>';
  }
  const parsed = Date.parse(time);
  return Number.isNaN(parsed) ? '<unknown>' : humanDuration(now - parsed);
}

function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) {
    return '<none>';
  }
  return keys.map((key) => `${key}=${(labels as Record<string, string>)[key]}`).join(',');
}

function listWithMore(list: string[], count: number, max: number): string {
  const joined = list.join(',');
  if (count > max) {
    return `${joined} + ${count - max} more...`;
  }
  return joined === '' ? '<unset>' : joined;
}

interface RowCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

function podCells(pod: Pod, now: number): { cells: unknown[]; conditions?: RowCondition[] } {
  const status = pod.status ?? {};
  let reason = status.reason !== undefined && status.reason !== '' ? status.reason : status.phase ?? '';
  let conditions: RowCondition[] | undefined;
  if (status.phase === 'Succeeded') {
    conditions = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
  } else if (status.phase === 'Failed') {
    conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  }
  const total = pod.spec.containers.length;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let hasRunning = false;
  const statuses = status.containerStatuses ?? [];
  for (let i = statuses.length - 1; i >= 0; i--) {
    const container = statuses[i];
    restarts += container.restartCount ?? 0;
    const finished = container.lastState?.terminated?.finishedAt;
    if (finished !== undefined) {
      lastRestart = Math.max(lastRestart, Date.parse(finished));
    }
    const state = container.state ?? {};
    if (state.waiting?.reason) {
      reason = state.waiting.reason;
    } else if (state.terminated?.reason) {
      reason = state.terminated.reason;
    } else if (state.terminated !== undefined) {
      reason = state.terminated.signal ? `Signal:${state.terminated.signal}` : `ExitCode:${state.terminated.exitCode}`;
    } else if (container.ready && state.running !== undefined) {
      hasRunning = true;
      ready++;
    }
  }
  if (reason === 'Completed' && hasRunning) {
    reason = status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') ? 'Running' : 'NotReady';
  }
  if (pod.metadata.deletionTimestamp !== undefined && status.reason === 'NodeLost') {
    reason = 'Unknown';
  } else if (pod.metadata.deletionTimestamp !== undefined && status.phase !== 'Succeeded' && status.phase !== 'Failed') {
    reason = 'Terminating';
  }
  const restartText = restarts !== 0 && lastRestart > 0 ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);
  let readinessGates = '<none>';
  const gates = pod.spec.readinessGates ?? [];
  if (gates.length > 0) {
    const trueCount = gates.filter((gate) => status.conditions?.some((condition) => condition.type === gate.conditionType && condition.status === 'True')).length;
    readinessGates = `${trueCount}/${gates.length}`;
  }
  const cells = [
    pod.metadata.name ?? '',
    `${ready}/${total}`,
    reason,
    restartText,
    since(pod.metadata.creationTimestamp, now),
    status.podIPs?.[0]?.ip || '<none>',
    pod.spec.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    readinessGates,
  ];
  return { cells, conditions };
}

function serviceCells(service: Service, now: number): unknown[] {
  const spec = service.spec;
  const type = spec.type ?? 'ClusterIP';
  const clusterIP = spec.clusterIPs?.[0] ?? '<none>';
  let externalIP = '<unknown>';
  if (type === 'ClusterIP' || type === 'NodePort') {
    externalIP = (spec.externalIPs ?? []).length > 0 ? (spec.externalIPs as string[]).join(',') : '<none>';
  } else if (type === 'LoadBalancer') {
    const ingress = ((service.status?.loadBalancer as { ingress?: { ip?: string; hostname?: string }[] } | undefined)?.ingress ?? [])
      .map((item) => item.ip ?? item.hostname ?? '')
      .filter((item) => item !== '');
    const all = [...ingress, ...(spec.externalIPs ?? [])];
    externalIP = all.length > 0 ? all.join(',') : '<pending>';
  } else if (type === 'ExternalName') {
    externalIP = spec.externalName ?? '';
  }
  const ports = (spec.ports ?? []).map((port) => (port.nodePort ? `${port.port}:${port.nodePort}/${port.protocol ?? 'TCP'}` : `${port.port}/${port.protocol ?? 'TCP'}`)).join(',');
  return [service.metadata.name ?? '', type, clusterIP, externalIP, ports === '' ? '<none>' : ports, since(service.metadata.creationTimestamp, now), formatLabels(spec.selector)];
}

function nodeCells(node: Node, now: number): unknown[] {
  const status: string[] = [];
  const ready = node.status.conditions?.find((condition) => condition.type === 'Ready');
  if (ready !== undefined) {
    status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  }
  if (status.length === 0) {
    status.push('Unknown');
  }
  if (node.spec.unschedulable === true) {
    status.push('SchedulingDisabled');
  }
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(node.metadata.labels ?? {})) {
    if (key.startsWith('node-role.kubernetes.io/')) {
      const role = key.slice('node-role.kubernetes.io/'.length);
      if (role !== '') {
        roles.add(role);
      }
    } else if (key === 'kubernetes.io/role' && value !== '') {
      roles.add(value);
    }
  }
  const info = node.status.nodeInfo ?? {};
  const address = (type: string): string => node.status.addresses?.find((item) => item.type === type)?.address ?? '<none>';
  return [
    node.metadata.name ?? '',
    status.join(','),
    roles.size > 0 ? [...roles].sort().join(',') : '<none>',
    since(node.metadata.creationTimestamp, now),
    info.kubeletVersion ?? '',
    address('InternalIP'),
    address('ExternalIP'),
    info.osImage || '<unknown>',
    info.kernelVersion || '<unknown>',
    info.containerRuntimeVersion || '<unknown>',
  ];
}

function endpointSliceCells(slice: EndpointSlice, now: number): unknown[] {
  const ports: string[] = [];
  for (const port of slice.ports ?? []) {
    if (ports.length < 3) {
      ports.push(port.port !== undefined ? String(port.port) : port.name ?? '*');
    }
  }
  const addresses: string[] = [];
  let addressCount = 0;
  for (const endpoint of slice.endpoints ?? []) {
    for (const address of endpoint.addresses) {
      if (addresses.length < 3) {
        addresses.push(address);
      }
      addressCount++;
    }
  }
  return [
    slice.metadata.name ?? '',
    slice.addressType,
    listWithMore(ports, (slice.ports ?? []).length, 3),
    listWithMore(addresses, addressCount, 3),
    since(slice.metadata.creationTimestamp, now),
  ];
}

function eventCells(event: CoreEvent, now: number): unknown[] {
  let first = since(event.firstTimestamp, now);
  if (event.firstTimestamp === undefined || event.firstTimestamp === null) {
    first = since(event.eventTime, now);
  }
  let last = event.lastTimestamp === undefined || event.lastTimestamp === null ? first : since(event.lastTimestamp, now);
  let count = event.count ?? 0;
  if (event.series !== undefined) {
    last = since(event.series.lastObservedTime, now);
    count = event.series.count ?? 0;
  } else if (count === 0) {
    count = 1;
  }
  const involved = event.involvedObject ?? {};
  const kind = (involved.kind ?? '').toLowerCase();
  const target = involved.name ? `${kind}/${involved.name}` : kind;
  const component = event.source?.component || event.reportingComponent || '';
  const host = event.source?.host || event.reportingInstance || '';
  const source = host === '' ? component : `${component}, ${host}`;
  return [last, event.type ?? '', event.reason ?? '', target, involved.fieldPath ?? '', source, (event.message ?? '').trim(), first, count, event.metadata.name ?? ''];
}

function namespaceCells(namespace: Namespace, now: number): unknown[] {
  return [namespace.metadata.name ?? '', namespace.status?.phase ?? '', since(namespace.metadata.creationTimestamp, now)];
}

export interface TableRowJson {
  cells: unknown[];
  conditions?: RowCondition[];
  object?: unknown;
}

export function tableRow(info: ResourceInfo, entry: StoredEntry, includeObject: IncludeObject, now: number): TableRowJson {
  const object: KubeObject = entry.object;
  let row: TableRowJson;
  switch (info.name) {
    case 'pods': {
      const { cells, conditions } = podCells(object as Pod, now);
      row = conditions === undefined ? { cells } : { cells, conditions };
      break;
    }
    case 'services':
      row = { cells: serviceCells(object as Service, now) };
      break;
    case 'nodes':
      row = { cells: nodeCells(object as Node, now) };
      break;
    case 'endpointslices':
      row = { cells: endpointSliceCells(object as EndpointSlice, now) };
      break;
    case 'events':
      row = { cells: eventCells(object as CoreEvent, now) };
      break;
    case 'namespaces':
      row = { cells: namespaceCells(object as Namespace, now) };
      break;
    case 'leases': {
      const spec = (object.spec ?? {}) as { holderIdentity?: string };
      row = { cells: [object.metadata.name ?? '', spec.holderIdentity ?? '', since(object.metadata.creationTimestamp, now)] };
      break;
    }
  }
  if (includeObject === 'Metadata') {
    row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
  } else if (includeObject === 'Object') {
    row.object = JSON.parse(entry.typedJson) as unknown;
  }
  return row;
}

export interface TableMetadata {
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** A Table of entries; `apiVersion` is `meta.k8s.io/v1` or `/v1beta1`, as the client asked. */
export function buildTable(
  info: ResourceInfo,
  entries: readonly StoredEntry[],
  options: { includeObject: IncludeObject; noHeaders: boolean; apiVersion: string; metadata: TableMetadata },
): Record<string, unknown> {
  const now = Date.now();
  const table: Record<string, unknown> = { kind: 'Table', apiVersion: options.apiVersion, metadata: options.metadata };
  table.columnDefinitions = options.noHeaders ? null : tableColumns(info.name);
  table.rows = entries.map((entry) => tableRow(info, entry, options.includeObject, now));
  return table;
}

/**
 * The REST semantics of each resource (pkg/registry in kube-apiserver): what create, update,
 * patch and delete do beyond storing. Order as upstream: namespace lifecycle admission,
 * defaulting, validation, PodSecurity admission, allocation, storage.
 */
import { admitPod } from './admission';
import { ClusterIpAllocator, NODE_PORT_RANGE, NodePortAllocator, AllocationError } from './ipam';
import type { Container, KubeObject, Namespace, ObjectMeta, Pod, Service } from './objects';
import { cloneJson, isRecord, newUid, randomNameSuffix, timestamp } from './objects';
import type { PatchType } from './patch';
import { jsonPatch, mergePatch } from './patch';
import type { ResourceInfo, ResourceName } from './resources';
import { RESOURCES } from './resources';
import type { StoredEntry } from './store';
import { Store } from './store';
import type { FieldError } from './status';
import { ApiError, badRequest, conflict, forbidden, invalid, notFound } from './status';
import { metadataErrors, namespaceErrors, podErrors, serviceErrors } from './validation';

export interface WriteResult {
  readonly entry: StoredEntry;
  /** 200 or 201. */
  readonly code: number;
  readonly warnings: readonly string[];
}

export interface PreparedCreate {
  readonly object: KubeObject;
  readonly warnings: readonly string[];
  readonly ips: readonly string[];
  readonly ports: readonly number[];
}

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly preconditions?: { uid?: string; resourceVersion?: string };
  readonly dryRun?: boolean;
}

export interface DeleteResult {
  readonly code: number;
  /** The JSON body to send. */
  readonly body: string;
}

export const PROTECTED_NAMESPACES = ['default', 'kube-system', 'kube-public'];

function defaultPullPolicy(image: string): string {
  const lastSlash = image.lastIndexOf('/');
  const lastPart = image.slice(lastSlash + 1);
  if (image.includes('@')) {
    return 'IfNotPresent';
  }
  const colon = lastPart.lastIndexOf(':');
  if (colon < 0 || lastPart.slice(colon + 1) === 'latest') {
    return 'Always';
  }
  return 'IfNotPresent';
}

function defaultContainer(container: Container): void {
  if (typeof container.image === 'string') {
    container.imagePullPolicy ??= defaultPullPolicy(container.image);
  }
  container.terminationMessagePath ??= '/dev/termination-log';
  container.terminationMessagePolicy ??= 'File';
  container.resources ??= {};
  for (const port of container.ports ?? []) {
    port.protocol ??= 'TCP';
  }
}

/** QoS class as `v1qos.GetPodQOS` computes it (requests default to limits). */
export function qosClassOf(pod: Pod): string {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  let anySet = false;
  let guaranteed = true;
  for (const container of containers) {
    const limits = container.resources?.limits ?? {};
    const requests = { ...limits, ...(container.resources?.requests ?? {}) };
    if (Object.keys(limits).length > 0 || Object.keys(requests).length > 0) {
      anySet = true;
    }
    for (const resource of ['cpu', 'memory']) {
      if (limits[resource] === undefined || requests[resource] !== limits[resource]) {
        guaranteed = false;
      }
    }
  }
  if (!anySet) {
    return 'BestEffort';
  }
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function defaultPod(pod: Pod): void {
  const spec = pod.spec;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.serviceAccountName ??= typeof spec.serviceAccount === 'string' ? spec.serviceAccount : 'default';
  spec.serviceAccount = spec.serviceAccountName;
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    defaultContainer(container);
  }
  // DefaultTolerationSeconds admission.
  const tolerations = Array.isArray(spec.tolerations) ? (spec.tolerations as Record<string, unknown>[]) : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    const covered = tolerations.some((toleration) => (toleration.key === key || (toleration.key === undefined && toleration.operator === 'Exists')) && (toleration.effect === undefined || toleration.effect === 'NoExecute'));
    if (!covered) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
  // ServiceAccount admission: the projected API token volume, unless opted out.
  if (spec.automountServiceAccountToken !== false) {
    const volumeName = `kube-api-access-${randomNameSuffix(5)}`;
    spec.volumes = [
      ...(spec.volumes ?? []),
      {
        name: volumeName,
        projected: {
          defaultMode: 420,
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
        },
      },
    ];
    for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
      const mounts = Array.isArray(container.volumeMounts) ? (container.volumeMounts as unknown[]) : [];
      container.volumeMounts = [...mounts, { name: volumeName, readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }];
    }
  }
  pod.status = { phase: 'Pending', qosClass: qosClassOf(pod) };
}

function defaultService(service: Service): void {
  const spec = service.spec;
  spec.type ??= 'ClusterIP';
  if (spec.type !== 'ExternalName') {
    spec.sessionAffinity ??= 'None';
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  for (const port of spec.ports ?? []) {
    port.protocol ??= 'TCP';
    if (spec.type !== 'ExternalName') {
      port.targetPort ??= port.port;
    }
  }
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    spec.externalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'LoadBalancer') {
    spec.allocateLoadBalancerNodePorts ??= true;
  }
  service.status = { loadBalancer: {} };
}

/** Parses a request body into an object of the expected kind, or the API's 400. */
export function decodeObject(info: ResourceInfo, body: unknown): KubeObject {
  if (!isRecord(body)) {
    throw badRequest(`the object provided is unrecognized (must be of type ${info.kind}): couldn't get version/kind; json parse error: expected an object`);
  }
  if (body.kind !== undefined && body.kind !== info.kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${info.kind}): ${String(body.kind)}`);
  }
  const expectedVersion = info.group === '' ? info.version : `${info.group}/${info.version}`;
  if (body.apiVersion !== undefined && body.apiVersion !== expectedVersion) {
    throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expectedVersion})`);
  }
  const object = cloneJson(body) as KubeObject;
  delete object.kind;
  delete object.apiVersion;
  if (!isRecord(object.metadata)) {
    object.metadata = {};
  }
  if (info.name === 'pods' || info.name === 'services') {
    if (!isRecord(object.spec)) {
      object.spec = {};
    }
  }
  if (info.name === 'pods') {
    const spec = object.spec as Record<string, unknown>;
    if (spec.containers !== undefined && !Array.isArray(spec.containers)) {
      throw badRequest(`Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal ${typeof spec.containers} into Go struct field PodSpec.spec.containers of type []v1.Container`);
    }
    spec.containers ??= [];
    for (const container of spec.containers as unknown[]) {
      if (!isRecord(container)) {
        throw badRequest('Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal into Go struct field PodSpec.spec.containers of type v1.Container');
      }
    }
  }
  return object;
}

export class Registry {
  readonly clusterIps: ClusterIpAllocator;
  readonly nodePorts = new NodePortAllocator();

  constructor(
    readonly store: Store,
    serviceCidr: string,
  ) {
    this.clusterIps = new ClusterIpAllocator(serviceCidr);
  }

  private requireNamespaceForCreate(info: ResourceInfo, namespace: string, name: string): void {
    const entry = this.store.get('namespaces', undefined, namespace);
    if (entry === undefined) {
      throw notFound('', 'namespaces', namespace);
    }
    const ns = entry.object as Namespace;
    if (ns.metadata.deletionTimestamp !== undefined || ns.status?.phase === 'Terminating') {
      const error = forbidden(info.group, info.name, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      throw new ApiError(403, 'Forbidden', error.message, {
        ...error.details,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  /** Creates an object as POST does; `namespace` is the request path's. */
  create(info: ResourceInfo, namespace: string | undefined, body: unknown, options: { dryRun?: boolean } = {}): WriteResult {
    const prepared = this.prepareCreate(info, namespace, body);
    if (options.dryRun === true) {
      this.releaseAllocations(prepared.ips, prepared.ports);
      return { entry: this.previewEntry(info, prepared.object), code: 201, warnings: prepared.warnings };
    }
    return { entry: this.commitCreate(info, prepared), code: 201, warnings: prepared.warnings };
  }

  /** Stores what {@link prepareCreate} produced (releasing its allocations if that fails). */
  commitCreate(info: ResourceInfo, prepared: PreparedCreate): StoredEntry {
    try {
      return this.store.create(info.name, prepared.object);
    } catch (error) {
      this.releaseAllocations(prepared.ips, prepared.ports);
      throw error;
    }
  }

  /** Everything a create does short of storing: admission, defaults, validation, allocation. */
  prepareCreate(info: ResourceInfo, namespace: string | undefined, body: unknown): PreparedCreate {
    const object = decodeObject(info, body);
    const meta: ObjectMeta = object.metadata;
    if (info.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw badRequest('resourceVersion should not be set on objects to be created');
    }
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      meta.name = `${meta.generateName.slice(0, 58)}${randomNameSuffix(5)}`;
    }
    const name = meta.name ?? '';
    if (info.namespaced && namespace !== undefined) {
      this.requireNamespaceForCreate(info, namespace, name);
    }
    meta.uid = newUid();
    meta.creationTimestamp ??= timestamp();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (info.name === 'pods') {
      meta.generation = 1;
    }
    const warnings: string[] = [];
    let ips: string[] = [];
    let ports: number[] = [];
    switch (info.name) {
      case 'pods': {
        const pod = object as Pod;
        throwIfInvalid(info, name, podErrors(pod));
        defaultPod(pod);
        const ns = this.store.require('namespaces', undefined, namespace ?? '').object as Namespace;
        const decision = admitPod(ns, pod);
        if (decision.error !== undefined) {
          throw decision.error;
        }
        warnings.push(...decision.warnings);
        break;
      }
      case 'services': {
        const service = object as Service;
        throwIfInvalid(info, name, serviceErrors(service, NODE_PORT_RANGE));
        defaultService(service);
        ({ ips, ports } = this.allocateService(service, name));
        break;
      }
      case 'namespaces': {
        const ns = object as Namespace;
        throwIfInvalid(info, name, namespaceErrors(ns));
        meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': name };
        ns.spec = { finalizers: ['kubernetes'] };
        ns.status = { phase: 'Active' };
        break;
      }
      case 'endpointslices': {
        const errors = metadataErrors(object, 'subdomain');
        if (typeof object.addressType !== 'string' || object.addressType === '') {
          errors.push({ type: 'FieldValueRequired', field: 'addressType', detail: '' });
        }
        object.endpoints ??= null;
        object.ports ??= null;
        throwIfInvalid(info, name, errors);
        break;
      }
      default:
        throwIfInvalid(info, name, metadataErrors(object, 'subdomain'));
    }
    return { object, warnings, ips, ports };
  }

  private previewEntry(info: ResourceInfo, object: KubeObject): StoredEntry {
    // A dry run answers with what would be stored, without storing it.
    const scratch = new Store();
    const entry = scratch.create(info.name, object);
    object.metadata.resourceVersion = '';
    return entry;
  }

  private releaseAllocations(ips: readonly string[], ports: readonly number[]): void {
    for (const ip of ips) {
      this.clusterIps.release(ip);
    }
    for (const port of ports) {
      this.nodePorts.release(port);
    }
  }

  /** Allocates ClusterIP and node ports of a new Service; errors are the API's 422. */
  allocateService(service: Service, name: string): { ips: string[]; ports: number[] } {
    const spec = service.spec;
    const ips: string[] = [];
    const ports: number[] = [];
    try {
      if (spec.type !== 'ExternalName') {
        const requested = spec.clusterIP ?? spec.clusterIPs?.[0];
        if (requested === 'None') {
          spec.clusterIP = 'None';
          spec.clusterIPs = ['None'];
        } else {
          const ip = requested !== undefined && requested !== '' ? this.clusterIps.allocateSpecific(requested) : this.clusterIps.allocateNext();
          ips.push(ip);
          spec.clusterIP = ip;
          spec.clusterIPs = [ip];
        }
        spec.ipFamilies = ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
      }
      if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
        for (const port of spec.ports ?? []) {
          const nodePort = port.nodePort !== undefined && port.nodePort !== 0 ? this.nodePorts.allocateSpecific(port.nodePort) : this.nodePorts.allocateNext();
          ports.push(nodePort);
          port.nodePort = nodePort;
        }
      }
    } catch (error) {
      this.releaseAllocations(ips, ports);
      if (error instanceof AllocationError) {
        const field = error.message.startsWith('failed to allocate IP') ? 'spec.clusterIPs' : 'spec.ports[0].nodePort';
        const value = field === 'spec.clusterIPs' ? `[]string{"${spec.clusterIP ?? spec.clusterIPs?.[0] ?? ''}"}` : String(spec.ports?.[0]?.nodePort ?? '');
        throw invalid('', 'Service', name, [{ type: 'FieldValueInvalid', field, detail: `${value}: ${error.message}` }]);
      }
      throw error;
    }
    return { ips, ports };
  }

  /** Takes note of a Service stored without {@link create} (the seed), so its addresses stay taken. */
  reserveServiceAddresses(service: Service): void {
    for (const ip of service.spec.clusterIPs ?? []) {
      if (ip !== 'None') {
        this.clusterIps.allocateSpecific(ip);
      }
    }
    for (const port of service.spec.ports ?? []) {
      if (port.nodePort !== undefined) {
        this.nodePorts.allocateSpecific(port.nodePort);
      }
    }
  }

  /** PUT: replaces the object (spec and metadata; status through the status subresource). */
  update(info: ResourceInfo, namespace: string | undefined, name: string, body: unknown, subresource?: string): WriteResult {
    const current = this.store.require(info.name, namespace, name);
    const next = decodeObject(info, body);
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (info.namespaced && next.metadata.namespace !== undefined && next.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const expected = next.metadata.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== current.object.metadata.resourceVersion) {
      throw conflict(info.group, info.name, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    return this.replace(info, current, next, subresource);
  }

  /** PATCH with one of the patch formats. */
  patch(info: ResourceInfo, namespace: string | undefined, name: string, type: PatchType, patch: unknown, subresource?: string): WriteResult {
    const current = this.store.require(info.name, namespace, name);
    const document = JSON.parse(current.typedJson) as unknown;
    const patched = type === 'json' ? jsonPatch(document, patch) : mergePatch(document, patch, type === 'strategic');
    const next = decodeObject(info, patched);
    const expected = next.metadata.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== current.object.metadata.resourceVersion) {
      throw conflict(info.group, info.name, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    return this.replace(info, current, next, subresource);
  }

  private replace(info: ResourceInfo, current: StoredEntry, next: KubeObject, subresource?: string): WriteResult {
    const previous = current.object;
    const name = previous.metadata.name ?? '';
    const meta = next.metadata;
    // Fields the server owns.
    meta.name = previous.metadata.name;
    if (info.namespaced) {
      meta.namespace = previous.metadata.namespace;
    }
    meta.uid = previous.metadata.uid;
    meta.creationTimestamp = previous.metadata.creationTimestamp;
    meta.deletionTimestamp = previous.metadata.deletionTimestamp;
    meta.deletionGracePeriodSeconds = previous.metadata.deletionGracePeriodSeconds;
    for (const key of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
      if (meta[key] === undefined) {
        delete meta[key];
      }
    }
    if (subresource === 'status') {
      const merged = cloneJson(previous);
      merged.status = next.status;
      return { entry: this.store.update(info.name, merged), code: 200, warnings: [] };
    }
    if ('status' in previous) {
      next.status = cloneJson(previous.status);
    }
    const errors: FieldError[] = [];
    if (info.name === 'pods') {
      const before = previous as Pod;
      const after = next as Pod;
      errors.push(...metadataErrors(after, 'subdomain'));
      const comparable = (pod: Pod): string => {
        const spec = cloneJson(pod.spec) as Record<string, unknown>;
        delete spec.activeDeadlineSeconds;
        delete spec.tolerations;
        spec.containers = (pod.spec.containers ?? []).map((container) => ({ ...container, image: undefined }));
        return JSON.stringify(spec);
      };
      if (comparable(before) !== comparable(after)) {
        errors.push({
          type: 'FieldValueForbidden',
          field: 'spec',
          detail:
            'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
        });
      }
      if (JSON.stringify(before.spec) !== JSON.stringify(after.spec)) {
        meta.generation = (previous.metadata.generation ?? 1) + 1;
      }
    } else if (info.name === 'services') {
      const before = previous as Service;
      const after = next as Service;
      errors.push(...serviceErrors(after, NODE_PORT_RANGE));
      after.spec.clusterIP ??= before.spec.clusterIP;
      after.spec.clusterIPs ??= before.spec.clusterIPs;
      if (after.spec.clusterIP !== before.spec.clusterIP && before.spec.type !== 'ExternalName') {
        errors.push({ type: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', detail: `[]string{"${after.spec.clusterIP ?? ''}"}: may not change once set` });
      }
      after.spec.ipFamilies ??= before.spec.ipFamilies;
      after.spec.ipFamilyPolicy ??= before.spec.ipFamilyPolicy;
      for (const port of after.spec.ports ?? []) {
        port.protocol ??= 'TCP';
        port.targetPort ??= port.port;
        const old = before.spec.ports?.find((item) => item.port === port.port && (item.protocol ?? 'TCP') === port.protocol);
        if (port.nodePort === undefined && old?.nodePort !== undefined) {
          port.nodePort = old.nodePort;
        }
      }
    } else if (info.name === 'namespaces') {
      errors.push(...namespaceErrors(next as Namespace));
      meta.labels = { ...(meta.labels ?? {}), 'kubernetes.io/metadata.name': name };
      next.spec = cloneJson(previous.spec);
    } else {
      errors.push(...metadataErrors(next, 'subdomain'));
    }
    throwIfInvalid(info, name, errors);
    return { entry: this.store.update(info.name, next), code: 200, warnings: [] };
  }

  /**
   * Changes a stored object in place of a controller or the kubelet (no validation). Returns
   * undefined when the object is gone.
   */
  mutate<T extends KubeObject>(resource: ResourceName, namespace: string | undefined, name: string, change: (object: T) => void | false): StoredEntry | undefined {
    const current = this.store.get(resource, namespace, name);
    if (current === undefined) {
      return undefined;
    }
    const next = cloneJson(current.object) as T;
    if (change(next) === false) {
      return current;
    }
    return this.store.update(resource, next);
  }

  /** DELETE of one object. */
  delete(info: ResourceInfo, namespace: string | undefined, name: string, options: DeleteOptions = {}): DeleteResult {
    const current = this.store.require(info.name, namespace, name);
    const object = current.object;
    const preconditions = options.preconditions;
    if (preconditions?.uid !== undefined && preconditions.uid !== object.metadata.uid) {
      throw conflict(info.group, info.name, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${object.metadata.uid ?? ''}`);
    }
    if (preconditions?.resourceVersion !== undefined && preconditions.resourceVersion !== object.metadata.resourceVersion) {
      throw conflict(info.group, info.name, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${object.metadata.resourceVersion ?? ''}`);
    }
    if (info.name === 'namespaces' && PROTECTED_NAMESPACES.includes(name)) {
      throw forbidden('', 'namespaces', name, 'this namespace may not be deleted');
    }
    if (options.dryRun === true) {
      return { code: 200, body: current.typedJson };
    }
    switch (info.name) {
      case 'pods':
        return this.deletePod(current, options.gracePeriodSeconds);
      case 'namespaces': {
        if (object.metadata.deletionTimestamp !== undefined) {
          return { code: 202, body: current.typedJson };
        }
        const entry = this.mutate<Namespace>('namespaces', undefined, name, (ns) => {
          ns.metadata.deletionTimestamp = timestamp();
          ns.status = { ...(ns.status ?? {}), phase: 'Terminating' };
        }) as StoredEntry;
        return { code: 200, body: entry.typedJson };
      }
      case 'services': {
        const service = object as Service;
        const removed = this.store.delete('services', namespace, name);
        this.releaseAllocations(
          (service.spec.clusterIPs ?? []).filter((ip) => ip !== 'None'),
          (service.spec.ports ?? []).map((port) => port.nodePort).filter((port): port is number => port !== undefined),
        );
        return { code: 200, body: removed.typedJson };
      }
      default: {
        this.store.delete(info.name, namespace, name);
        const details: Record<string, string> = { name, kind: info.name, uid: object.metadata.uid ?? '' };
        if (info.group !== '') {
          details.group = info.group;
        }
        return { code: 200, body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details }) };
      }
    }
  }

  /**
   * Graceful pod deletion: unscheduled or finished pods go at once, others get a
   * deletionTimestamp and are removed by the kubelet once their containers are gone.
   */
  private deletePod(current: StoredEntry, requestedGrace: number | undefined): DeleteResult {
    const pod = current.object as Pod;
    const namespace = pod.metadata.namespace;
    const name = pod.metadata.name ?? '';
    let grace = requestedGrace ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    if (grace < 0) {
      grace = 1;
    }
    if (pod.spec.nodeName === undefined || pod.spec.nodeName === '' || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') {
      grace = 0;
    }
    if (grace === 0) {
      const removed = this.store.delete('pods', namespace, name);
      return { code: 200, body: removed.typedJson };
    }
    if (pod.metadata.deletionTimestamp !== undefined) {
      const currentGrace = pod.metadata.deletionGracePeriodSeconds ?? grace;
      if (grace >= currentGrace) {
        return { code: 200, body: current.typedJson };
      }
    }
    const entry = this.mutate<Pod>('pods', namespace, name, (next) => {
      next.metadata.deletionTimestamp = timestamp(new Date(Date.now() + grace * 1000));
      next.metadata.deletionGracePeriodSeconds = grace;
    }) as StoredEntry;
    return { code: 200, body: entry.typedJson };
  }

  /** Removes a pod whose containers are gone (the kubelet's final, zero-grace delete). */
  finalizePodDeletion(namespace: string, name: string): void {
    if (this.store.get('pods', namespace, name) !== undefined) {
      this.store.delete('pods', namespace, name);
    }
  }
}

function throwIfInvalid(info: ResourceInfo, name: string, errors: readonly FieldError[]): void {
  if (errors.length > 0) {
    throw invalid(info.group, info.kind, name, errors);
  }
}


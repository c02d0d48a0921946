/**
 * The lab cluster's seed: namespaces, nodes, the system pods and services a kubeadm cluster
 * has (kube-proxy, CoreDNS behind kube-dns, the `kubernetes` service), and a small
 * application (`lab-apps/web` behind a ClusterIP and a NodePort service, plus a client pod).
 * Scale mode adds API-only objects by the thousand to measure clients against.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import type { LabNodeSpec } from './config';
import { AVAILABLE_IMAGES, KUBE_DNS_SERVICE_IP, KUBERNETES_SERVICE_IP, LAB_NODES, UNDERLAY_APISERVER_IP } from './config';
import { KUBERNETES_VERSION } from './api/discovery';
import { imageId, imageSize, normalizeImage } from './api/images';
import type { EventRecorder } from './api/events';
import type { Kubelet } from './api/kubelet';
import { NODE_LEASE_NAMESPACE } from './api/kubelet';
import type { Container, EndpointSlice, Node, Pod, Service } from './api/objects';
import { newUid, randomHex, randomNameSuffix, timestamp } from './api/objects';
import type { Registry } from './api/registry';
import { RESOURCES } from './api/resources';

export const LAB_APPS_NAMESPACE = 'lab-apps';
export const LAB_RESTRICTED_NAMESPACE = 'lab-restricted';
export const CONTROL_PLANE_NODE = 'lab-control-plane';

export const COREDNS_IMAGE = 'registry.k8s.io/coredns/coredns:v1.11.3';
export const KUBE_PROXY_IMAGE = 'registry.k8s.io/kube-proxy:v1.32.2';
export const WEB_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
export const CLIENT_IMAGE = 'busybox:1.36';

export interface ScaleSize {
  readonly namespaces: number;
  readonly pods: number;
  readonly services: number;
}

export const SCALE_SIZE: ScaleSize = { namespaces: 500, pods: 10_000, services: 3_000 };
/** Pods per scale node (each node's /24 holds 253 pod addresses). */
const PODS_PER_SCALE_NODE = 200;

/** The API-only nodes scale mode adds so that 10,000 pods have room for addresses. */
export function scaleNodes(size: ScaleSize = SCALE_SIZE): LabNodeSpec[] {
  const count = Math.ceil(size.pods / PODS_PER_SCALE_NODE);
  if (count > 200) {
    throw new Error('scale mode supports at most 40,000 pods');
  }
  const nodes: LabNodeSpec[] = [];
  for (let i = 0; i < count; i++) {
    const third = 10 + i;
    nodes.push({
      name: `lab-scale-${String(i + 1).padStart(3, '0')}`,
      internalIP: `198.18.0.${100 + (i % 150)}`,
      podCIDR: `198.18.${third}.0/24`,
      bridgeIP: `198.18.${third}.1`,
      proxyMode: 'iptables',
    });
  }
  return nodes;
}

/** A pod-template-hash: 10 characters of the generateName alphabet, stable per name. */
function templateHash(seed: string): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < 10; i++) {
    out += alphabet[digest[i] % alphabet.length];
  }
  return out;
}

function osImage(): string {
  try {
    const match = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (match !== null) {
      return match[1];
    }
  } catch {
    // fall through
  }
  return 'Linux';
}

function machineId(): string {
  try {
    return fs.readFileSync('/etc/machine-id', 'utf8').trim();
  } catch {
    return randomHex(16);
  }
}

export function buildNode(spec: LabNodeSpec, controlPlane: boolean): Node {
  const now = timestamp();
  const memoryKi = `${Math.floor(os.totalmem() / 1024)}Ki`;
  const capacity = { cpu: String(os.cpus().length), 'ephemeral-storage': '102626232Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: memoryKi, pods: '110' };
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': spec.name,
    'kubernetes.io/os': 'linux',
  };
  if (controlPlane) {
    labels['node-role.kubernetes.io/control-plane'] = '';
    labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
  }
  const condition = (type: string, status: string, reason: string, message: string): Record<string, string> => ({
    type,
    status,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
    reason,
    message,
  });
  return {
    metadata: {
      name: spec.name,
      uid: newUid(),
      creationTimestamp: now,
      labels,
      annotations: {
        'kubeadm.alpha.kubernetes.io/cri-socket': 'unix:///run/containerd/containerd.sock',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: { podCIDR: spec.podCIDR, podCIDRs: [spec.podCIDR] },
    status: {
      capacity,
      allocatable: capacity,
      conditions: [
        condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ] as unknown as Node['status']['conditions'],
      addresses: [
        { type: 'InternalIP', address: spec.internalIP },
        { type: 'Hostname', address: spec.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: machineId(),
        systemUUID: newUid(),
        bootID: newUid(),
        kernelVersion: os.release(),
        osImage: osImage(),
        containerRuntimeVersion: 'containerd://1.7.24',
        kubeletVersion: KUBERNETES_VERSION.gitVersion,
        kubeProxyVersion: KUBERNETES_VERSION.gitVersion,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: AVAILABLE_IMAGES.filter((image, index, all) => all.findIndex((other) => normalizeImage(other) === normalizeImage(image)) === index).map((image) => ({
        names: [imageId(image), normalizeImage(image)],
        sizeBytes: imageSize(image),
      })),
    },
  };
}

function container(name: string, image: string, extra: Partial<Container> = {}): Container {
  return { name, image, ...extra };
}

interface PodTemplate {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly nodeName: string;
  readonly containers: Container[];
  readonly hostNetwork?: boolean;
  readonly priorityClassName?: string;
  readonly annotations?: Record<string, string>;
}

function podBody(template: PodTemplate): Pod {
  const spec: Pod['spec'] = { nodeName: template.nodeName, containers: template.containers };
  if (template.hostNetwork === true) {
    spec.hostNetwork = true;
    spec.dnsPolicy = 'ClusterFirstWithHostNet';
  }
  if (template.priorityClassName !== undefined) {
    spec.priorityClassName = template.priorityClassName;
  }
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: template.name, namespace: template.namespace, labels: template.labels }, spec };
  if (template.annotations !== undefined) {
    pod.metadata.annotations = template.annotations;
  }
  return pod;
}

/** The seed pods of the normal lab, placed on fixed nodes. */
export function seedPods(nodes: readonly LabNodeSpec[]): Pod[] {
  const pods: Pod[] = [];
  const [first, second, third] = [nodes[0], nodes[1] ?? nodes[0], nodes[2] ?? nodes[0]];
  for (const node of nodes) {
    pods.push(
      podBody({
        name: `kube-proxy-${randomNameSuffix(5)}`,
        namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-proxy', 'controller-revision-hash': templateHash('kube-proxy').slice(0, 10), 'pod-template-generation': '1' },
        nodeName: node.name,
        hostNetwork: true,
        priorityClassName: 'system-node-critical',
        containers: [
          container('kube-proxy', KUBE_PROXY_IMAGE, {
            command: ['/usr/local/bin/kube-proxy', '--config=/var/lib/kube-proxy/config.conf', `--hostname-override=${node.name}`],
            securityContext: { privileged: true },
          }),
        ],
      }),
    );
  }
  const dnsHash = templateHash('coredns');
  for (const node of [second, third]) {
    pods.push(
      podBody({
        name: `coredns-${dnsHash}-${randomNameSuffix(5)}`,
        namespace: 'kube-system',
        labels: { 'k8s-app': 'kube-dns', 'pod-template-hash': dnsHash },
        nodeName: node.name,
        priorityClassName: 'system-cluster-critical',
        containers: [
          container('coredns', COREDNS_IMAGE, {
            args: ['-conf', '/etc/coredns/Corefile'],
            ports: [
              { name: 'dns', containerPort: 53, protocol: 'UDP' },
              { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
              { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
            ],
            resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, readOnlyRootFilesystem: true },
          }),
        ],
      }),
    );
  }
  const webHash = templateHash('web');
  for (const node of nodes) {
    pods.push(
      podBody({
        name: `web-${webHash}-${randomNameSuffix(5)}`,
        namespace: LAB_APPS_NAMESPACE,
        labels: { app: 'web', 'pod-template-hash': webHash },
        nodeName: node.name,
        containers: [container('agnhost', WEB_IMAGE, { args: ['netexec', '--http-port=8080'], ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] })],
      }),
    );
  }
  pods.push(
    podBody({
      name: 'client',
      namespace: LAB_APPS_NAMESPACE,
      labels: { app: 'client' },
      nodeName: CONTROL_PLANE_NODE,
      containers: [container('client', CLIENT_IMAGE, { command: ['sleep', '86400'] })],
    }),
  );
  return pods;
}

function serviceBody(name: string, namespace: string, spec: Service['spec'], labels?: Record<string, string>): Service {
  const service: Service = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
  if (labels !== undefined) {
    service.metadata.labels = labels;
  }
  return service;
}

export function seedServices(): Service[] {
  return [
    serviceBody(
      'kubernetes',
      'default',
      { clusterIP: KUBERNETES_SERVICE_IP, ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: 6443 }] },
      { component: 'apiserver', provider: 'kubernetes' },
    ),
    serviceBody(
      'kube-dns',
      'kube-system',
      {
        clusterIP: KUBE_DNS_SERVICE_IP,
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
          { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
        ],
      },
      { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' },
    ),
    serviceBody('web', LAB_APPS_NAMESPACE, { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }] }, { app: 'web' }),
    serviceBody('web-nodeport', LAB_APPS_NAMESPACE, { type: 'NodePort', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http', nodePort: 30080 }] }, { app: 'web' }),
  ];
}

/** The API server's own endpoints for `default/kubernetes`, maintained by its reconciler upstream. */
function kubernetesEndpointSlice(): EndpointSlice {
  return {
    metadata: { name: 'kubernetes', namespace: 'default', uid: newUid(), generation: 1, creationTimestamp: timestamp(), labels: { 'kubernetes.io/service-name': 'kubernetes' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [UNDERLAY_APISERVER_IP], conditions: { ready: true } }],
    ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
  };
}

export const SEED_NAMESPACES: readonly { name: string; labels?: Record<string, string> }[] = [
  { name: 'default' },
  { name: 'kube-system' },
  { name: 'kube-public' },
  { name: 'kube-node-lease' },
  { name: LAB_APPS_NAMESPACE },
  { name: LAB_RESTRICTED_NAMESPACE, labels: { 'pod-security.kubernetes.io/enforce': 'baseline', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
];

export interface SeedTarget {
  readonly registry: Registry;
  readonly kubelet: Kubelet;
  readonly events?: EventRecorder;
}

/** Namespaces, nodes, services and the `kubernetes` slice: the cluster without workloads. */
export function seedCluster(target: SeedTarget, nodes: readonly LabNodeSpec[]): void {
  const { registry } = target;
  for (const namespace of SEED_NAMESPACES) {
    registry.create(RESOURCES.namespaces, undefined, { metadata: { name: namespace.name, labels: namespace.labels } });
  }
  nodes.forEach((node, index) => {
    const entry = registry.store.create('nodes', buildNode(node, node.name === CONTROL_PLANE_NODE || (index === 0 && !nodes.some((other) => other.name === CONTROL_PLANE_NODE))));
    registry.store.create('leases', {
      metadata: {
        name: node.name,
        namespace: NODE_LEASE_NAMESPACE,
        uid: newUid(),
        creationTimestamp: timestamp(),
        ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: entry.object.metadata.uid ?? '' }],
      },
      spec: { holderIdentity: node.name, leaseDurationSeconds: 40, renewTime: new Date().toISOString().replace(/Z$/, '000Z') },
    });
    if (target.events !== undefined && index < LAB_NODES.length) {
      // What a freshly joined node shows in `kubectl get events`.
      const involved = { kind: 'Node', apiVersion: 'v1', object: entry.object };
      const kubelet = { component: 'kubelet', host: node.name };
      target.events.record(involved, 'Normal', 'Starting', 'Starting kubelet.', kubelet);
      target.events.record(involved, 'Normal', 'NodeHasSufficientMemory', `Node ${node.name} status is now: NodeHasSufficientMemory`, kubelet);
      target.events.record(involved, 'Normal', 'NodeHasNoDiskPressure', `Node ${node.name} status is now: NodeHasNoDiskPressure`, kubelet);
      target.events.record(involved, 'Normal', 'NodeHasSufficientPID', `Node ${node.name} status is now: NodeHasSufficientPID`, kubelet);
      target.events.record(involved, 'Normal', 'RegisteredNode', `Node ${node.name} event: Registered Node ${node.name} in Controller`, { component: 'node-controller' });
      target.events.record(involved, 'Normal', 'NodeReady', `Node ${node.name} status is now: NodeReady`, kubelet);
    }
  });
  for (const service of seedServices()) {
    registry.create(RESOURCES.services, service.metadata.namespace, service);
  }
  registry.store.create('endpointslices', kubernetesEndpointSlice());
}

/** Creates the seed pods through the API; the kubelets start them. Returns their names. */
export function seedWorkloads(target: SeedTarget, nodes: readonly LabNodeSpec[] = LAB_NODES): { namespace: string; name: string }[] {
  const created: { namespace: string; name: string }[] = [];
  for (const pod of seedPods(nodes)) {
    const entry = target.registry.create(RESOURCES.pods, pod.metadata.namespace, pod).entry;
    created.push({ namespace: entry.object.metadata.namespace ?? '', name: entry.object.metadata.name ?? '' });
  }
  return created;
}

/**
 * Scale mode: namespaces `scale-000…`, services `svc-N` selecting `app=app-N`, and pods
 * spread over those apps and the scale nodes, stored directly as Running (one ADDED event
 * each, as if the cluster had been up for a while).
 */
export async function seedScale(target: SeedTarget, nodes: readonly LabNodeSpec[], size: ScaleSize = SCALE_SIZE): Promise<void> {
  const { registry, kubelet } = target;
  const servicesPerNamespace = Math.max(1, Math.round(size.services / size.namespaces));
  const podsPerNamespace = Math.max(1, Math.round(size.pods / size.namespaces));
  let serviceCount = 0;
  let podCount = 0;
  let nodeIndex = 0;
  for (let n = 0; n < size.namespaces; n++) {
    const namespace = `scale-${String(n).padStart(3, '0')}`;
    registry.create(RESOURCES.namespaces, undefined, { metadata: { name: namespace, labels: { 'kni-lab/scale': 'true' } } });
    const apps = Math.min(servicesPerNamespace, size.services - serviceCount);
    for (let s = 0; s < apps; s++, serviceCount++) {
      registry.create(RESOURCES.services, namespace, serviceBody(`svc-${s}`, namespace, { selector: { app: `app-${s}` }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }, { app: `app-${s}` }));
    }
    const hashes = Array.from({ length: Math.max(apps, 1) }, (_, index) => templateHash(`${namespace}/app-${index}`));
    const pods = Math.min(podsPerNamespace, size.pods - podCount);
    for (let p = 0; p < pods; p++, podCount++) {
      const app = p % Math.max(apps, 1);
      const node = nodes[nodeIndex++ % nodes.length];
      const body = podBody({
        name: `app-${app}-${hashes[app]}-${randomNameSuffix(5)}`,
        namespace,
        labels: { app: `app-${app}`, 'pod-template-hash': hashes[app] },
        nodeName: node.name,
        containers: [container('app', WEB_IMAGE, { args: ['netexec', '--http-port=8080'], ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] })],
      });
      const prepared = registry.prepareCreate(RESOURCES.pods, namespace, body);
      await kubelet.adoptRunningPod(prepared.object as Pod);
      registry.commitCreate(RESOURCES.pods, prepared);
    }
  }
}

/**
 * Create/update validation with the messages of k8s.io/apimachinery/pkg/util/validation and
 * pkg/apis/core/validation, for the fields the lab's clients set.
 */
import type { Container, KubeObject, Labels, Namespace, Pod, Service } from './objects';
import type { FieldError } from './status';
import { goQuote } from './status';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const DNS1123_LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MESSAGE =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QUALIFIED_NAME_MESSAGE =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

export type NameKind = 'subdomain' | 'label' | 'dns1035';

function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail };
}

function invalidValue(field: string, value: unknown, why: string): FieldError {
  const shown = typeof value === 'string' ? goQuote(value) : String(value);
  return { type: 'FieldValueInvalid', field, detail: `${shown}: ${why}` };
}

function notSupported(field: string, value: string, supported: readonly string[]): FieldError {
  return { type: 'FieldValueNotSupported', field, detail: `${goQuote(value)}: supported values: ${supported.map((item) => goQuote(item)).join(', ')}` };
}

/** Checks a name against the DNS rule its resource uses. */
export function nameErrors(field: string, name: string, kind: NameKind): FieldError[] {
  const errors: FieldError[] = [];
  if (kind === 'subdomain') {
    if (name.length > 253) {
      errors.push(invalidValue(field, name, 'must be no more than 253 characters'));
    }
    if (!DNS1123_SUBDOMAIN.test(name)) {
      errors.push(invalidValue(field, name, DNS1123_SUBDOMAIN_MESSAGE));
    }
  } else {
    if (name.length > 63) {
      errors.push(invalidValue(field, name, 'must be no more than 63 characters'));
    }
    const pattern = kind === 'label' ? DNS1123_LABEL : DNS1035_LABEL;
    if (!pattern.test(name)) {
      errors.push(invalidValue(field, name, kind === 'label' ? DNS1123_LABEL_MESSAGE : DNS1035_LABEL_MESSAGE));
    }
  }
  return errors;
}

export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

function labelErrors(field: string, labels: Labels | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf('/');
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefix = slash >= 0 ? key.slice(0, slash) : '';
    if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name) || (slash >= 0 && !DNS1123_SUBDOMAIN.test(prefix))) {
      errors.push(invalidValue(field, key, QUALIFIED_NAME_MESSAGE));
    }
    if (typeof value !== 'string') {
      errors.push(invalidValue(`${field}`, String(value), LABEL_VALUE_MESSAGE));
    } else if (value.length > 63) {
      errors.push(invalidValue(field, value, 'must be no more than 63 characters'));
    } else if (!LABEL_VALUE.test(value)) {
      errors.push(invalidValue(field, value, LABEL_VALUE_MESSAGE));
    }
  }
  return errors;
}

/** ObjectMeta rules shared by every resource. */
export function metadataErrors(object: KubeObject, kind: NameKind): FieldError[] {
  const errors: FieldError[] = [];
  const name = object.metadata.name;
  if (name === undefined || name === '') {
    errors.push(required('metadata.name', 'name or generateName is required'));
  } else {
    errors.push(...nameErrors('metadata.name', name, kind));
  }
  errors.push(...labelErrors('metadata.labels', object.metadata.labels));
  return errors;
}

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const IANA_SERVICE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function portNameErrors(field: string, name: string): FieldError[] {
  if (name.length > 15) {
    return [invalidValue(field, name, 'must be no more than 15 characters')];
  }
  if (!IANA_SERVICE_NAME.test(name) || name.includes('--')) {
    return [invalidValue(field, name, 'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)')];
  }
  if (!/[a-z]/.test(name)) {
    return [invalidValue(field, name, 'must contain at least one letter (a-z)')];
  }
  return [];
}

function portNumberErrors(field: string, port: unknown): FieldError[] {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    return [invalidValue(field, port ?? 0, 'must be between 1 and 65535, inclusive')];
  }
  return [];
}

function containerErrors(path: string, containers: readonly Container[], volumeNames: ReadonlySet<string>, seen: Set<string>): FieldError[] {
  const errors: FieldError[] = [];
  containers.forEach((container, index) => {
    const field = `${path}[${index}]`;
    if (typeof container.name !== 'string' || container.name === '') {
      errors.push(required(`${field}.name`));
    } else {
      errors.push(...nameErrors(`${field}.name`, container.name, 'label'));
      if (seen.has(container.name)) {
        errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, detail: goQuote(container.name) });
      }
      seen.add(container.name);
    }
    if (typeof container.image !== 'string' || container.image.trim() === '') {
      errors.push(required(`${field}.image`));
    }
    const portNames = new Set<string>();
    (container.ports ?? []).forEach((port, portIndex) => {
      const portField = `${field}.ports[${portIndex}]`;
      errors.push(...portNumberErrors(`${portField}.containerPort`, port.containerPort));
      if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) {
        errors.push(notSupported(`${portField}.protocol`, port.protocol, PROTOCOLS));
      }
      if (port.name !== undefined && port.name !== '') {
        errors.push(...portNameErrors(`${portField}.name`, port.name));
        if (portNames.has(port.name)) {
          errors.push({ type: 'FieldValueDuplicate', field: `${portField}.name`, detail: goQuote(port.name) });
        }
        portNames.add(port.name);
      }
      if (port.hostPort !== undefined && port.hostPort !== 0) {
        errors.push(...portNumberErrors(`${portField}.hostPort`, port.hostPort));
      }
    });
    const mounts = container.volumeMounts;
    if (Array.isArray(mounts)) {
      mounts.forEach((mount: unknown, mountIndex) => {
        const mountName = (mount as { name?: unknown }).name;
        if (typeof mountName !== 'string' || mountName === '') {
          errors.push(required(`${field}.volumeMounts[${mountIndex}].name`));
        } else if (!volumeNames.has(mountName)) {
          errors.push({ type: 'FieldValueNotFound', field: `${field}.volumeMounts[${mountIndex}].name`, detail: goQuote(mountName) });
        }
        const mountPath = (mount as { mountPath?: unknown }).mountPath;
        if (typeof mountPath !== 'string' || mountPath === '') {
          errors.push(required(`${field}.volumeMounts[${mountIndex}].mountPath`));
        }
      });
    }
  });
  return errors;
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

export function podErrors(pod: Pod): FieldError[] {
  const errors = metadataErrors(pod, 'subdomain');
  const spec = pod.spec;
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((volume, index) => {
    if (typeof volume.name !== 'string' || volume.name === '') {
      errors.push(required(`spec.volumes[${index}].name`));
      return;
    }
    errors.push(...nameErrors(`spec.volumes[${index}].name`, volume.name, 'label'));
    if (volumeNames.has(volume.name)) {
      errors.push({ type: 'FieldValueDuplicate', field: `spec.volumes[${index}].name`, detail: goQuote(volume.name) });
    }
    volumeNames.add(volume.name);
  });
  const containerNames = new Set<string>();
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    errors.push(required('spec.containers'));
  } else {
    errors.push(...containerErrors('spec.containers', spec.containers, volumeNames, containerNames));
  }
  if (Array.isArray(spec.initContainers)) {
    errors.push(...containerErrors('spec.initContainers', spec.initContainers, volumeNames, containerNames));
  }
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) {
    errors.push(notSupported('spec.restartPolicy', spec.restartPolicy, RESTART_POLICIES));
  }
  if (spec.activeDeadlineSeconds !== undefined) {
    const value = spec.activeDeadlineSeconds;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2147483647) {
      errors.push(invalidValue('spec.activeDeadlineSeconds', value, 'must be between 1 and 2147483647, inclusive'));
    }
  }
  if (spec.terminationGracePeriodSeconds !== undefined && (typeof spec.terminationGracePeriodSeconds !== 'number' || spec.terminationGracePeriodSeconds < 0)) {
    errors.push(invalidValue('spec.terminationGracePeriodSeconds', spec.terminationGracePeriodSeconds, 'must be greater than or equal to 0'));
  }
  if (spec.nodeName !== undefined && spec.nodeName !== '') {
    errors.push(...nameErrors('spec.nodeName', spec.nodeName, 'subdomain'));
  }
  return errors;
}

const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];

export function serviceErrors(service: Service, nodePortRange: { min: number; max: number }): FieldError[] {
  const errors = metadataErrors(service, 'dns1035');
  const spec = service.spec;
  const type = spec.type ?? 'ClusterIP';
  if (!SERVICE_TYPES.includes(type)) {
    errors.push(notSupported('spec.type', type, SERVICE_TYPES));
    return errors;
  }
  if (type === 'ExternalName') {
    if (typeof spec.externalName !== 'string' || spec.externalName === '') {
      errors.push(required('spec.externalName'));
    }
    return errors;
  }
  const ports = spec.ports ?? [];
  const headless = spec.clusterIP === 'None';
  if (ports.length === 0 && !headless) {
    errors.push(required('spec.ports'));
  }
  const names = new Set<string>();
  ports.forEach((port, index) => {
    const field = `spec.ports[${index}]`;
    if (ports.length > 1 && (port.name === undefined || port.name === '')) {
      errors.push(required(`${field}.name`));
    } else if (port.name !== undefined && port.name !== '') {
      errors.push(...nameErrors(`${field}.name`, port.name, 'label'));
      if (names.has(port.name)) {
        errors.push({ type: 'FieldValueDuplicate', field: `${field}.name`, detail: goQuote(port.name) });
      }
      names.add(port.name);
    }
    errors.push(...portNumberErrors(`${field}.port`, port.port));
    if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) {
      errors.push(notSupported(`${field}.protocol`, port.protocol, PROTOCOLS));
    }
    if (typeof port.targetPort === 'number') {
      errors.push(...portNumberErrors(`${field}.targetPort`, port.targetPort));
    } else if (typeof port.targetPort === 'string') {
      errors.push(...portNameErrors(`${field}.targetPort`, port.targetPort));
    }
    if (port.nodePort !== undefined && port.nodePort !== 0) {
      if (type === 'ClusterIP') {
        errors.push({ type: 'FieldValueForbidden', field: `${field}.nodePort`, detail: 'may not be used when `type` is \'ClusterIP\'' });
      } else if (port.nodePort < nodePortRange.min || port.nodePort > nodePortRange.max) {
        errors.push(invalidValue(`${field}.nodePort`, port.nodePort, `provided port is not in the valid range. The range of valid ports is ${nodePortRange.min}-${nodePortRange.max}`));
      }
    }
  });
  return errors;
}

export function namespaceErrors(namespace: Namespace): FieldError[] {
  return metadataErrors(namespace, 'label');
}

/**
 * Just enough of Kubernetes' protobuf encoding to read the review requests kubectl sends as
 * `application/vnd.kubernetes.protobuf` (`auth can-i`, `auth whoami`): the `k8s\0` envelope
 * (runtime.Unknown) and the fields of the authorization and authentication review specs.
 * Answers go back as JSON, which kubectl accepts.
 */
import { badRequest } from './status';

type Fields = Map<number, (Buffer | bigint)[]>;

function readVarint(buffer: Buffer, offset: number): { value: bigint; next: number } {
  let value = 0n;
  let shift = 0n;
  let position = offset;
  for (;;) {
    if (position >= buffer.length) {
      throw new Error('truncated varint');
    }
    const byte = buffer[position++];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) {
      return { value, next: position };
    }
    shift += 7n;
  }
}

/** Field number → values (length-delimited as Buffer, varints as bigint); other wire types skipped. */
export function readFields(buffer: Buffer): Fields {
  const fields: Fields = new Map();
  let offset = 0;
  while (offset < buffer.length) {
    const key = readVarint(buffer, offset);
    offset = key.next;
    const field = Number(key.value >> 3n);
    const wireType = Number(key.value & 7n);
    let value: Buffer | bigint;
    if (wireType === 0) {
      const varint = readVarint(buffer, offset);
      value = varint.value;
      offset = varint.next;
    } else if (wireType === 2) {
      const length = readVarint(buffer, offset);
      const start = length.next;
      const end = start + Number(length.value);
      if (end > buffer.length) {
        throw new Error('truncated field');
      }
      value = buffer.subarray(start, end);
      offset = end;
    } else if (wireType === 1) {
      value = buffer.subarray(offset, offset + 8);
      offset += 8;
    } else if (wireType === 5) {
      value = buffer.subarray(offset, offset + 4);
      offset += 4;
    } else {
      throw new Error(`unsupported wire type ${wireType}`);
    }
    const list = fields.get(field) ?? [];
    list.push(value);
    fields.set(field, list);
  }
  return fields;
}

function text(fields: Fields, field: number): string | undefined {
  const value = fields.get(field)?.[0];
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}

function message(fields: Fields, field: number): Fields | undefined {
  const value = fields.get(field)?.[0];
  return Buffer.isBuffer(value) ? readFields(value) : undefined;
}

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

function withoutUndefined(record: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

/** Decodes a protobuf review request into the JSON object the handlers read (`{spec: …}`). */
export function decodeReview(body: Buffer): Record<string, unknown> {
  try {
    if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
      throw new Error('missing k8s protobuf envelope');
    }
    const unknown = readFields(body.subarray(4));
    const typeMeta = message(unknown, 1);
    const raw = unknown.get(2)?.[0];
    const object = Buffer.isBuffer(raw) ? readFields(raw) : new Map();
    const kind = typeMeta === undefined ? undefined : text(typeMeta, 2);
    const spec = message(object, 2) ?? new Map();
    if (kind === 'SelfSubjectAccessReview') {
      const resource = message(spec, 1);
      const nonResource = message(spec, 2);
      const result: Record<string, unknown> = {};
      if (resource !== undefined) {
        result.resourceAttributes = withoutUndefined({
          namespace: text(resource, 1),
          verb: text(resource, 2),
          group: text(resource, 3),
          version: text(resource, 4),
          resource: text(resource, 5),
          subresource: text(resource, 6),
          name: text(resource, 7),
        });
      }
      if (nonResource !== undefined) {
        result.nonResourceAttributes = withoutUndefined({ path: text(nonResource, 1), verb: text(nonResource, 2) });
      }
      return { kind, spec: result };
    }
    if (kind === 'SelfSubjectRulesReview') {
      return { kind, spec: withoutUndefined({ namespace: text(spec, 1) }) };
    }
    return { kind, spec: {} };
  } catch (error) {
    throw badRequest(`the object provided is unrecognized: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function strings(fields: Fields, field: number): string[] {
  return (fields.get(field) ?? []).filter((value): value is Buffer => Buffer.isBuffer(value)).map((value) => value.toString('utf8'));
}

function stringMap(fields: Fields, field: number): Record<string, string> | undefined {
  const entries = fields.get(field);
  if (entries === undefined) {
    return undefined;
  }
  const map: Record<string, string> = {};
  for (const entry of entries) {
    if (Buffer.isBuffer(entry)) {
      const pair = readFields(entry);
      map[text(pair, 1) ?? ''] = text(pair, 2) ?? '';
    }
  }
  return map;
}

/** ObjectMeta fields a client sets on create (generated.proto numbering). */
function objectMeta(fields: Fields | undefined): Record<string, unknown> {
  if (fields === undefined) {
    return {};
  }
  const meta: Record<string, unknown> = {};
  const name = text(fields, 1);
  const generateName = text(fields, 2);
  const namespace = text(fields, 3);
  if (name !== undefined && name !== '') {
    meta.name = name;
  }
  if (generateName !== undefined && generateName !== '') {
    meta.generateName = generateName;
  }
  if (namespace !== undefined && namespace !== '') {
    meta.namespace = namespace;
  }
  const labels = stringMap(fields, 11);
  if (labels !== undefined) {
    meta.labels = labels;
  }
  const annotations = stringMap(fields, 12);
  if (annotations !== undefined) {
    meta.annotations = annotations;
  }
  return meta;
}

/**
 * A typed object sent as protobuf. Only kinds whose every field the lab can read are decoded
 * (Namespace, as `kubectl create namespace` sends it); others are the API's 415.
 */
export function decodeObject(body: Buffer, expectedKind: string): Record<string, unknown> | undefined {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) {
    return undefined;
  }
  try {
    const unknown = readFields(body.subarray(4));
    const typeMeta = message(unknown, 1);
    const kind = typeMeta === undefined ? undefined : text(typeMeta, 2);
    const raw = unknown.get(2)?.[0];
    if (kind !== expectedKind || kind !== 'Namespace' || !Buffer.isBuffer(raw)) {
      return undefined;
    }
    const object = readFields(raw);
    const spec = message(object, 2);
    return {
      apiVersion: 'v1',
      kind,
      metadata: objectMeta(message(object, 1)),
      spec: spec === undefined ? {} : { finalizers: strings(spec, 1) },
    };
  } catch {
    return undefined;
  }
}

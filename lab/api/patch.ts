/**
 * The patch formats kubectl and client-node send: JSON merge patch (RFC 7386), strategic
 * merge patch (approximated: lists of objects with a `name` merge by name, as the core API's
 * containers, ports, volumes and env do) and JSON patch (RFC 6902).
 */
import { isRecord } from './objects';
import { ApiError, badRequest } from './status';

export type PatchType = 'merge' | 'strategic' | 'json';

export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  const base = (contentType ?? '').split(';')[0].trim().toLowerCase();
  switch (base) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/json-patch+json':
      return 'json';
    default:
      return undefined;
  }
}

export function mergePatch(target: unknown, patch: unknown, strategic: boolean): unknown {
  if (!isRecord(patch)) {
    return patch;
  }
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (strategic && key.startsWith('$')) {
      continue;
    }
    if (value === null) {
      delete result[key];
    } else if (strategic && Array.isArray(value) && Array.isArray(result[key]) && isNamedList(value) && isNamedList(result[key] as unknown[])) {
      result[key] = mergeNamedLists(result[key] as Record<string, unknown>[], value as Record<string, unknown>[]);
    } else if (isRecord(value)) {
      result[key] = mergePatch(result[key], value, strategic);
    } else {
      result[key] = value;
    }
  }
  return result;
}

function isNamedList(list: readonly unknown[]): boolean {
  return list.length > 0 && list.every((item) => isRecord(item) && typeof item.name === 'string');
}

function mergeNamedLists(current: Record<string, unknown>[], patch: Record<string, unknown>[]): Record<string, unknown>[] {
  const result = current.map((item) => ({ ...item }));
  for (const item of patch) {
    const index = result.findIndex((existing) => existing.name === item.name);
    if (item.$patch === 'delete') {
      if (index >= 0) {
        result.splice(index, 1);
      }
    } else if (index >= 0) {
      result[index] = mergePatch(result[index], item, true) as Record<string, unknown>;
    } else {
      result.push(item);
    }
  }
  return result;
}

function decodePointer(pointer: string): string[] {
  if (pointer === '') {
    return [];
  }
  if (!pointer.startsWith('/')) {
    throw badRequest(`the server rejected our request due to an error in our request: invalid JSON pointer ${JSON.stringify(pointer)}`);
  }
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(document: unknown, path: string[]): { parent: Record<string, unknown> | unknown[]; key: string } {
  let current: unknown = document;
  for (const part of path.slice(0, -1)) {
    if (Array.isArray(current)) {
      current = current[Number.parseInt(part, 10)];
    } else if (isRecord(current)) {
      current = current[part];
    } else {
      current = undefined;
    }
    if (current === undefined) {
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "/${path.join('/')}"`);
    }
  }
  if (!Array.isArray(current) && !isRecord(current)) {
    throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: doc is missing path: "/${path.join('/')}"`);
  }
  return { parent: current, key: path[path.length - 1] };
}

function getAt(document: unknown, path: string[]): unknown {
  let current: unknown = document;
  for (const part of path) {
    if (Array.isArray(current)) {
      current = current[Number.parseInt(part, 10)];
    } else if (isRecord(current)) {
      current = current[part];
    } else {
      return undefined;
    }
  }
  return current;
}

function removeAt(document: unknown, path: string[]): unknown {
  const { parent, key } = parentOf(document, path);
  if (Array.isArray(parent)) {
    const [removed] = parent.splice(Number.parseInt(key, 10), 1);
    return removed;
  }
  const removed = parent[key];
  if (removed === undefined) {
    throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: remove operation does not apply: doc is missing key: /${path.join('/')}`);
  }
  delete parent[key];
  return removed;
}

function addAt(document: unknown, path: string[], value: unknown, replace: boolean): void {
  const { parent, key } = parentOf(document, path);
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number.parseInt(key, 10);
    if (replace) {
      parent[index] = value;
    } else {
      parent.splice(index, 0, value);
    }
  } else {
    if (replace && !(key in parent)) {
      throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: replace operation does not apply: doc is missing key: /${path.join('/')}`);
    }
    parent[key] = value;
  }
}

export function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw badRequest('the server rejected our request due to an error in our request: json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  const result = structuredClone(document);
  for (const operation of operations) {
    if (!isRecord(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') {
      throw badRequest('the server rejected our request due to an error in our request: invalid JSON patch operation');
    }
    const path = decodePointer(operation.path);
    switch (operation.op) {
      case 'add':
        addAt(result, path, structuredClone(operation.value), false);
        break;
      case 'replace':
        addAt(result, path, structuredClone(operation.value), true);
        break;
      case 'remove':
        removeAt(result, path);
        break;
      case 'move':
      case 'copy': {
        const from = decodePointer(String(operation.from ?? ''));
        const value = operation.op === 'move' ? removeAt(result, from) : structuredClone(getAt(result, from));
        addAt(result, path, value, false);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(result, path)) !== JSON.stringify(operation.value)) {
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value /${path.join('/')} failed: test failed`);
        }
        break;
      default:
        throw badRequest(`the server rejected our request due to an error in our request: Unexpected kind: ${operation.op}`);
    }
  }
  return result;
}

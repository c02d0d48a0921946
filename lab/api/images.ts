/**
 * Image references as containerd reports them, and the lab's "registry": an image pulls when
 * it is in the configured set of available images, and fails with containerd's NotFound
 * otherwise.
 */
import { createHash } from 'node:crypto';

/** `busybox:1.36` → `docker.io/library/busybox:1.36`, as containerd normalises references. */
export function normalizeImage(image: string): string {
  let reference = image.trim();
  const firstSlash = reference.indexOf('/');
  const firstPart = firstSlash < 0 ? '' : reference.slice(0, firstSlash);
  const hasRegistry = firstPart.includes('.') || firstPart.includes(':') || firstPart === 'localhost';
  if (!hasRegistry) {
    reference = firstSlash < 0 ? `docker.io/library/${reference}` : `docker.io/${reference}`;
  }
  const lastPart = reference.slice(reference.lastIndexOf('/') + 1);
  if (!reference.includes('@') && !lastPart.includes(':')) {
    reference = `${reference}:latest`;
  }
  return reference;
}

/** The repository part (`docker.io/library/busybox`). */
export function imageRepository(image: string): string {
  const normalized = normalizeImage(image);
  const at = normalized.indexOf('@');
  if (at >= 0) {
    return normalized.slice(0, at);
  }
  const lastSlash = normalized.lastIndexOf('/');
  const colon = normalized.indexOf(':', lastSlash);
  return colon < 0 ? normalized : normalized.slice(0, colon);
}

/** A stable digest per image name: `docker.io/library/busybox@sha256:<64 hex>`. */
export function imageId(image: string): string {
  const digest = createHash('sha256').update(`kni-lab-image:${normalizeImage(image)}`).digest('hex');
  return `${imageRepository(image)}@sha256:${digest}`;
}

/** A plausible, stable size for `Successfully pulled` events. */
export function imageSize(image: string): number {
  const digest = createHash('sha256').update(normalizeImage(image)).digest();
  return 2_000_000 + (digest.readUInt32BE(0) % 60_000_000);
}

export class ImageRegistry {
  private readonly available: Set<string>;

  constructor(images: readonly string[]) {
    this.available = new Set(images.map((image) => normalizeImage(image)));
  }

  has(image: string): boolean {
    return this.available.has(normalizeImage(image));
  }

  /** containerd's error for a reference that does not resolve. */
  pullError(image: string): string {
    const reference = normalizeImage(image);
    return `rpc error: code = NotFound desc = failed to pull and unpack image "${reference}": failed to resolve reference "${reference}": ${reference}: not found`;
  }
}

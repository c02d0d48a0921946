/**
 * Service ClusterIP and NodePort allocation, with the API server's error texts. Dynamic
 * ClusterIPs come from the upper part of the range, leaving the lower band to static
 * requests (as the real allocator does), so fixed addresses such as kube-dns' never clash.
 */
import { randomInt } from 'node:crypto';

export function ipToNumber(ip: string): number {
  const parts = ip.split('.').map((part) => Number.parseInt(part, 10));
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255)) {
    return Number.NaN;
  }
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function numberToIp(value: number): string {
  return [(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export interface Cidr {
  readonly base: number;
  readonly prefix: number;
  readonly size: number;
  readonly text: string;
}

export function parseCidr(text: string): Cidr {
  const [address, prefixText] = text.split('/');
  const prefix = Number.parseInt(prefixText, 10);
  const size = 2 ** (32 - prefix);
  const base = ipToNumber(address) - (ipToNumber(address) % size);
  return { base, prefix, size, text };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const value = ipToNumber(ip);
  return !Number.isNaN(value) && value >= cidr.base && value < cidr.base + cidr.size;
}

export class AllocationError extends Error {}

export class ClusterIpAllocator {
  private readonly cidr: Cidr;
  private readonly allocated = new Set<number>();
  private readonly staticBandEnd: number;

  constructor(cidrText: string) {
    this.cidr = parseCidr(cidrText);
    // Upstream: min(max(16, size/16), 256) addresses at the bottom form the static band.
    const band = Math.min(Math.max(16, Math.floor(this.cidr.size / 16)), 256);
    this.staticBandEnd = this.cidr.base + band;
  }

  get range(): string {
    return this.cidr.text;
  }

  /** Takes a specific address, or throws the allocator's error text. */
  allocateSpecific(ip: string): string {
    const value = ipToNumber(ip);
    if (Number.isNaN(value) || value <= this.cidr.base || value >= this.cidr.base + this.cidr.size - 1) {
      throw new AllocationError(`failed to allocate IP ${ip}: provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr.text}`);
    }
    if (this.allocated.has(value)) {
      throw new AllocationError(`failed to allocate IP ${ip}: provided IP is already allocated`);
    }
    this.allocated.add(value);
    return numberToIp(value);
  }

  allocateNext(): string {
    const first = this.staticBandEnd;
    const last = this.cidr.base + this.cidr.size - 2;
    const span = last - first + 1;
    const start = randomInt(span);
    for (let i = 0; i < span; i++) {
      const candidate = first + ((start + i) % span);
      if (!this.allocated.has(candidate)) {
        this.allocated.add(candidate);
        return numberToIp(candidate);
      }
    }
    // The dynamic band is full: fall back to the static band, as upstream does.
    for (let candidate = this.cidr.base + 1; candidate < this.staticBandEnd; candidate++) {
      if (!this.allocated.has(candidate)) {
        this.allocated.add(candidate);
        return numberToIp(candidate);
      }
    }
    throw new AllocationError('failed to allocate a serviceIP: range is full');
  }

  release(ip: string): void {
    this.allocated.delete(ipToNumber(ip));
  }
}

export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

export class NodePortAllocator {
  private readonly allocated = new Set<number>();

  allocateSpecific(port: number): number {
    if (port < NODE_PORT_RANGE.min || port > NODE_PORT_RANGE.max) {
      throw new AllocationError(`provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`);
    }
    if (this.allocated.has(port)) {
      throw new AllocationError('provided port is already allocated');
    }
    this.allocated.add(port);
    return port;
  }

  allocateNext(): number {
    const span = NODE_PORT_RANGE.max - NODE_PORT_RANGE.min + 1;
    const start = randomInt(span);
    for (let i = 0; i < span; i++) {
      const candidate = NODE_PORT_RANGE.min + ((start + i) % span);
      if (!this.allocated.has(candidate)) {
        this.allocated.add(candidate);
        return candidate;
      }
    }
    throw new AllocationError('range is full');
  }

  release(port: number): void {
    this.allocated.delete(port);
  }
}

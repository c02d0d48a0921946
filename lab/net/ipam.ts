/**
 * Pod address allocation per node, like the host-local IPAM plugin: addresses from the node's
 * pod CIDR, skipping the network, broadcast and gateway addresses, handed out round-robin
 * after the last one given (so a freed address is not reused at once).
 */
export class PodAddressAllocator {
  private readonly first: number;
  private readonly last: number;
  private readonly reserved: ReadonlySet<number>;
  private readonly owners = new Map<number, string>();
  private cursor: number;

  constructor(podCIDR: string, gatewayIP: string) {
    const [network, bitsText] = podCIDR.split('/');
    const bits = Number(bitsText);
    if (network === undefined || !Number.isInteger(bits) || bits < 8 || bits > 30) {
      throw new Error(`unusable pod CIDR ${JSON.stringify(podCIDR)}`);
    }
    const size = 2 ** (32 - bits);
    const base = Math.floor(ipToNumber(network) / size) * size;
    this.first = base + 1;
    this.last = base + size - 2;
    this.reserved = new Set([ipToNumber(gatewayIP)]);
    this.cursor = this.first - 1;
  }

  /** The owner's address: the one it already holds, or a free one. Throws when the range is full. */
  allocate(owner: string): string {
    for (const [address, holder] of this.owners) {
      if (holder === owner) {
        return numberToIp(address);
      }
    }
    const count = this.last - this.first + 1;
    for (let step = 1; step <= count; step += 1) {
      const candidate = this.first + ((this.cursor - this.first + step) % count);
      if (!this.reserved.has(candidate) && !this.owners.has(candidate)) {
        this.owners.set(candidate, owner);
        this.cursor = candidate;
        return numberToIp(candidate);
      }
    }
    throw new Error('no free pod address left on this node');
  }

  release(owner: string): void {
    for (const [address, holder] of this.owners) {
      if (holder === owner) {
        this.owners.delete(address);
      }
    }
  }
}

export function ipToNumber(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

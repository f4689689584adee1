import { isIP } from 'node:net';

/**
 * Where an IP address leads. Only `public` may be reached through the allowlist proxy by name: a name
 * that resolves to anything else (the host itself, the LAN, a cloud metadata service) is refused unless
 * a rule names that target explicitly. Pure byte arithmetic, no DNS.
 */
export type AddressScope =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

type Prefix = readonly [bytes: readonly number[], bits: number, scope: AddressScope];

const v4Prefixes: readonly Prefix[] = [
  [[0], 8, 'unspecified'],
  [[10], 8, 'private'],
  [[100, 64], 10, 'private'], // carrier-grade NAT: shared, not the internet
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'], // cloud metadata services live here
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'],
  [[192, 0, 2], 24, 'reserved'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'],
  [[198, 51, 100], 24, 'reserved'],
  [[203, 0, 113], 24, 'reserved'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'],
];

const v6Prefixes: readonly Prefix[] = [
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'reserved'], // discard-only
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'reserved'], // documentation
  [[0x20, 0x01, 0, 0], 32, 'reserved'], // Teredo: tunnels to an address it hides
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'reserved'], // local-use NAT64
  [[0xfc], 7, 'unique-local'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'], // site-local (deprecated, still routed by some networks)
  [[0xff], 8, 'multicast'],
];

function matches(address: readonly number[], [bytes, bits]: Prefix): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const take = Math.min(8, bits - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((address[bit / 8] ?? 0) & mask) !== ((bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function v4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (zone id dropped, a trailing dotted IPv4 part included). */
export function v6Bytes(text: string): number[] {
  let rest = text.replace(/%.*$/, '').toLowerCase();
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(rest);
  if (dotted?.[1] !== undefined) {
    tail = v4Bytes(dotted[1]);
    rest = `${rest.slice(0, dotted.index)}0:0`;
  }
  const [head = '', after] = rest.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const front = groups(head);
  const back = after === undefined ? [] : groups(after);
  const words = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  const bytes = words.flatMap((word) => [(word >> 8) & 0xff, word & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

function scopeOfV4(bytes: readonly number[]): AddressScope {
  return v4Prefixes.find((prefix) => matches(bytes, prefix))?.[2] ?? 'public';
}

function scopeOfV6(bytes: readonly number[]): AddressScope {
  const zeros = (from: number, to: number): boolean => bytes.slice(from, to).every((byte) => byte === 0);
  if (zeros(0, 16)) return 'unspecified';
  if (zeros(0, 15) && bytes[15] === 1) return 'loopback';
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) lead to the IPv4 address they carry.
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return scopeOfV4(bytes.slice(12));
  if (matches(bytes, [[0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96, 'public'])) {
    return scopeOfV4(bytes.slice(12));
  }
  if (zeros(0, 12)) return 'reserved'; // IPv4-compatible (deprecated)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return scopeOfV4(bytes.slice(2, 6)); // 6to4
  return v6Prefixes.find((prefix) => matches(bytes, prefix))?.[2] ?? 'public';
}

/** The scope of an IP address; anything that is not an address is `reserved` (never reachable). */
export function addressScope(address: string): AddressScope {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return scopeOfV4(v4Bytes(address));
  if (family === 6) return scopeOfV6(v6Bytes(address));
  return 'reserved';
}

/** One spelling per address (`::FFFF:127.0.0.1` and `::ffff:7f00:1` are the same), for comparing rules. */
export function canonicalAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return v4Bytes(address).join('.');
  if (family !== 6) return undefined;
  const bytes = v6Bytes(address);
  const words: string[] = [];
  for (let index = 0; index < 16; index += 2) {
    words.push((((bytes[index] ?? 0) << 8) | (bytes[index + 1] ?? 0)).toString(16));
  }
  return words.join(':');
}

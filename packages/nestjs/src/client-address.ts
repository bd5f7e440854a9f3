import { isIPv4, isIPv6 } from 'node:net';

/**
 * The limiter's key for an anonymous caller's address. One host usually owns a whole IPv6 /64
 * (and can pick any address in it), so IPv6 callers are counted per /64 prefix; an IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket reports) is the IPv4 address itself.
 * Anything that is not an IP address (a test double, `undefined` upstream) is kept as it is.
 */
export function limiterAddress(address: string): string {
  // What sockets report on every request, answered without parsing: an IPv4 address, plain or
  // mapped by a dual-stack socket (Node writes the prefix in lower case).
  const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIPv4(mapped)) return mapped;
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const unzoned = ip.split('%')[0];
  if (!isIPv6(unzoned)) return isIPv4(ip) ? ip : address;
  const groups = ipv6Groups(unzoned);
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups(ip: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const hex = dotted
    ? `${ip.slice(0, dotted.index)}${((+dotted[1] << 8) | +dotted[2]).toString(16)}:${((+dotted[3] << 8) | +dotted[4]).toString(16)}`
    : ip;
  const [head, tail] = hex.split('::');
  const parse = (part: string | undefined) =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const [front, back] = [parse(head), parse(tail)];
  return tail === undefined
    ? front
    : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

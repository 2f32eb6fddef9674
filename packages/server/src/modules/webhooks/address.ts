import { BlockList, isIPv4 } from 'node:net'

/**
 * Which addresses a webhook may reach unless private targets are allowed: the
 * one judgement for a literal in the URL and for every address a host name
 * resolves to, at registration and again at each delivery (`transport.ts`).
 *
 * IPv4: everything but loopback, private, link-local (cloud metadata lives at
 * 169.254.169.254), carrier-grade NAT, "this network", IETF protocol
 * assignments, documentation, benchmarking, 6to4 relay anycast, multicast and
 * reserved/broadcast.
 *
 * IPv6 is parsed into its 16 bytes (not matched as text: one address has many
 * spellings, and the URL parser rewrites `[::127.0.0.1]` as `[::7f00:1]`) and is
 * public only when it is global unicast (2000::/3, which leaves out loopback,
 * unspecified, unique local — fd00:ec2::254 is metadata too —, link-local,
 * site-local, multicast, discard and everything unassigned) outside
 * 2001::/23 (IETF protocol assignments: Teredo, benchmarking, ORCHID),
 * 2001:db8::/32 and 3fff::/20 (documentation) and 2002::/16 (6to4, whose relays
 * RFC 7526 deprecates) — or when it is one of the forms that only carry an IPv4
 * address and that IPv4 address is public:
 *
 * - IPv4-compatible `::a.b.c.d` (::/96, deprecated; a sit tunnel sends it to a.b.c.d),
 * - IPv4-mapped `::ffff:a.b.c.d` (::ffff:0:0/96; a dual-stack socket connects to a.b.c.d),
 * - IPv4-translated `::ffff:0:a.b.c.d` (::ffff:0:0:0/96, RFC 2765),
 * - NAT64 with the well-known prefix `64:ff9b::a.b.c.d` (64:ff9b::/96, RFC 6052).
 *
 * The NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215) is not global and is
 * refused whole: where the IPv4 address sits in it depends on the operator's
 * prefix length. Global unicast addresses that embed an IPv4 address are judged
 * by it as well, on top of their own range: ISATAP interface identifiers
 * (`…:0:5efe:a.b.c.d`, `…:200:5efe:a.b.c.d`, any prefix), and 6to4 (bytes 2–5)
 * and Teredo (server in bytes 4–7, client in the last 4 bytes inverted), which
 * are refused whole today. A NAT64 network-specific prefix (RFC 6052) cannot be
 * told from an ordinary global address; the operator's network must not
 * translate towards its own private ranges.
 */
const blockedIpv4 = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blockedIpv4.addSubnet(network, prefix, 'ipv4')

const globalUnicast = new BlockList()
globalUnicast.addSubnet('2000::', 3, 'ipv6')
const blockedIpv6 = new BlockList()
for (const [network, prefix] of [['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['3fff::', 20]] as const) blockedIpv6.addSubnet(network, prefix, 'ipv6')

/** True when `address` (an IPv4 or IPv6 literal, without brackets) is on the public internet. */
export function isPublicAddress(address: string): boolean {
  if (isIPv4(address)) return !blockedIpv4.check(address, 'ipv4')
  const bytes = parseIpv6(address)
  if (!bytes) return false
  const carried = ipv4Only(bytes)
  if (carried !== null) return isPublicAddress(carried)
  const text = formatIpv6(bytes)
  if (!globalUnicast.check(text, 'ipv6') || blockedIpv6.check(text, 'ipv6')) return false
  return embeddedIpv4(bytes).every(isPublicAddress)
}

/**
 * The IPv4 address of an IPv6 form that is nothing but a carrier for it
 * (compatible, mapped, translated, NAT64 well-known prefix), else null.
 */
export function ipv4Only(bytes: Uint8Array): string | null {
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((byte) => byte === 0)
  const compatible = zeros(0, 12)
  const mapped = zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff
  const translated = zeros(0, 8) && bytes[8] === 0xff && bytes[9] === 0xff && zeros(10, 12)
  const nat64 = bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)
  return compatible || mapped || translated || nat64 ? ipv4At(bytes, 12) : null
}

/** IPv4 addresses inside a global unicast IPv6 address: 6to4, Teredo server and client, ISATAP. */
export function embeddedIpv4(bytes: Uint8Array): string[] {
  const found: string[] = []
  if (bytes[0] === 0x20 && bytes[1] === 0x02) found.push(ipv4At(bytes, 2))
  if (bytes[0] === 0x20 && bytes[1] === 0x01 && bytes[2] === 0x00 && bytes[3] === 0x00) found.push(ipv4At(bytes, 4), ipv4At(bytes, 12, 0xff))
  // ISATAP interface identifier (RFC 5214): 00-00-5e-fe, or with the universal/group bits set.
  if ((bytes[8]! & 0xfc) === 0 && bytes[9] === 0 && bytes[10] === 0x5e && bytes[11] === 0xfe) found.push(ipv4At(bytes, 12))
  return found
}

/**
 * The 16 bytes of an IPv6 address, or null if it is not one: hex groups in any
 * case with leading zeros or not, one `::` standing for one or more zero
 * groups, a dotted-quad IPv4 tail, and a zone id (`%eth0`, ignored). No brackets.
 */
export function parseIpv6(text: string): Uint8Array | null {
  let address = text
  const zone = text.indexOf('%')
  if (zone !== -1) {
    if (zone === text.length - 1) return null
    address = text.slice(0, zone)
  }
  const lastColon = address.lastIndexOf(':')
  if (lastColon === -1) return null
  const tail = address.slice(lastColon + 1)
  if (tail.includes('.')) {
    if (!isIPv4(tail)) return null
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number]
    address = `${address.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const halves = address.split('::')
  if (halves.length > 2) return null
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'))
  const head = groupsOf(halves[0]!)
  const rest = halves.length === 2 ? groupsOf(halves[1]!) : []
  if (halves.length === 2 ? head.length + rest.length > 7 : head.length !== 8) return null
  const groups = [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest]
  const bytes = new Uint8Array(16)
  for (const [i, group] of groups.entries()) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null
    const value = parseInt(group, 16)
    bytes[2 * i] = value >> 8
    bytes[2 * i + 1] = value & 0xff
  }
  return bytes
}

function ipv4At(bytes: Uint8Array, offset: number, xor = 0): string {
  return Array.from(bytes.subarray(offset, offset + 4), (byte) => byte ^ xor).join('.')
}

/** Eight uncompressed hex groups, a spelling BlockList reads. */
function formatIpv6(bytes: Uint8Array): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return groups.join(':')
}

import assert from 'node:assert/strict'
import { BlockList, isIPv6 } from 'node:net'
import { describe, it } from 'node:test'
import { embeddedIpv4, ipv4Only, isPublicAddress, parseIpv6 } from '../../src/modules/webhooks/address.ts'

/*
 * The webhook address filter (src/modules/webhooks/address.ts). Pure classifier
 * inputs: nothing here is connected to. The "public" literals are public-looking
 * addresses outside every special range, used only to check that the filter
 * lets ordinary public addresses through.
 */

/** [address, public?, why] */
const CASES: Array<[string, boolean, string]> = [
  // IPv4
  ['93.184.216.34', true, 'public IPv4'],
  ['8.8.8.8', true, 'public IPv4'],
  ['1.1.1.1', true, 'public IPv4'],
  ['127.0.0.1', false, 'loopback'],
  ['127.255.255.254', false, 'loopback'],
  ['10.0.0.1', false, 'private'],
  ['172.16.5.4', false, 'private'],
  ['172.31.255.255', false, 'private'],
  ['172.32.0.1', true, 'just outside 172.16/12'],
  ['192.168.0.1', false, 'private'],
  ['169.254.169.254', false, 'link-local (cloud metadata)'],
  ['100.64.0.1', false, 'carrier-grade NAT'],
  ['0.0.0.0', false, 'unspecified'],
  ['224.0.0.1', false, 'multicast'],
  ['255.255.255.255', false, 'broadcast'],
  ['192.0.2.1', false, 'documentation'],
  ['198.18.0.1', false, 'benchmarking'],

  // Plain IPv6
  ['2606:4700:4700::1111', true, 'public IPv6'],
  ['2a00:1450:4001:81c::200e', true, 'public IPv6'],
  ['2606:4700:4700:0:0:0:0:1111', true, 'public IPv6, uncompressed'],
  ['2606:4700:4700::1111%eth0', true, 'public IPv6 with a zone id'],
  ['::1', false, 'loopback'],
  ['0:0:0:0:0:0:0:1', false, 'loopback, uncompressed'],
  ['::', false, 'unspecified'],
  ['fe80::1', false, 'link-local'],
  ['FE80::1%25eth0', false, 'link-local, upper case, zone id'],
  ['fd00:ec2::254', false, 'unique local (AWS metadata)'],
  ['fc00::1', false, 'unique local'],
  ['fec0::1', false, 'site-local (deprecated)'],
  ['ff02::1', false, 'multicast'],
  ['2001:db8::1', false, 'documentation'],
  ['3fff::1', false, 'documentation (RFC 9637)'],
  ['100::1', false, 'discard'],
  ['5f00::1', false, 'SRv6 SIDs, outside global unicast'],
  ['4000::1', false, 'unassigned, outside 2000::/3'],
  ['::1:0:0:1', false, 'reserved ::/8, no IPv4 form'],

  // IPv4-compatible ::/96 (deprecated): judged by the IPv4 inside
  ['::127.0.0.1', false, 'compatible, loopback inside'],
  ['::7f00:1', false, 'compatible, loopback inside, as the URL parser writes it'],
  ['::a9fe:a9fe', false, 'compatible, 169.254.169.254 inside'],
  ['::a00:5', false, 'compatible, 10.0.0.5 inside'],
  ['::0.0.0.2', false, 'compatible, 0.0.0.2 inside'],
  ['::808:808', true, 'compatible, 8.8.8.8 inside'],

  // IPv4-mapped ::ffff:0:0/96
  ['::ffff:127.0.0.1', false, 'mapped, loopback'],
  ['::FFFF:7F00:1', false, 'mapped, loopback, upper case'],
  ['0:0:0:0:0:ffff:7f00:1', false, 'mapped, uncompressed'],
  ['0000:0000:0000:0000:0000:ffff:127.0.0.1', false, 'mapped, zero-padded, dotted tail'],
  ['::ffff:a9fe:a9fe', false, 'mapped, metadata'],
  ['::ffff:8.8.8.8', true, 'mapped, public'],
  ['::ffff:808:808', true, 'mapped, public, hex'],

  // IPv4-translated ::ffff:0:0:0/96 (RFC 2765)
  ['::ffff:0:127.0.0.1', false, 'translated, loopback'],
  ['::ffff:0:7f00:1', false, 'translated, loopback, hex'],
  ['::ffff:0:a9fe:a9fe', false, 'translated, metadata'],
  ['::ffff:0:808:808', true, 'translated, public'],

  // NAT64 well-known prefix 64:ff9b::/96, and the local-use 64:ff9b:1::/48 (RFC 8215, not global)
  ['64:ff9b::127.0.0.1', false, 'NAT64, loopback'],
  ['64:ff9b::a00:1', false, 'NAT64, private'],
  ['64:FF9B::A9FE:A9FE', false, 'NAT64, metadata'],
  ['64:ff9b::808:808', true, 'NAT64, public'],
  ['64:ff9b:1::808:808', false, 'NAT64 local-use: not globally reachable'],
  ['64:ff9b:1:abcd::7f00:1', false, 'NAT64 local-use'],

  // 6to4 2002::/16 (IPv4 in bytes 2-5): refused wholesale (RFC 7526 deprecates the relays)
  ['2002:7f00:1::', false, '6to4, loopback inside'],
  ['2002:a9fe:a9fe::1', false, '6to4, metadata inside'],
  ['2002:808:808::1', false, '6to4, public inside: still refused'],

  // Teredo 2001::/32: refused wholesale (2001::/23 is IETF protocol assignments)
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', false, 'Teredo, client 127.0.0.1'],
  ['2001:0:808:808:0:0:f7f7:f7f7', false, 'Teredo, public server and client: still refused'],

  // ISATAP interface identifiers (…:0:5efe:a.b.c.d, …:200:5efe:a.b.c.d) under a public prefix
  ['2606:4700:4700:1::5efe:127.0.0.1', false, 'ISATAP, loopback inside'],
  ['2606:4700:4700:1:0:5efe:a00:1', false, 'ISATAP, private inside'],
  ['2606:4700:4700:1:200:5efe:a9fe:a9fe', false, 'ISATAP (global bit), metadata inside'],
  ['2606:4700:4700:1:200:5efe:808:808', true, 'ISATAP, public inside'],

  // Not addresses
  ['not-an-ip', false, 'a name'],
  ['', false, 'empty'],
  ['1::2::3', false, 'two ::'],
  ['1:2:3:4:5:6:7:8:9', false, 'nine groups'],
  ['::12345', false, 'a five-digit group'],
  ['::ffff:127.0.0.256', false, 'a bad dotted quad'],
  ['[::1]', false, 'brackets'],
]

describe('webhook address filter', () => {
  it('judges every address form, and IPv6 forms that carry an IPv4 address by that address', () => {
    const wrong = CASES.filter(([address, expected]) => isPublicAddress(address) !== expected)
    assert.deepEqual(wrong.map(([address, expected, why]) => `${address} (${why}) should be ${expected ? 'public' : 'refused'}`), [])
  })
})

/** A small deterministic generator (the same cases on every run). */
function generator(seed: number) {
  let state = seed >>> 0
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    return state % n
  }
}

/** Ways to write the address of eight groups: padded or not, any case, `::` over a zero run, a dotted-quad tail, a zone id. */
function spellings(groups: number[], pick: (n: number) => number): string[] {
  const hex = groups.map((g) => g.toString(16))
  const out = [hex.join(':'), groups.map((g) => g.toString(16).padStart(4, '0')).join(':').toUpperCase()]
  const runs: Array<[number, number]> = []
  for (let i = 0; i < 8; i++) {
    if (groups[i] !== 0) continue
    let j = i
    while (j < 8 && groups[j] === 0) j++
    runs.push([i, j])
    i = j
  }
  for (const [from, to] of runs) out.push(`${hex.slice(0, from).join(':')}::${hex.slice(to).join(':')}`)
  const quad = `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`
  out.push(`${hex.slice(0, 6).join(':')}:${quad}`)
  const head = runs.find(([, to]) => to <= 6)
  if (head) out.push(`${hex.slice(0, head[0]).join(':')}::${hex.slice(head[1], 6).join(':')}${head[1] < 6 ? ':' : ''}${quad}`)
  out.push(`${out[pick(out.length)]!}%eth${pick(10)}`)
  return out
}

/** The 16 bytes as Node reads them: a BlockList of the one address, checked with eight plain groups. */
function sameAsNode(spelling: string, bytes: Uint8Array): boolean {
  const list = new BlockList()
  list.addAddress(spelling.split('%')[0]!, 'ipv6')
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16))
  return list.check(groups.join(':'), 'ipv6')
}

describe('IPv6 parsing', () => {
  it('reads every spelling of an address to the same 16 bytes, as Node does', () => {
    const pick = generator(13)
    for (let n = 0; n < 500; n++) {
      const groups = Array.from({ length: 8 }, () => (pick(2) ? 0 : pick(3) ? pick(0x10000) : pick(16)))
      const expected = new Uint8Array(groups.flatMap((g) => [g >> 8, g & 255]))
      for (const spelling of spellings(groups, pick)) {
        assert.ok(isIPv6(spelling), `Node reads ${spelling}`)
        assert.deepEqual(parseIpv6(spelling), expected, spelling)
        assert.ok(sameAsNode(spelling, expected), spelling)
      }
    }
  })

  it('refuses what is not an IPv6 address, as Node does', () => {
    const pick = generator(7)
    const alphabet = '0123456789abcdefgABCDEF:.%'
    let refused = 0
    for (let n = 0; n < 3000; n++) {
      const groups = Array.from({ length: 8 }, () => (pick(2) ? 0 : pick(0x10000)))
      const all = spellings(groups, pick)
      const chars = [...all[pick(all.length)]!]
      // One to three edits: a character inserted, dropped or replaced.
      for (let edits = 1 + pick(3); edits > 0; edits--) {
        const at = pick(chars.length + 1)
        const edit = pick(3)
        if (edit === 0) chars.splice(at, 0, alphabet[pick(alphabet.length)]!)
        else if (edit === 1) chars.splice(at, 1)
        else chars[at] = alphabet[pick(alphabet.length)]!
      }
      const text = chars.join('')
      const bytes = parseIpv6(text)
      assert.equal(bytes !== null, isIPv6(text), text)
      if (bytes) assert.ok(sameAsNode(text, bytes), text)
      else refused++
    }
    assert.ok(refused > 1000, `${refused} of the edited spellings were not addresses`)
    for (const text of ['', ':', ':::', '1:::2', ':1::', '1::2::3', '1:2:3:4:5:6:7:8::', '1:2:3:4:5:6:7:1.2.3.4', '::01.2.3.4', '::1.2.3', 'fe80::1%', '%eth0', '12345::', 'g::', '1.2.3.4', '[::1]']) {
      assert.equal(parseIpv6(text), null, text)
    }
  })

  it('finds the IPv4 address an IPv6 form carries', () => {
    const bytes = (text: string) => parseIpv6(text)!
    assert.equal(ipv4Only(bytes('::7f00:1')), '127.0.0.1')
    assert.equal(ipv4Only(bytes('::ffff:169.254.169.254')), '169.254.169.254')
    assert.equal(ipv4Only(bytes('::ffff:0:a00:1')), '10.0.0.1')
    assert.equal(ipv4Only(bytes('64:ff9b::c0a8:101')), '192.168.1.1')
    assert.equal(ipv4Only(bytes('::1')), '0.0.0.1')
    assert.equal(ipv4Only(bytes('::1:0:7f00:1')), null)
    assert.equal(ipv4Only(bytes('64:ff9b:1::7f00:1')), null)
    assert.equal(ipv4Only(bytes('2606:4700:4700::1111')), null)
    assert.deepEqual(embeddedIpv4(bytes('2002:c0a8:101::1')), ['192.168.1.1'])
    assert.deepEqual(embeddedIpv4(bytes('2001:0:4136:e378:8000:63bf:3fff:fdd2')), ['65.54.227.120', '192.0.2.45'])
    assert.deepEqual(embeddedIpv4(bytes('2606:4700:4700:1::5efe:10.1.2.3')), ['10.1.2.3'])
    assert.deepEqual(embeddedIpv4(bytes('2606:4700:4700:1:200:5efe:a01:203')), ['10.1.2.3'])
    assert.deepEqual(embeddedIpv4(bytes('2606:4700:4700::1111')), [])
  })
})

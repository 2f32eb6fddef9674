// Part 3: webhook SSRF. Without WORKEN_WEBHOOKS_ALLOW_PRIVATE, no webhook URL may point to
// loopback, private, link-local (cloud metadata), shared or reserved addresses, however the
// address is spelled; and a refusal must not say what a host name resolved to (a DNS oracle
// into the deployment's network), neither in the 422 nor in the delivery log.
//
// Only literal addresses and `localhost` (answered from /etc/hosts) are used: any other name
// would make the server ask a DNS resolver off this machine. That leaves out `localhost.`
// (with the root dot, glibc skips /etc/hosts and asks DNS) and names such as
// `*.localtest.me` or `*.nip.io`.
import type { ServerProcess } from '../../test/support/process.ts'
import { api, must, until, type Finding, type PartResult } from './common.ts'

/** Every spelling the review tries. Each one is a URL the server must refuse. */
export const SSRF_URLS: string[] = [
  // Loopback, IPv4, in the spellings WHATWG URL parsing turns into 127.0.0.1.
  'https://127.0.0.1/hook', 'https://127.1/hook', 'https://127.0.1/hook', 'https://2130706433/hook', 'https://0x7f000001/hook',
  'https://0x7f.0x0.0x0.0x1/hook', 'https://0177.0.0.1/hook', 'https://017700000001/hook', 'https://0x7f.1/hook', 'https://127.000.000.001/hook',
  'https://127.255.255.254:8443/hook', 'https://0.0.0.0/hook', 'https://0/hook',
  // Names from /etc/hosts only (no DNS traffic), in the forms URL parsing folds.
  'https://localhost/hook', 'https://localhost:9/hook', 'https://LOCALHOST/hook', 'https://LocalHost:443/hook',
  // Private and shared ranges.
  'https://10.0.0.1/hook', 'https://10.255.255.254/hook', 'https://172.16.0.1/hook', 'https://172.31.255.254/hook', 'https://192.168.0.1/hook',
  'https://192.168.1.1:8080/hook', 'https://100.64.0.1/hook', 'https://0xa000001/hook', 'https://012.0.0.1/hook',
  // Cloud metadata (AWS/GCP/Azure 169.254.169.254, ECS 169.254.170.2, Alibaba 100.100.100.200, Oracle 192.0.0.192).
  'https://169.254.169.254/latest/meta-data/', 'https://169.254.170.2/v2/credentials', 'https://0xa9fea9fe/', 'https://2852039166/',
  'https://0251.0376.0251.0376/', 'https://169.254.43518/', 'https://100.100.100.200/latest/meta-data/', 'https://192.0.0.192/',
  // Reserved, multicast, broadcast, benchmarking.
  'https://224.0.0.1/hook', 'https://255.255.255.255/hook', 'https://198.18.0.1/hook', 'https://240.0.0.1/hook',
  // IPv6 loopback and unspecified.
  'https://[::1]/hook', 'https://[0:0:0:0:0:0:0:1]/hook', 'https://[0000:0000:0000:0000:0000:0000:0000:0001]/hook', 'https://[::]/hook',
  // IPv6 forms that carry an IPv4 address: mapped, compatible, translated, NAT64, 6to4, Teredo, ISATAP.
  'https://[::ffff:127.0.0.1]/hook', 'https://[::ffff:7f00:1]/hook', 'https://[::FFFF:7F00:0001]/hook', 'https://[0:0:0:0:0:ffff:127.0.0.1]/hook',
  'https://[::127.0.0.1]/hook', 'https://[::7f00:1]/hook', 'https://[::ffff:0:127.0.0.1]/hook', 'https://[::ffff:0:7f00:1]/hook',
  'https://[::a9fe:a9fe]/latest/meta-data/', 'https://[::ffff:169.254.169.254]/latest/meta-data/', 'https://[::ffff:a9fe:a9fe]/',
  'https://[::ffff:10.0.0.1]/hook', 'https://[::ffff:192.168.1.1]/hook', 'https://[::ffff:0:a9fe:a9fe]/',
  'https://[64:ff9b::7f00:1]/hook', 'https://[64:ff9b::127.0.0.1]/hook', 'https://[64:ff9b::169.254.169.254]/', 'https://[64:ff9b:1::a00:1]/hook',
  'https://[2002:7f00:1::]/hook', 'https://[2002:a9fe:a9fe::1]/', 'https://[2001:0:7f00:1::1]/hook', 'https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook',
  'https://[fe80::200:5efe:7f00:1]/hook', 'https://[2606:4700:4700:1:0:5efe:127.0.0.1]/hook',
  // IPv6 ranges that are not global: link-local, unique local (AWS IMDS fd00:ec2::254), site-local, multicast, documentation.
  'https://[fe80::1]/hook', 'https://[fd00:ec2::254]/latest/meta-data/', 'https://[fc00::1]/hook', 'https://[fec0::1]/hook', 'https://[ff02::1]/hook', 'https://[2001:db8::1]/hook',
  // Schemes and tricks: plain http, credentials pointing elsewhere, file and gopher.
  'http://127.0.0.1/hook', 'http://169.254.169.254/latest/meta-data/', 'https://user:pass@127.0.0.1/hook', 'file:///etc/passwd', 'gopher://127.0.0.1:6379/_INFO',
]

/** Addresses `localhost` resolves to here: a refusal of a name must name none of them. */
const LOCALHOST_ADDRESSES = ['127.0.0.1', '::1', '0:0:0:0:0:0:0:1']

export type SsrfSetup = { projectKey: string; updateTarget: string; dnsTarget: string }

/**
 * On a server WITH private addresses allowed: a project for the SSRF part with two endpoints,
 * one to aim updates at, and one at `http://localhost:<port>` whose deliveries, once the
 * server runs without the allowance, are refused after a lookup. The project has no threads:
 * nothing there makes events, so an endpoint wrongly accepted receives nothing.
 */
export async function prepareSsrf(base: string, key: string, organizationId: string, receiverUrl: string): Promise<SsrfSetup> {
  const project = await must(base, key, 'POST', '/projects', { name: 'SSRF probes', organization_id: organizationId })
  const projectKey = project.api_key.key
  const update = await must(base, projectKey, 'POST', '/webhook-endpoints', { url: `${receiverUrl}/ssrf-update`, secret: 'ssrf-probe-secret-0123456789' })
  const port = new URL(receiverUrl).port
  const dns = await must(base, projectKey, 'POST', '/webhook-endpoints', { url: `http://localhost:${port}/ssrf-dns`, secret: 'ssrf-probe-secret-0123456789' })
  return { projectKey, updateTarget: update.id, dnsTarget: dns.id }
}

/** On a server with the default configuration (private addresses refused). */
export async function webhookSsrf(server: ServerProcess, setup: SsrfSetup): Promise<PartResult> {
  const base = server.publicUrl
  const key = setup.projectKey
  const findings: Finding[] = []
  let attempts = 0
  let accepted = 0
  let revealed = 0
  for (const url of SSRF_URLS) {
    for (const [method, path] of [['POST', '/webhook-endpoints'], ['PUT', `/webhook-endpoints/${setup.updateTarget}`]] as const) {
      attempts++
      const reply = await api(base, key, method, path, { url, secret: 'ssrf-probe-secret-0123456789' })
      if (reply.status >= 200 && reply.status < 300) {
        accepted++
        findings.push({ part: 'ssrf', summary: `${method} ${path} accepted the webhook URL ${url}`, request: `${method} ${path} {"url":"${url}"}`, response: 'text' in reply ? reply.text.slice(0, 300) : '' })
        // Taken out of service at once: nothing must ever be sent there.
        if (method === 'POST') await api(base, key, 'DELETE', `/webhook-endpoints/${(reply as any).json.id}`)
        else await api(base, key, 'PUT', path, { status: 'disabled' })
        continue
      }
      if (reply.status !== 422 && reply.status !== 400) findings.push({ part: 'ssrf', summary: `${method} ${path} answered ${reply.status} for ${url} (expected 422)`, response: 'text' in reply ? reply.text.slice(0, 300) : reply.error })
      const host = URL.canParse(url) ? new URL(url).hostname : ''
      const isName = /[a-z]/i.test(host) && !host.startsWith('[') && !/^0x/i.test(host)
      const text = 'text' in reply ? reply.text : ''
      const named = LOCALHOST_ADDRESSES.find((address) => text.includes(address))
      if (isName && named) {
        revealed++
        findings.push({ part: 'ssrf', summary: `the refusal of ${url} says what the name resolved to (${named})`, request: `${method} ${path} {"url":"${url}"}`, response: text.slice(0, 300) })
      }
    }
  }

  // The delivery log: an endpoint registered at `localhost` while allowed, now refused at
  // delivery after a lookup; the logged error must not name the address either.
  const test = await api(base, key, 'POST', `/webhook-endpoints/${setup.dnsTarget}/test`)
  let logged = ''
  if ('json' in test && test.json?.id) {
    const deliveryId = test.json.id
    await until(async () => {
      const delivery = await api(base, key, 'GET', `/webhook-endpoints/${setup.dnsTarget}/deliveries/${deliveryId}`)
      logged = 'text' in delivery ? delivery.text : ''
      return 'json' in delivery && (delivery.json?.attempts ?? 0) > 0 && delivery.json?.last_error !== null
    }, 30_000, 250)
  } else findings.push({ part: 'ssrf', summary: `POST /webhook-endpoints/{id}/test answered ${test.status}`, response: 'text' in test ? test.text.slice(0, 300) : test.error })
  const loggedAddress = LOCALHOST_ADDRESSES.find((address) => logged.includes(address))
  if (loggedAddress) {
    revealed++
    findings.push({ part: 'ssrf', summary: `the delivery log of an endpoint at localhost names the address it resolved to (${loggedAddress})`, response: logged.slice(0, 600) })
  }
  const deliveryChecked = logged.includes('last_error') && !logged.includes('"last_error":null')

  return {
    figures: [
      { figure: 'webhook SSRF URLs (create + update)', value: `${SSRF_URLS.length} (${attempts})`, expected: '≥ 45', ok: SSRF_URLS.length >= 45 },
      { figure: 'webhook SSRF URLs accepted', value: accepted, expected: '0', ok: accepted === 0 },
      { figure: 'refusals revealing a resolved address', value: revealed, expected: '0', ok: revealed === 0 && deliveryChecked, note: deliveryChecked ? '422s and the delivery log' : 'the delivery log was not read: no attempt logged' },
    ],
    findings,
  }
}

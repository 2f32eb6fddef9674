// Quick checks of the other items of the review: slow clients are cut, a deleted key's event
// streams end within a second, a key holds at most WORKEN_EVENTS_MAX_STREAMS_PER_KEY streams,
// and lists without `limit` answer one default page.
import fs from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import { fileURLToPath } from 'node:url'
import type { ServerProcess } from '../../test/support/process.ts'
import { api, must, type Figure, type Finding, type PartResult } from './common.ts'

const CONFIG_SOURCE = fileURLToPath(new URL('../../src/config.ts', import.meta.url))

/** Whether this checkout's configuration reads `variable` (items land on the branch at different times). */
export function configures(variable: string): boolean {
  return fs.readFileSync(CONFIG_SOURCE, 'utf8').includes(`${variable}:`)
}

/** The slow-client timeouts the review starts its default-configuration server with, when this checkout has them. */
export const SLOW_CLIENT_ENV = { WORKEN_HEADERS_TIMEOUT_MS: '2000', WORKEN_BODY_IDLE_TIMEOUT_MS: '2000' }

export function slowClientEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(SLOW_CLIENT_ENV).filter(([variable]) => configures(variable)))
}

/** Opens an event stream and keeps it; `ended` resolves (with the time) when the server ends it. */
function holdStream(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; ended: Promise<number>; close(): void }> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    // A socket of its own: the shared keep-alive pool must not be held by a stream.
    const request = http.request({ host: url.hostname, port: url.port, path, headers, agent: false })
    request.on('error', reject)
    request.on('response', (response) => {
      response.resume()
      const ended = new Promise<number>((done) => {
        const at = () => done(performance.now())
        response.once('end', at)
        response.once('close', at)
        response.once('error', at)
      })
      resolve({ status: response.statusCode ?? 0, headers: response.headers, ended, close: () => request.destroy() })
    })
    request.end()
  })
}

/** Sends `head` on a raw socket and then stays silent (or trickles every 500 ms); resolves with how long the server took to close it, and the status line it sent. */
export function slowClient(base: string, head: string, trickle: string | null, giveUpMs: number): Promise<{ closedAfterMs: number | null; said: string }> {
  const url = new URL(base)
  return new Promise((resolve) => {
    const started = performance.now()
    let said = ''
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(head))
    const timer = trickle === null ? undefined : setInterval(() => socket.writable && socket.write(trickle), 500)
    const giveUp = setTimeout(() => finish(null), giveUpMs)
    socket.on('data', (chunk) => (said += chunk.toString()))
    socket.on('error', () => {})
    socket.on('close', () => finish(performance.now() - started))
    function finish(ms: number | null) {
      clearInterval(timer)
      clearTimeout(giveUp)
      socket.destroy()
      resolve({ closedAfterMs: ms, said: said.split('\r\n')[0] ?? '' })
    }
  })
}

export async function quickChecks(server: ServerProcess, key: string, organizationId: string): Promise<PartResult> {
  const base = server.publicUrl
  const figures: Figure[] = []
  const findings: Finding[] = []
  // A project of its own: its bots and keys stay out of the other parts' way.
  const project = await must(base, key, 'POST', '/projects', { name: 'Quick checks', organization_id: organizationId })
  const owner = project.api_key.key

  // Lists without `limit`: one default page, and X-Total-Count says how many there are.
  for (let i = 0; i < 101; i++) await must(base, owner, 'POST', '/bots', { name: `paged ${i}` })
  const page = await api(base, owner, 'GET', '/bots')
  const count = 'json' in page && Array.isArray(page.json) ? page.json.length : -1
  const total = 'headers' in page ? page.headers['x-total-count'] : undefined
  figures.push({ figure: 'GET /bots without limit (101 bots)', value: `${count} (X-Total-Count ${total ?? '-'})`, expected: '≤ 100', ok: count >= 1 && count <= 100 })

  // Stream cap: the key's streams past the limit are refused with 429 and Retry-After.
  if (configures('WORKEN_EVENTS_MAX_STREAMS_PER_KEY')) {
    const limit = 100
    const capped = await must(base, owner, 'POST', `/projects/${project.id}/api-keys`, { name: 'stream cap' })
    const auth = { authorization: `Bearer ${capped.key}` }
    const open = []
    for (let i = 0; i < limit; i++) open.push(await holdStream(base, '/threads/events', auth))
    const admitted = open.filter((stream) => stream.status === 200).length
    const refused = await holdStream(base, '/threads/events', auth)
    refused.close()
    for (const stream of open) stream.close()
    const ok = admitted === limit && refused.status === 429 && refused.headers['retry-after'] !== undefined
    figures.push({ figure: `event streams of one key past ${limit}`, value: `${admitted} open, then ${refused.status}${refused.headers['retry-after'] ? ` (Retry-After ${refused.headers['retry-after']})` : ''}`, expected: `${limit}, then 429`, ok })
    if (!ok) findings.push({ part: 'checks', summary: `stream cap: ${admitted} of ${limit} streams opened, the next answered ${refused.status}` })
  } else figures.push({ figure: 'event streams of one key past the cap', value: 'skipped', expected: '429', ok: null, note: 'WORKEN_EVENTS_MAX_STREAMS_PER_KEY is not in src/config.ts on this commit' })

  // A deleted key's streams (its own, and one opened with a token it minted) end within a second.
  let slowest = 0
  for (let trial = 0; trial < 3; trial++) {
    const doomed = await must(base, owner, 'POST', `/projects/${project.id}/api-keys`, { name: `doomed ${trial}` })
    const token = await must(base, doomed.key, 'POST', '/threads/events/tokens', {})
    const streams = [
      await holdStream(base, '/threads/events', { authorization: `Bearer ${doomed.key}` }),
      await holdStream(base, `/threads/events?token=${encodeURIComponent(token.token)}`, {}),
    ]
    // From the moment the DELETE is sent: the streams may end before its answer arrives.
    const deletedAt = performance.now()
    await must(base, owner, 'DELETE', `/projects/${project.id}/api-keys/${doomed.id}`)
    const giveUp = new Promise<number>((resolve) => setTimeout(() => resolve(Number.POSITIVE_INFINITY), 10_000))
    for (const stream of streams) {
      const endedAt = await Promise.race([stream.ended, giveUp])
      slowest = Math.max(slowest, endedAt - deletedAt)
      if (stream.status !== 200) slowest = Number.POSITIVE_INFINITY // never opened: nothing was measured
      stream.close()
    }
  }
  const closeText = Number.isFinite(slowest) ? `${Math.round(slowest)} ms` : 'not within 10 s'
  figures.push({ figure: "deleted key's streams closed (slowest of 6)", value: closeText, expected: '≤ 1000 ms', ok: slowest <= 1000 })
  if (slowest > 1000) findings.push({ part: 'checks', summary: `a deleted key's event stream stayed open ${closeText} after the DELETE answered` })

  // Slow clients (slowloris): headers trickled forever, and a body announced but never sent.
  const env = slowClientEnv()
  if (env.WORKEN_HEADERS_TIMEOUT_MS && env.WORKEN_BODY_IDLE_TIMEOUT_MS) {
    const headersMs = Number(env.WORKEN_HEADERS_TIMEOUT_MS)
    const bodyMs = Number(env.WORKEN_BODY_IDLE_TIMEOUT_MS)
    // Node checks the headers timeout on an interval (the server sets it to at most a second); then the close.
    const headersBound = headersMs + 1000 + 500
    const bodyBound = bodyMs + 1000
    const headers = await slowClient(base, 'GET /bots HTTP/1.1\r\nHost: review.test\r\n', 'X-Slow: 1\r\n', headersBound + 10_000)
    const body = await slowClient(base, `POST /bots HTTP/1.1\r\nHost: review.test\r\nAuthorization: Bearer ${owner}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":`, null, bodyBound + 10_000)
    const shown = (result: { closedAfterMs: number | null; said: string }) => (result.closedAfterMs === null ? 'still open' : `${Math.round(result.closedAfterMs)} ms (${result.said || 'no answer'})`)
    figures.push({ figure: `slowloris: headers trickled (timeout ${headersMs} ms)`, value: shown(headers), expected: `cut ≤ ${headersBound} ms`, ok: headers.closedAfterMs !== null && headers.closedAfterMs <= headersBound })
    figures.push({ figure: `slowloris: body never sent (idle ${bodyMs} ms)`, value: shown(body), expected: `cut ≤ ${bodyBound} ms`, ok: body.closedAfterMs !== null && body.closedAfterMs <= bodyBound })
  } else {
    const note = 'WORKEN_HEADERS_TIMEOUT_MS / WORKEN_BODY_IDLE_TIMEOUT_MS are not in src/config.ts on this commit'
    figures.push({ figure: 'slowloris: headers trickled', value: 'skipped', expected: 'cut', ok: null, note })
    figures.push({ figure: 'slowloris: body never sent', value: 'skipped', expected: 'cut', ok: null, note })
  }
  return { figures, findings }
}

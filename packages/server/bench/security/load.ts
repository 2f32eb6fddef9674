// Part 5: load. 200 concurrent clients for a fixed time, each doing what an integration does:
// list bots, list chats and threads, stream a reply from the (fake) model, open an event
// stream and close it after its first frame. Counted: requests, answers by status, 5xx (none
// allowed), and latency percentiles. The clients, the fake model and the server share the
// machine: the figures are the whole system's, not the server's alone.
import http from 'node:http'
import type { LlmServer } from '../../test/support/llm-server.ts'
import type { ServerProcess } from '../../test/support/process.ts'
import { newStore, seedOrganizations, startServer, type BackendName } from './backend.ts'
import { agent, api, must, pct, prng, send, streamMessage, type Finding, type PartResult } from './common.ts'

export type LoadOptions = { clients: number; seconds: number; seed: number }

/** How long an event stream takes to send its first frame; the connection is then closed. */
function firstFrame(base: string, key: string): Promise<{ status: number; ms: number; error?: string }> {
  const url = new URL(base)
  const started = performance.now()
  return new Promise((resolve) => {
    const request = http.request({ host: url.hostname, port: url.port, path: '/threads/events', agent, headers: { authorization: `Bearer ${key}` } })
    request.setTimeout(30_000, () => request.destroy(new Error('no first frame within 30 s')))
    request.on('error', (error) => resolve({ status: 0, ms: performance.now() - started, error: (error as NodeJS.ErrnoException).code ?? error.message }))
    request.on('response', (response) => {
      const status = response.statusCode ?? 0
      if (status !== 200) {
        response.resume()
        response.on('end', () => resolve({ status, ms: performance.now() - started }))
        return
      }
      response.once('data', () => {
        resolve({ status, ms: performance.now() - started })
        request.destroy()
      })
    })
    request.end()
  })
}

export async function load(backend: BackendName, llm: LlmServer, options: LoadOptions): Promise<PartResult> {
  const findings: Finding[] = []
  const store = await newStore(backend, 'load')
  llm.replyWith({ text: ['Sure', ', here', ' is', ' the', ' answer.'] })
  let server: ServerProcess | undefined
  try {
    const [tenant] = await seedOrganizations(store, ['Load'])
    server = await startServer(store, llm.url)
    const base = server.publicUrl
    // Several integrations, each with its key: one key may hold 100 streams (WORKEN_EVENTS_MAX_STREAMS_PER_KEY).
    const keys = [tenant!.key]
    for (let i = 0; i < 3; i++) keys.push((await must(base, tenant!.key, 'POST', `/projects/${tenant!.projectId}/api-keys`, { name: `integration ${i}` })).key)
    const bot = await must(base, tenant!.key, 'POST', '/bots', { name: 'Load bot' })
    await must(base, tenant!.key, 'POST', `/bots/${bot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const chats: string[] = []
    for (let i = 0; i < 20; i++) chats.push((await must(base, tenant!.key, 'POST', '/chats', { bot_id: bot.id, name: `Load chat ${i}` })).id)

    const random = prng(options.seed)
    const latencies: Record<string, number[]> = { 'GET /bots': [], 'GET /chats': [], 'GET /chats/{id}/threads': [], 'POST stream': [], 'event stream (first frame)': [] }
    const statuses = new Map<number, number>()
    const errors = new Map<string, number>()
    let requests = 0
    const deadline = performance.now() + options.seconds * 1000
    const count = (kind: string, status: number, ms: number, error?: string) => {
      requests++
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      latencies[kind]!.push(ms)
      if (error) errors.set(error, (errors.get(error) ?? 0) + 1)
      if (status >= 500 && findings.length < 20) findings.push({ part: 'load', summary: `${kind} answered ${status}` })
    }
    await Promise.all(Array.from({ length: options.clients }, async (_, client) => {
      const key = keys[client % keys.length]!
      const chat = chats[client % chats.length]!
      let n = 0
      while (performance.now() < deadline) {
        n++
        const roll = random.next()
        if (roll < 0.35) {
          const reply = await api(base, key, 'GET', '/bots')
          count('GET /bots', reply.status, reply.ms, 'error' in reply ? reply.error : undefined)
        } else if (roll < 0.55) {
          const reply = await api(base, key, 'GET', '/chats')
          count('GET /chats', reply.status, reply.ms, 'error' in reply ? reply.error : undefined)
        } else if (roll < 0.65) {
          const reply = await api(base, key, 'GET', `/chats/${chat}/threads?limit=20`)
          count('GET /chats/{id}/threads', reply.status, reply.ms, 'error' in reply ? reply.error : undefined)
        } else if (roll < 0.85) {
          const reply = await streamMessage(base, key, chat, `load-${client}-${n % 3}`, `question ${n} from client ${client}`)
          const complete = 'text' in reply && reply.text.includes('data: [DONE]')
          count('POST stream', reply.status, reply.ms, 'error' in reply ? reply.error : complete ? undefined : 'stream without [DONE]')
        } else {
          const reply = await firstFrame(base, key)
          count('event stream (first frame)', reply.status, reply.ms, reply.error)
        }
      }
    }))
    const alive = (await send(base, { method: 'GET', path: '/healthz' })).status === 200
    const all = Object.values(latencies).flat()
    const serverErrors = [...statuses].filter(([status]) => status >= 500).reduce((sum, [, n]) => sum + n, 0)
    const failed = [...statuses].filter(([status]) => status === 0 || status >= 400).reduce((sum, [, n]) => sum + n, 0)
    const statusText = [...statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status || 'no answer'}×${n}`).join(' ')
    const perKind = Object.entries(latencies).map(([kind, values]) => `${kind} ${values.length}: p50 ${Math.round(pct(values, 50))} / p99 ${Math.round(pct(values, 99))} ms`).join('; ')
    return {
      figures: [
        { figure: `load: requests (${options.clients} clients, ${options.seconds} s)`, value: requests, expected: '-', ok: null, note: `${(requests / options.seconds).toFixed(0)}/s; ${perKind}` },
        { figure: 'load: answers by status', value: statusText, expected: '2xx only', ok: failed === 0 && errors.size === 0, note: errors.size ? [...errors].map(([error, n]) => `${error}×${n}`).join(', ') : undefined },
        { figure: 'load: 5xx', value: serverErrors, expected: '0', ok: serverErrors === 0 && alive },
        { figure: 'load: latency p50 / p99', value: `${Math.round(pct(all, 50))} / ${Math.round(pct(all, 99))} ms`, expected: '-', ok: null },
      ],
      findings,
    }
  } finally {
    await server?.stop('SIGTERM').catch(() => {})
    await store.drop()
  }
}

// Part 4: kill -9 under write load. Concurrent clients create bots and chats and stream
// messages (auto replies from the fake model) while the server process is SIGKILLed at
// random moments and a new one is started at once on the same data, as a supervisor would.
// Afterwards: every write the server acknowledged (a 2xx create; for a streamed message, the
// stream's `data: [DONE]`, which comes after the message's commit) must be there; every user message must get its
// reply once the owed replies are swept; and every event must reach the webhook receiver
// (at least once: duplicates are the price of a crash, counted against a bound).
import { once } from 'node:events'
import http from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LlmServer } from '../../test/support/llm-server.ts'
import type { ServerProcess } from '../../test/support/process.ts'
import { startReceiver } from '../../test/support/webhook-receiver.ts'
import { newStore, seedOrganizations, startServer, type BackendName } from './backend.ts'
import { agent, api, must, pct, prng, until, type Finding, type PartResult } from './common.ts'

export type CrashOptions = { kills: number; clients: number; seed: number; quick: boolean }

/**
 * On Postgres a crashed process's reply claims lapse after WORKEN_REPLY_LEASE_SECONDS (30 s
 * by default); 2 s here, so that recovery is measured in seconds. PGlite takes them at once
 * on restart. Webhook claims lapse after 2 × the timeout + 5 s: 9 s with 2 s.
 */
export const CRASH_ENV = {
  WORKEN_WEBHOOKS_ALLOW_PRIVATE: 'true',
  WORKEN_REPLY_LEASE_SECONDS: '2',
  WORKEN_WEBHOOK_TIMEOUT_MS: '2000',
  WORKEN_WEBHOOK_POLL_MS: '200',
  WORKEN_WEBHOOK_CONCURRENCY: '4',
}

type Acknowledged = { bots: string[]; chats: string[]; messages: Array<{ chat: string; thread: string; content: string }>; cut: Array<{ chat: string; thread: string; content: string }> }

/**
 * POSTs a user message and reads the stream. In `auto` mode the message is stored alongside
 * the model call and `data: [DONE]` comes only after that commit (docs/conversations.md): the
 * acknowledgement is the `[DONE]`, not the 200 that opens the stream.
 */
function streamOnce(base: string, key: string, chat: string, thread: string, content: string): Promise<{ status: number; acknowledged: boolean }> {
  const url = new URL(base)
  return new Promise((resolve) => {
    let status = 0
    let tail = ''
    let settled = false
    const done = () => {
      if (settled) return
      settled = true
      resolve({ status, acknowledged: status === 200 && tail.includes('data: [DONE]') })
    }
    const request = http.request({ host: url.hostname, port: url.port, method: 'POST', path: `/chats/${chat}/threads/${thread}/stream`, agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } })
    request.setTimeout(60_000, () => request.destroy())
    request.on('error', done)
    request.on('response', (response) => {
      status = response.statusCode ?? 0
      response.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-64)))
      response.on('end', done)
      response.on('error', done)
      response.on('aborted', done)
      response.on('close', done)
    })
    request.end(JSON.stringify({ messages: [{ role: 'user', content }] }))
  })
}

/** Every delivery of an endpoint, all pages. */
async function allDeliveries(base: string, key: string, endpoint: string): Promise<any[]> {
  const deliveries: any[] = []
  for (;;) {
    const after = deliveries.length ? `&starting_after=${deliveries.at(-1).id}` : ''
    const page = await api(base, key, 'GET', `/webhook-endpoints/${endpoint}/deliveries?limit=100${after}`)
    if (!('json' in page) || !page.json?.data) throw new Error(`deliveries: ${page.status}`)
    deliveries.push(...page.json.data)
    if (!page.json.has_more) return deliveries
  }
}

export async function crashUnderLoad(backend: BackendName, llm: LlmServer, options: CrashOptions): Promise<PartResult> {
  const findings: Finding[] = []
  const random = prng(options.seed)
  const store = await newStore(backend, 'crash')
  const receiver = await startReceiver()
  // Replies take a few hundred milliseconds, so that kills land in the middle of turns.
  llm.replyWith({ text: ['Noted', ' and', ' answered', ' after', ' a', ' while.'], chunkDelayMs: 60 })
  let server: ServerProcess | undefined
  try {
    const [tenant] = await seedOrganizations(store, ['Crash'])
    const key = tenant!.key
    server = await startServer(store, llm.url, CRASH_ENV)
    const endpoint = await must(server.publicUrl, key, 'POST', '/webhook-endpoints', { url: `${receiver.url}/crash`, secret: 'crash-review-secret-0123456789' })
    const baseBot = await must(server.publicUrl, key, 'POST', '/bots', { name: 'crash base' })
    await must(server.publicUrl, key, 'POST', `/bots/${baseBot.id}/settings`, { ai: { memory: { generateTitle: false } } })
    const clientChats: string[] = []
    for (let i = 0; i < options.clients; i++) clientChats.push((await must(server.publicUrl, key, 'POST', '/chats', { bot_id: baseBot.id, name: `crash client ${i}` })).id)

    const acknowledged: Acknowledged = { bots: [], chats: [], messages: [], cut: [] }
    let current = server
    let running = true
    let writes = 0
    // Each client writes in its own chat, to five threads in turn; now and then it makes a bot or a chat.
    const clients = Array.from({ length: options.clients }, async (_, i) => {
      let n = 0
      while (running) {
        const base = current.publicUrl
        const roll = random.next()
        n++
        writes++
        let status: number
        if (roll < 0.1) {
          const reply = await api(base, key, 'POST', '/bots', { name: `crash bot ${i}-${n}` })
          status = reply.status
          if ('json' in reply && reply.status === 200) acknowledged.bots.push(reply.json.id)
        } else if (roll < 0.2) {
          const reply = await api(base, key, 'POST', '/chats', { bot_id: baseBot.id, name: `crash chat ${i}-${n}` })
          status = reply.status
          if ('json' in reply && reply.status === 200) acknowledged.chats.push(reply.json.id)
        } else {
          const thread = `c${i}-t${n % 5}`
          const content = `crash message ${i}-${n}`
          const result = await streamOnce(base, key, clientChats[i]!, thread, content)
          status = result.status
          if (result.acknowledged) acknowledged.messages.push({ chat: clientChats[i]!, thread, content })
          // Opened (200) but cut before [DONE]: the kill landed in this turn.
          else if (result.status === 200) acknowledged.cut.push({ chat: clientChats[i]!, thread, content })
        }
        // While the server is down requests fail at once: a short pause instead of a spin.
        await sleep(status === 0 ? 50 : random.int(20))
      }
    })

    // The killer: a random moment, SIGKILL, and at once a new process on the same data. The
    // new one is spawned without waiting for the old to be reaped, as a supervisor restarting
    // on the kill's notice would (the PGlite data-directory lock must let it in).
    let restartFailures = 0
    const restartMs: number[] = []
    for (let kill = 0; kill < options.kills; kill++) {
      await sleep(options.quick ? 1000 + random.int(1500) : 1500 + random.int(2500))
      const victim = current
      const exited = once(victim.child, 'exit')
      victim.child.kill('SIGKILL')
      const started = performance.now()
      let next: ServerProcess | undefined
      try {
        next = await startServer(store, llm.url, CRASH_ENV)
      } catch (error) {
        restartFailures++
        findings.push({ part: 'crash', summary: `restart ${kill + 1} right after the kill failed: ${(error as Error).message.split('\n').slice(0, 6).join(' | ')}` })
        await exited
        next = await startServer(store, llm.url, CRASH_ENV)
      }
      restartMs.push(performance.now() - started)
      await exited
      current = next
      server = next
      process.stdout.write(`    kill ${kill + 1}/${options.kills}: restarted in ${Math.round(restartMs.at(-1)!)} ms, ${acknowledged.messages.length} messages acknowledged so far\n`)
    }
    await sleep(2000)
    running = false
    await Promise.all(clients)
    const base = server.publicUrl

    // Acknowledged writes: every one must be there.
    let lost = 0
    for (const id of acknowledged.bots) if ((await api(base, key, 'GET', `/bots/${id}`)).status !== 200) { lost++; findings.push({ part: 'crash', summary: `acknowledged bot ${id} is missing after the restarts` }) }
    for (const id of acknowledged.chats) if ((await api(base, key, 'GET', `/chats/${id}`)).status !== 200) { lost++; findings.push({ part: 'crash', summary: `acknowledged chat ${id} is missing after the restarts` }) }
    const threads = [...new Set([...acknowledged.messages, ...acknowledged.cut].map((m) => `${m.chat} ${m.thread}`))].map((pair) => pair.split(' ') as [string, string])
    const messagesOf = async (chat: string, thread: string): Promise<any[]> => {
      const reply = await api(base, key, 'GET', `/chats/${chat}/threads/${thread}/messages?limit=1000`)
      return 'json' in reply && Array.isArray(reply.json) ? reply.json : []
    }
    const stored = new Map<string, any[]>()
    for (const [chat, thread] of threads) stored.set(`${chat} ${thread}`, await messagesOf(chat, thread))
    for (const message of acknowledged.messages) {
      if (!stored.get(`${message.chat} ${message.thread}`)!.some((m) => m.role === 'user' && m.content === message.content)) {
        lost++
        findings.push({ part: 'crash', summary: `acknowledged user message '${message.content}' (thread ${message.thread}) is missing after the restarts` })
      }
    }

    // Owed replies: a thread whose last user message has no assistant message after it.
    const unanswered = async () => {
      let count = 0
      const details: string[] = []
      for (const [chat, thread] of threads) {
        const messages = await messagesOf(chat, thread)
        const lastAssistant = messages.findLastIndex((m) => m.role === 'assistant')
        const waiting = messages.slice(lastAssistant + 1).filter((m) => m.role === 'user')
        if (waiting.length > 0) {
          count += waiting.length
          details.push(`${thread}: ${waiting.map((m) => m.content).join(', ')}`)
        }
      }
      return { count, details }
    }
    const settleStarted = performance.now()
    let owed = await unanswered()
    await until(async () => (owed = await unanswered()).count === 0, 60_000, 1000)
    const settledMs = performance.now() - settleStarted
    // The turns a kill cut: those whose message was stored are the owed replies the restarts had to pay.
    const after = new Map<string, any[]>()
    for (const [chat, thread] of threads) after.set(`${chat} ${thread}`, await messagesOf(chat, thread))
    const cutStored = acknowledged.cut.filter((m) => after.get(`${m.chat} ${m.thread}`)!.some((x) => x.role === 'user' && x.content === m.content)).length
    if (owed.count > 0) findings.push({ part: 'crash', summary: `${owed.count} accepted user message(s) without a reply 60 s after the last restart`, response: owed.details.slice(0, 10).join('; ') })

    // Webhooks: every event delivered, under its own webhook-id; duplicates counted.
    let deliveries: any[] = []
    await until(async () => {
      deliveries = await allDeliveries(base, key, endpoint.id)
      return deliveries.every((d) => d.status === 'succeeded')
    }, 90_000, 1000)
    const notDelivered = deliveries.filter((d) => d.status !== 'succeeded')
    const receivedIds = receiver.received.map((r) => String(r.headers['webhook-id']))
    const distinct = new Set(receivedIds)
    const neverArrived = deliveries.filter((d) => !distinct.has(d.event_id))
    // Events lost before the outbox: a stored message whose thread.message.created never arrived.
    const announced = new Set<string>()
    for (const hook of receiver.received) {
      try {
        const event = JSON.parse(hook.body)
        if (event.type === 'thread.message.created' && event.data?.message?.id) announced.add(event.data.message.id)
      } catch {}
    }
    const finalMessages = (await Promise.all(threads.map(([chat, thread]) => messagesOf(chat, thread)))).flat()
    const unannounced = finalMessages.filter((m) => !announced.has(m.id))
    const lostEvents = new Set([...notDelivered, ...neverArrived].map((d) => d.event_id)).size + unannounced.length
    if (lostEvents > 0) findings.push({ part: 'crash', summary: `${lostEvents} event(s) never delivered: ${notDelivered.length} deliveries not succeeded, ${neverArrived.length} never received, ${unannounced.length} stored messages never announced`, response: JSON.stringify([...notDelivered, ...neverArrived].slice(0, 3)).slice(0, 600) + (unannounced.length ? ` messages: ${unannounced.slice(0, 5).map((m) => m.id).join(', ')}` : '') })
    const duplicates = receivedIds.length - distinct.size
    const bound = options.kills * Number(CRASH_ENV.WORKEN_WEBHOOK_CONCURRENCY)

    const acked = acknowledged.bots.length + acknowledged.chats.length + acknowledged.messages.length
    return {
      figures: [
        { figure: 'kill -9s under write load', value: options.kills, expected: `${options.kills}`, ok: true, note: `${options.clients} clients, ${writes} writes tried, ${acked} acknowledged (${acknowledged.bots.length} bots, ${acknowledged.chats.length} chats, ${acknowledged.messages.length} messages)` },
        { figure: 'restart failures right after a kill', value: restartFailures, expected: '0', ok: restartFailures === 0, note: `restart to listening: p50 ${Math.round(pct(restartMs, 50))} ms, max ${Math.round(Math.max(...restartMs))} ms` },
        { figure: 'acknowledged writes lost', value: lost, expected: '0', ok: lost === 0 },
        { figure: 'accepted messages left unanswered', value: owed.count, expected: '0', ok: owed.count === 0, note: `${acknowledged.cut.length} turns cut by the kills, ${cutStored} of their messages stored (owed replies); settled ${(settledMs / 1000).toFixed(1)} s after the clients stopped; WORKEN_REPLY_LEASE_SECONDS=2` },
        { figure: 'webhook deliveries / distinct ids', value: `${receivedIds.length} / ${distinct.size}`, expected: '-', ok: null, note: `${deliveries.length} events in the outbox for the endpoint` },
        { figure: 'webhook duplicates', value: duplicates, expected: `≤ ${bound} (kills × concurrency)`, ok: duplicates <= bound, note: `${((duplicates / Math.max(1, distinct.size)) * 100).toFixed(2)}% of events; at-least-once delivery` },
        { figure: 'webhook events lost', value: lostEvents, expected: '0', ok: lostEvents === 0 },
      ],
      findings,
    }
  } finally {
    await server?.stop('SIGTERM').catch(() => {})
    await receiver.close()
    await store.drop()
  }
}

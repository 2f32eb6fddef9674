// A tenant's project filled with one of every resource, each carrying a marker string that
// appears nowhere else: any answer to another tenant that contains it is a leak.
import { randomBytes } from 'node:crypto'
import type { LlmServer, Reply } from '../../test/support/llm-server.ts'
import { api, must, send, streamMessage, until, uploadFile, type Reply as HttpReply } from './common.ts'
import type { Ids } from './openapi.ts'

export type Populated = {
  label: string
  key: string
  /** Text that is in this tenant's names, messages, files and settings, and nowhere else. */
  marker: string
  ids: Ids & { thread: string; thread2: string; thread3: string; file2: string }
  /** Every id that belongs to this tenant alone (thread ids are names any project may use: not in here). */
  owned: string[]
  /** Path of the webhook receiver that gets this tenant's deliveries. */
  hookPath: string
}

/**
 * The fake model's replies for the whole review: a message asking for approval gets a tool
 * call under `user_approve`; every other turn is answered with text that repeats the
 * marker of the user's message, so a reply in the wrong project would carry it too.
 */
export const reviewReply: Reply = (turn) => {
  if (turn.endsWithToolResult) return { text: 'Handed off.' }
  if (turn.lastUserText.includes('APPROVE-ME')) return { toolCalls: [{ name: 'handoff_to_operator', arguments: { reason: 'review' } }] }
  const marker = /victim[A-Z][0-9a-f]{12}/.exec(turn.lastUserText)?.[0]
  return { text: ['Noted', marker ? ` ${marker}` : '', '.'] }
}

/**
 * Creates a bot, its settings, a chat, three threads (answered; manual with a scheduled
 * operator message; waiting on an approval), two files, a vector store with a file batch, a
 * webhook endpoint with deliveries, a second API key and an event-stream token, all through
 * the public API with the tenant's own key.
 */
export async function populate(base: string, key: string, projectId: string, organizationId: string, label: string, receiverUrl: string): Promise<Populated> {
  const marker = `victim${label}${randomBytes(6).toString('hex')}`
  const hookPath = `/hook-${label}`
  const threadSuffix = randomBytes(4).toString('hex')
  const thread = `vt1-${threadSuffix}`
  const thread2 = `vt2-${threadSuffix}`
  const thread3 = `vt3-${threadSuffix}`

  // The endpoint first, so that every later event of the project makes a delivery.
  const endpoint = await must(base, key, 'POST', '/webhook-endpoints', { url: `${receiverUrl}${hookPath}`, description: `${marker} endpoint`, secret: `${marker}-secret-value` })
  const file = await uploadFile(base, key, `${marker}.txt`, `${marker} file text: the return window is 30 days.`)
  const file2 = await uploadFile(base, key, `${marker}-2.txt`, `${marker} second file text.`)
  const store = await must(base, key, 'POST', '/vector_stores', { name: `${marker} store`, file_ids: [file.id], metadata: { owner: marker } })
  const batch = await must(base, key, 'POST', `/vector_stores/${store.id}/file_batches`, { file_ids: [file2.id] })
  const bot = await must(base, key, 'POST', '/bots', { name: `${marker} bot`, description: `${marker} description` })
  await must(base, key, 'POST', `/bots/${bot.id}/settings`, {
    ai: { instruction: `${marker} instruction`, tools: { handoff_to_operator: 'user_approve' }, knowledge: { vector_store_ids: [store.id] } },
  })
  const chat = await must(base, key, 'POST', '/chats', { bot_id: bot.id, name: `${marker} chat`, settings: { secret: marker } })

  const streamed = async (threadId: string, content: string): Promise<HttpReply> => {
    const reply = await streamMessage(base, key, chat.id, threadId, content)
    if (reply.status !== 200) throw new Error(`setup: stream into ${threadId} answered ${reply.status}: ${'error' in reply ? reply.error : reply.text.slice(0, 300)}`)
    return reply as HttpReply
  }
  await streamed(thread, `${marker} hello, where is my order?`)
  await streamed(thread2, `${marker} I need a person`)
  await must(base, key, 'POST', `/chats/${chat.id}/threads/${thread2}/mode`, { mode: 'manual' })
  const scheduled = await must(base, key, 'POST', `/threads/${thread2}/send`, { text: `${marker} scheduled operator message`, scheduledAt: new Date(Date.now() + 3600_000).toISOString() })
  const approvalStream = await streamed(thread3, `${marker} APPROVE-ME please`)
  const approval = /"approvalId":"([^"]+)"/.exec(approvalStream.text)?.[1]
  if (!approval) throw new Error(`setup: no approval request in ${approvalStream.text.slice(0, 500)}`)
  const messages = await must(base, key, 'GET', `/chats/${chat.id}/threads/${thread}/messages`)
  const secondKey = await must(base, key, 'POST', `/projects/${projectId}/api-keys`, { name: `${marker} key` })
  const token = await must(base, key, 'POST', '/threads/events/tokens', { thread_id: thread })

  // A delivery to aim at, and the store indexed, so that the snapshots hold still.
  let delivery: string | undefined
  await until(async () => {
    const page = await api(base, key, 'GET', `/webhook-endpoints/${endpoint.id}/deliveries?limit=100`)
    delivery = 'json' in page ? page.json?.data?.find((d: any) => d.status === 'succeeded')?.id : undefined
    return delivery !== undefined
  }, 60_000)
  if (!delivery) throw new Error('setup: no webhook delivery succeeded within 60 s')
  await until(async () => {
    const reply = await api(base, key, 'GET', `/vector_stores/${store.id}`)
    return 'json' in reply && reply.json?.file_counts?.in_progress === 0
  }, 60_000)

  const ids = {
    prj: projectId, org: organizationId, bot: bot.id, chat: chat.id, thread, thread2, thread3, approval, sch: scheduled.id, msg: messages[0].id,
    file: file.id, file2: file2.id, vs: store.id, vsfb: batch.id, whe: endpoint.id, whd: delivery, key: secondKey.id, token: token.token,
  }
  const owned = [projectId, organizationId, bot.id, chat.id, approval, scheduled.id, ...messages.map((m: any) => m.id), file.id, file2.id, store.id, batch.id, endpoint.id, delivery, secondKey.id]
  return { label, key, marker, ids, owned, hookPath }
}

/** Ids of one tenant as the document's examples name them, by the operation: an approval is thread 3's, a scheduled message thread 2's. */
export function idsFor(tenant: Populated, template: string): Ids {
  const thread = template.includes('{approval_id}') ? tenant.ids.thread3 : template.includes('{scheduled_id}') ? tenant.ids.thread2 : tenant.ids.thread
  return { ...tenant.ids, thread }
}

/** Waits until neither the model nor the webhook receiver has been called for `quietMs`. */
export async function quiet(llm: LlmServer, received: () => number, quietMs = 1500, timeoutMs = 60_000): Promise<void> {
  let last = `${llm.requests.length}/${received()}`
  let since = Date.now()
  await until(() => {
    const now = `${llm.requests.length}/${received()}`
    if (now !== last) {
      last = now
      since = Date.now()
    }
    return Date.now() - since >= quietMs
  }, timeoutMs, 100)
}

/** Fields that change when the owner merely reads (or time passes), left out of snapshots. */
const VOLATILE = new Set(['last_used_at', 'last_active_at', 'expires_at'])

/**
 * What the tenant sees of its project, read with its own key: every resource and list. Two
 * snapshots that differ after an attack mean the attack changed the tenant's data.
 */
export async function snapshot(base: string, tenant: Populated): Promise<Map<string, string>> {
  const { ids } = tenant
  const paths = [
    '/bots', `/bots/${ids.bot}`, `/bots/${ids.bot}/settings`, '/chats', `/chats/${ids.chat}`, `/chats/${ids.chat}/threads`,
    ...[ids.thread, ids.thread2, ids.thread3].flatMap((thread) => [`/chats/${ids.chat}/threads/${thread}/messages`, `/threads/${thread}`, `/threads/${thread}/memory`, `/threads/${thread}/scheduled`]),
    '/threads', '/webhook-endpoints', `/webhook-endpoints/${ids.whe}`, `/webhook-endpoints/${ids.whe}/deliveries?limit=100`, `/webhook-endpoints/${ids.whe}/deliveries/${ids.whd}`,
    '/files', `/files/${ids.file}`, `/files/${ids.file}/content`, `/files/${ids.file2}`, '/vector_stores', `/vector_stores/${ids.vs}`, `/vector_stores/${ids.vs}/files`,
    `/vector_stores/${ids.vs}/file_batches/${ids.vsfb}`, `/vector_stores/${ids.vs}/file_batches/${ids.vsfb}/files`, `/projects/${ids.prj}/api-keys`,
  ]
  const views = new Map<string, string>()
  for (const path of paths) {
    const reply = await send(base, { method: 'GET', path, headers: { authorization: `Bearer ${tenant.key}` } })
    views.set(path, 'error' in reply ? `no answer: ${reply.error}` : `${reply.status} ${reply.json === undefined ? reply.text : JSON.stringify(reply.json, (name, value) => (VOLATILE.has(name) ? undefined : value))}`)
  }
  return views
}

/** The paths whose view changed between two snapshots, with both views. */
export function changes(before: Map<string, string>, after: Map<string, string>): Array<{ path: string; before: string; after: string }> {
  return [...before].filter(([path, view]) => after.get(path) !== view).map(([path, view]) => ({ path, before: view, after: after.get(path) ?? '(missing)' }))
}

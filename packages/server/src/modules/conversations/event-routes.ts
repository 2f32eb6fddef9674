import type { ServerResponse } from 'node:http'
import { createRoute, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { AppEnv, Principal } from '../../platform/http/context.ts'
import { AppError } from '../../platform/errors.ts'
import type { ConversationServices } from './services.ts'
import { createRouter, errorResponses, jsonContent } from '../../platform/http/router.ts'
import { access } from '../../platform/http/access.ts'
import { EVENT_STREAM_HEADERS, openEventStream } from '../../platform/events/stream.ts'
import { EventTokenRequest, EventTokenSchema, ResumeHeaders, ResumeQuery, ThreadEventSchema, ThreadIdParams } from './schemas.ts'
import { frameOf } from './thread-events.ts'

const tags = ['Threads']

const eventStream = (description: string) => ({
  description,
  content: {
    'text/event-stream': {
      schema: z.string().openapi({
        description: 'Frames `id: <seq>` + `data: <ThreadEvent JSON>` (no `event:` line: `onmessage` receives them), `: keepalive` comments, and a first frame with `retry:` and `id:` only.',
        example: 'retry: 3000\nid: 1041\n\nid: 1042\ndata: {"thread_id":"support-42","type":"pending_count","pending_count":2,"chat_id":"chat_01jdq3v5k7m9p2r4t6w8y0a2c4","event_id":"evt_01jdq3v5k7m9p2r4t6w8y0a2c4","created_at":"2026-11-22T12:00:00.000Z"}\n\n',
      }),
    },
  },
})

const DESCRIPTION =
  'Server-Sent Events, one `ThreadEvent` per frame. Reconnect with `Last-Event-ID` (EventSource does it by itself) to get every event missed meanwhile, in order, then live ones. See docs/events.md.'

const projectEvents = createRoute({
  ...access('member'),
  method: 'get', path: '/threads/events', operationId: 'threads.events.stream', tags, summary: 'Real-time events of all threads (SSE)',
  description: DESCRIPTION,
  request: { query: ResumeQuery, headers: ResumeHeaders },
  responses: { 200: eventStream('The project\'s thread events'), ...errorResponses(400) },
})

const threadEvents = createRoute({
  ...access('member'),
  method: 'get', path: '/threads/events/{thread_id}', operationId: 'threads.events.streamThread', tags, summary: 'Real-time events of one thread (SSE)',
  description: `${DESCRIPTION} The thread id \`events\` is reserved: \`GET /threads/events\` is always the project's stream.`,
  request: { params: ThreadIdParams, query: ResumeQuery, headers: ResumeHeaders },
  responses: { 200: eventStream("The thread's events"), ...errorResponses(400, 404) },
})

const createToken = createRoute({
  ...access('member'),
  method: 'post', path: '/threads/events/tokens', tags, operationId: 'threads.events.tokens.create',
  summary: 'A short-lived token for the event streams (browsers)',
  description:
    "Extension, public API only. A browser's EventSource cannot send `Authorization`, and an API key must never be put in a URL: a server holding the key mints this token and hands it to the page, which opens `GET /threads/events?token=…` (or a thread's stream). The token opens the event streams of the key's project (or of one thread) and nothing else, expires, and dies with the key that issued it. See docs/events.md.",
  request: { body: { required: false, content: { 'application/json': { schema: EventTokenRequest } } } },
  responses: { 200: jsonContent(EventTokenSchema, 'The token'), ...errorResponses(400, 404, 422) },
})

/** A seq: a non-negative integer JavaScript holds exactly (bigserial goes far beyond what any table reaches). */
const SEQ = /^\d{1,16}$/

/** The resume position, from the header (what EventSource sends) or else the query; 400 when it is not a seq. */
function resumePosition(header: string | undefined, query: string | undefined): number | null {
  const [value, source] = header !== undefined && header !== '' ? [header.trim(), 'The Last-Event-ID header'] : [query, 'last_event_id']
  if (value === undefined || value === '') return null
  const seq = Number(value)
  if (!SEQ.test(value) || !Number.isSafeInteger(seq)) throw AppError.badRequest(`${source} must be the id of an event received from this stream (a non-negative integer)`)
  return seq
}

/** The Node response under @hono/node-server, to measure and cut the connection; absent elsewhere (app.request in tests). */
function nodeResponse(c: Context<AppEnv<ConversationServices>>): ServerResponse | undefined {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing
  return outgoing && typeof (outgoing as ServerResponse).writableLength === 'number' ? (outgoing as ServerResponse) : undefined
}

/**
 * Whether the caller of this request may still read its project: its key is not deleted, its
 * membership not removed. A token's stream lives as long as the key that issued the token
 * (not merely as long as the token: expiry only stops it opening new streams).
 */
function authorizationCheck(c: Context<AppEnv<ConversationServices>>): () => Promise<boolean> {
  const services = c.get('services')
  const principal = c.get('principal')
  if (principal.streamToken) {
    const keyId = principal.apiKeyId!
    return async () => (await services.apiKeys.principalOfKey(keyId))?.projectId === principal.projectId
  }
  if (principal.apiKeyId !== null) {
    const key = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? ''
    return async () => (await services.apiKeys.authenticate(key))?.projectId === principal.projectId
  }
  const userId = principal.userId ?? ''
  return async () => (await services.projects.resolveMember(principal.organizationId, principal.projectId, userId)) !== null
}

/** Whose slot a stream takes: the key (a token's streams are its issuing key's), or the internal user. */
function streamHolder(principal: Principal): string {
  return principal.apiKeyId ?? `user:${principal.organizationId}:${principal.userId}`
}

async function stream(c: Context<AppEnv<ConversationServices>>, threadId: string | null, lastEventId: number | null): Promise<Response> {
  // Hono answers HEAD with the GET handler's headers and drops the body without cancelling
  // it: a stream opened for it would stay subscribed for ever.
  if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers: EVENT_STREAM_HEADERS })
  const services = c.get('services')
  const outgoing = nodeResponse(c)
  return openEventStream({
    hub: services.events,
    projectId: c.get('principal').projectId,
    threadId,
    lastEventId,
    keepaliveMs: services.streamKeepaliveMs,
    maxBufferBytes: services.eventsMaxBufferBytes,
    logger: c.get('logger'),
    transportBuffered: outgoing ? () => outgoing.writableLength : undefined,
    abortConnection: outgoing ? () => outgoing.destroy() : undefined,
    stillAuthorized: authorizationCheck(c),
    reauthorizeMs: services.eventsReauthorizeMs,
    admit: (close) => services.openStreams.admit(streamHolder(c.get('principal')), close),
    frameOf,
  })
}

/**
 * Mounted before the thread routes: `/threads/events` would otherwise be read
 * as a thread named `events`. That id is reserved for this reason.
 */
export const eventRoutes = createRouter<ConversationServices>()
  .openapi(projectEvents, async (c) => {
    // A token limited to one thread opens that thread's stream only.
    if (c.get('principal').streamToken?.threadId) throw AppError.unauthorized()
    const position = resumePosition(c.req.valid('header')['last-event-id'], c.req.valid('query').last_event_id)
    return stream(c, null, position)
  })
  .openapi(threadEvents, async (c) => {
    const position = resumePosition(c.req.valid('header')['last-event-id'], c.req.valid('query').last_event_id)
    const { thread_id } = c.req.valid('param')
    const scope = c.get('principal').streamToken?.threadId
    if (scope && scope !== thread_id) throw AppError.unauthorized()
    // Scoped to the caller's project: another project's thread is as unknown as a missing one.
    await c.get('services').threads.require(c.get('principal').projectId, thread_id)
    return stream(c, thread_id, position)
  })

eventRoutes.openAPIRegistry.register('ThreadEvent', ThreadEventSchema)

/**
 * Minting tokens: on the public API only (the app mounts it there), since a token stands in for
 * the key that asked for it. Not under `eventRoutes`, whose streams both listeners serve.
 */
export const eventTokenRoutes = createRouter<ConversationServices>()
  .openapi(createToken, async (c) => {
    const body = c.req.valid('json') ?? {}
    const token = await c.get('services').eventTokens.issue(c.get('principal'), body)
    // A credential: no cache, no proxy, may keep a copy.
    c.header('cache-control', 'no-store')
    return c.json(token, 200)
  })

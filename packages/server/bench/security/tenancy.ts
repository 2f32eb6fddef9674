// Part 1: cross-tenant. The attacker (project A) holds a valid key and knows every id of the
// victims: B, a sibling project A's key created in A's organization (the only second project
// the public API lets a key make), and C, a project of another organization. A sends every
// operation of the OpenAPI document with the victims' ids in the path, body and query, with
// `Worken-*` headers naming them, and mixed with its own ids; the internal API is tried with
// A's user on C's project. A leak is a 2xx that returns a victim's data or acts on a victim's
// id, a victim's data that changed, or a victim's data that reached the model, a webhook or
// an event stream in A's name. A 4xx that differs between a victim's id and an id of nothing
// is an existence oracle.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LlmServer } from '../../test/support/llm-server.ts'
import type { ServerProcess } from '../../test/support/process.ts'
import type { WebhookReceiver } from '../../test/support/webhook-receiver.ts'
import type { Tenant } from './backend.ts'
import { describe, multipart, must, outcome, send, streamMessage, type Failure, type Finding, type PartResult, type RawRequest, type Reply } from './common.ts'
import { fillPath, operations, parameterKind, parameterValue, validBody, type Ids, type Json, type Operation } from './openapi.ts'
import { changes, idsFor, populate, quiet, snapshot, type Populated } from './tenants.ts'

export type TenancyContext = {
  server: ServerProcess
  llm: LlmServer
  receiver: WebhookReceiver
  document: Json
  attacker: Tenant
  /** A project of another organization, seeded before the server started. */
  other: Tenant
}

type Victim = Populated & { sibling: boolean; userId: string | null }

type Attempt = {
  victim: Victim
  label: string
  request: RawRequest
  base: string
  /** Internal API attempts: any 2xx is a leak (the user is no member of the victim's organization). */
  internal: boolean
}

/**
 * The request for an operation, each part's ids taken from one tenant: `path` per
 * parameter, `query` and `body` as wholes. Query parameters are sent when they carry an id
 * (or are required); `last_event_id=0` asks a stream to replay the whole feed (the positions
 * are shared by all projects, so a replay is where another project's events would show).
 */
function buildRequest(document: Json, operation: Operation, sources: { path: Record<string, Ids>; query: Ids; body: Ids }, auth: Record<string, string>, url: string): RawRequest {
  const values: Record<string, string> = {}
  const query: string[] = []
  for (const parameter of operation.parameters) {
    if (parameter.in === 'path') values[parameter.name] = parameterValue(document, parameter, sources.path[parameter.name] ?? {}, url) ?? 'x'
    if (parameter.in === 'query') {
      if (parameter.name === 'token') continue // the key authenticates; a token would be another credential
      if (parameter.name === 'last_event_id') query.push('last_event_id=0')
      else if (parameterKind(parameter) || parameter.required) query.push(`${parameter.name}=${encodeURIComponent(parameterValue(document, parameter, sources.query, url) ?? '')}`)
    }
  }
  const path = fillPath(operation.template, values) + (query.length ? `?${query.join('&')}` : '')
  const request: RawRequest = { method: operation.method, path, headers: { ...auth }, streamReadMs: 1000, timeoutMs: 30_000 }
  if (operation.json) {
    request.headers!['content-type'] = 'application/json'
    request.body = JSON.stringify(validBody(document, operation, sources.body, url))
  } else if (operation.form) {
    const form = multipart({ purpose: 'assistants' }, { field: 'file', name: 'attacker.txt', content: 'attacker text' })
    request.headers!['content-type'] = form.contentType
    request.body = form.body
  }
  return request
}

/** The id slots of an operation: each path parameter that holds an id, the query's ids, the body's ids. */
function slots(document: Json, operation: Operation, attacker: Populated, victim: Populated, url: string): string[] {
  const found = operation.parameters.filter((p) => p.in === 'path' && parameterKind(p)).map((p) => `path:${p.name}`)
  if (operation.parameters.some((p) => p.in === 'query' && p.name !== 'token' && parameterKind(p))) found.push('query')
  const mine = JSON.stringify(validBody(document, operation, idsFor(attacker, operation.template), url) ?? null)
  const theirs = JSON.stringify(validBody(document, operation, idsFor(victim, operation.template), url) ?? null)
  if (mine !== theirs) found.push('body')
  return found
}

/** Every attempt of the public API against one victim: its ids everywhere, with `Worken-*` headers, then one slot at a time. */
function publicAttempts(context: TenancyContext, attacker: Populated, victim: Victim, url: string): { direct: Attempt[]; mixed: Attempt[] } {
  const { document, server } = context
  const auth = { authorization: `Bearer ${attacker.key}` }
  const smuggled = { ...auth, 'worken-organization': victim.ids.org!, 'worken-project': victim.ids.prj!, ...(victim.userId ? { 'worken-user': victim.userId } : {}) }
  const direct: Attempt[] = []
  const mixed: Attempt[] = []
  for (const operation of operations(document)) {
    const theirs = idsFor(victim, operation.template)
    const mine = idsFor(attacker, operation.template)
    const pathOf = (ids: Ids) => Object.fromEntries(operation.parameters.filter((p) => p.in === 'path').map((p) => [p.name, ids]))
    const all = { path: pathOf(theirs), query: theirs, body: theirs }
    const name = `${operation.method} ${operation.template}`
    direct.push({ victim, label: `${name} (victim's ids)`, request: buildRequest(document, operation, all, auth, url), base: server.publicUrl, internal: false })
    direct.push({ victim, label: `${name} (victim's ids, Worken-* headers naming the victim)`, request: buildRequest(document, operation, all, smuggled, url), base: server.publicUrl, internal: false })
    const found = slots(document, operation, attacker, victim, url)
    if (found.length < 2) continue // one slot: the first attempt was it
    for (const slot of found) {
      const sources = { path: pathOf(mine), query: mine, body: mine }
      if (slot.startsWith('path:')) sources.path = { ...sources.path, [slot.slice(5)]: theirs }
      if (slot === 'query') sources.query = theirs
      if (slot === 'body') sources.body = theirs
      mixed.push({ victim, label: `${name} (attacker's ids but the victim's ${slot})`, request: buildRequest(document, operation, sources, auth, url), base: server.publicUrl, internal: false })
    }
  }
  return { direct, mixed }
}

/** The internal API with the attacker's user on the victim's project, as claimed by its headers. */
function internalAttempts(context: TenancyContext, attacker: Tenant, victim: Victim, url: string): Attempt[] {
  const { document, server } = context
  const attempts: Attempt[] = []
  const claims = [
    { label: "attacker's organization and user, victim's project", headers: { 'worken-organization': attacker.organizationId, 'worken-project': victim.ids.prj!, 'worken-user': attacker.userId } },
    { label: "victim's organization and project, attacker's user", headers: { 'worken-organization': victim.ids.org!, 'worken-project': victim.ids.prj!, 'worken-user': attacker.userId } },
  ]
  for (const operation of operations(document)) {
    if (!operation.authenticated) continue
    const theirs = idsFor(victim, operation.template)
    const pathOf = Object.fromEntries(operation.parameters.filter((p) => p.in === 'path').map((p) => [p.name, theirs]))
    for (const claim of claims) {
      attempts.push({ victim, label: `internal ${operation.method} ${operation.template} (${claim.label})`, request: buildRequest(document, operation, { path: pathOf, query: theirs, body: theirs }, claim.headers, url), base: server.internalUrl, internal: true })
    }
  }
  return attempts
}

/** The victim's ids that the attacker must never see or name with success in this attempt. */
function ownedIds(attempt: Attempt): string[] {
  const { victim, request } = attempt
  // Sibling projects are listed to every key of the organization (GET /projects): by design.
  const listsProjects = request.method === 'GET' && request.path.startsWith('/projects') && !request.path.includes('/api-keys')
  return victim.owned.filter((id) => !(victim.sibling && listsProjects && id === victim.ids.prj))
}

/** Why a reply to an attempt is a leak, or null. */
function leakIn(attempt: Attempt, reply: Reply | Failure): string | null {
  if (reply.status < 200 || reply.status > 299) return null
  if (attempt.internal) return `the internal API answered ${reply.status} for a project the user is no member of`
  const { victim, request } = attempt
  const text = 'text' in reply ? reply.text : ''
  if (text.includes(victim.marker)) return `the answer contains the victim's marker ${victim.marker}`
  const owned = ownedIds(attempt)
  const shown = owned.find((id) => text.includes(id))
  if (shown) return `the answer contains the victim's id ${shown}`
  const sent = `${request.path} ${request.body === undefined ? '' : request.body.toString()}`
  const carried = owned.find((id) => sent.includes(id))
  const inPath = owned.find((id) => request.path.split('?')[0]!.includes(id))
  if (request.method !== 'GET' && carried) return `a ${request.method} naming the victim's ${carried} was accepted`
  if (inPath) return `a GET of the victim's ${inPath} was answered`
  return null
}

/** A copy of the request with the victim's ids (and thread names) swapped for ids of nothing of the same shape. */
function control(request: RawRequest, victim: Victim): { request: RawRequest; swaps: Array<[string, string]> } {
  const swaps: Array<[string, string]> = []
  const ids = [...victim.owned, victim.ids.thread, victim.ids.thread2, victim.ids.thread3].filter((id) => !(victim.sibling && id === victim.ids.org))
  for (const id of ids) {
    const cut = Math.max(id.indexOf('_'), id.indexOf('-')) + 1
    swaps.push([id, id.slice(0, cut) + randomBytes(id.length).toString('hex').replace(/[^0-9a-z]/g, '').slice(0, id.length - cut)])
  }
  const swap = (text: string) => swaps.reduce((acc, [real, fake]) => acc.replaceAll(real, fake), text)
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : swap(request.body)
  return { request: { ...request, path: swap(request.path), body }, swaps }
}

/** What a refusal says, with the fake ids put back, for comparing with the real one. */
function refusal(reply: Reply | Failure, swaps: Array<[string, string]> = []): string {
  if ('error' in reply) return `no answer`
  const unswap = (text: string) => swaps.reduce((acc, [real, fake]) => acc.replaceAll(fake, real), text)
  return `${reply.status} ${reply.json?.code ?? ''} ${unswap(String(reply.json?.message ?? reply.text.slice(0, 200)))}`
}

export async function crossTenant(context: TenancyContext): Promise<PartResult> {
  const { server, llm, receiver, attacker, other } = context
  const base = server.publicUrl
  const findings: Finding[] = []
  const url = `${receiver.url}/hook-attacker`

  // B: the sibling project, made by the attacker's key as the public API allows.
  const sibling = await must(base, attacker.key, 'POST', '/projects', { name: 'Sibling project', organization_id: attacker.organizationId })
  const populatedB = await populate(base, sibling.api_key.key, sibling.id, attacker.organizationId, 'B', receiver.url)
  // The organization is the attacker's own: not the sibling's to leak.
  const victimB: Victim = { ...populatedB, owned: populatedB.owned.filter((id) => id !== attacker.organizationId), sibling: true, userId: null }
  const populatedC = await populate(base, other.key, other.projectId, other.organizationId, 'C', receiver.url)
  const victimC: Victim = { ...populatedC, sibling: false, userId: other.userId }
  const mine = await populate(base, attacker.key, attacker.projectId, attacker.organizationId, 'A', receiver.url)
  const victims = [victimB, victimC]
  await quiet(llm, () => receiver.received.length)
  const before = new Map<Victim, Map<string, string>>()
  for (const victim of victims) before.set(victim, await snapshot(base, victim))
  const llmMark = llm.requests.length
  const hookMark = receiver.received.length

  const direct = victims.flatMap((victim) => publicAttempts(context, mine, victim, url).direct)
  const mixed = victims.flatMap((victim) => publicAttempts(context, mine, victim, url).mixed)
  const internal = internalAttempts(context, attacker, victimC, url)
  // The detector checked on itself: the victims' own reads of their data, through the same
  // requests, must each be flagged. A detector that flags nothing would report 0 leaks forever.
  let selfChecked = 0
  const unflagged: string[] = []
  for (const attempt of direct.filter((a) => a.request.method === 'GET' && a.label.endsWith("(victim's ids)"))) {
    const own = { ...attempt, request: { ...attempt.request, headers: { ...attempt.request.headers, authorization: `Bearer ${attempt.victim.key}` } } }
    const reply = await send(own.base, own.request)
    if (reply.status !== 200 || !('text' in reply)) continue
    // What holds none of the victim's data cannot be flagged: health checks, empty lists and memories.
    if (!reply.text.includes(attempt.victim.marker) && !ownedIds(own).some((id) => reply.text.includes(id))) continue
    selfChecked++
    if (!leakIn(own, reply)) unflagged.push(`${attempt.victim.label} ${own.request.path}`)
  }
  if (unflagged.length > 0) findings.push({ part: 'cross-tenant', summary: `the leak detector missed the victims' own reads: ${unflagged.join(', ')}` })

  let attempts = 0
  let leaks = 0
  let oracles = 0
  let serverErrors = 0
  let failures = 0
  const statuses = new Map<number, number>()
  // Mixed attempts last: they may create the attacker's own threads under the victims' thread names.
  for (const attempt of [...direct, ...internal, ...mixed]) {
    attempts++
    const reply = await send(attempt.base, attempt.request)
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
    if (process.env.SECURITY_REVIEW_VERBOSE) console.log(`  ${reply.status} ${attempt.victim.label} ${attempt.label} ${describe(attempt.request, 120)}`)
    if ('error' in reply) {
      failures++
      findings.push({ part: 'cross-tenant', summary: `${attempt.label}: no answer`, request: describe(attempt.request), response: outcome(reply) })
      continue
    }
    if (reply.status >= 500) {
      serverErrors++
      findings.push({ part: 'cross-tenant', summary: `${attempt.label}: ${reply.status}`, request: describe(attempt.request), response: outcome(reply) })
    }
    const leak = leakIn(attempt, reply)
    if (leak) {
      leaks++
      findings.push({ part: 'cross-tenant', summary: `LEAK ${attempt.label}: ${leak}`, request: describe(attempt.request), response: outcome(reply) })
      continue
    }
    // Existence oracle: the same request with ids of nothing must be refused in the same words.
    // The sibling's project is visible to the attacker anyway (GET /projects): its 403s are documented.
    if (reply.status >= 400 && !attempt.internal) {
      const twin = control(attempt.request, attempt.victim)
      const controlReply = await send(attempt.base, twin.request)
      const siblingProject = attempt.victim.sibling && attempt.request.path.startsWith(`/projects/${attempt.victim.ids.prj}`)
      if (!siblingProject && refusal(reply) !== refusal(controlReply, twin.swaps)) {
        oracles++
        findings.push({ part: 'cross-tenant', summary: `existence oracle ${attempt.label}: a victim's id and an id of nothing are refused differently`, request: describe(attempt.request), response: `victim's id → ${refusal(reply)} | id of nothing → ${refusal(controlReply, twin.swaps)}` })
      }
    }
  }

  // Side channels: during the attempts the victims were idle, so nothing of theirs may have
  // reached the model or their webhook receiver.
  await quiet(llm, () => receiver.received.length)
  const llmCalls = llm.requests.slice(llmMark)
  const hooks = receiver.received.slice(hookMark)
  for (const victim of victims) {
    const modelSaw = llmCalls.filter((call) => JSON.stringify(call.body).includes(victim.marker))
    if (modelSaw.length > 0) {
      leaks++
      findings.push({ part: 'cross-tenant', summary: `LEAK victim ${victim.label}'s data reached the model in ${modelSaw.length} call(s) the attacker caused`, response: JSON.stringify(modelSaw[0]!.body).slice(0, 600) })
    }
    const theirHooks = hooks.filter((hook) => hook.path === victim.hookPath)
    if (theirHooks.length > 0) {
      leaks++
      findings.push({ part: 'cross-tenant', summary: `LEAK victim ${victim.label}'s webhook endpoint received ${theirHooks.length} request(s) while only the attacker acted`, response: theirHooks[0]!.body.slice(0, 600) })
    }
  }

  // The victims' data, read back with their own keys.
  let changed = 0
  for (const victim of victims) {
    const after = await snapshot(base, victim)
    for (const change of changes(before.get(victim)!, after)) {
      changed++
      findings.push({ part: 'cross-tenant', summary: `LEAK victim ${victim.label}'s ${change.path} changed during the attack`, response: `before: ${change.before.slice(0, 400)}\nafter:  ${change.after.slice(0, 400)}` })
    }
  }
  leaks += changed

  // Last, as they make the victims write: event streams. The attacker listens to its project's feed and to a victim's thread id while
  // the victim talks; the victim's words must not arrive. And a token re-signed for the victim's project.
  for (const victim of victims) {
    const auth = { authorization: `Bearer ${attacker.key}` }
    const listening = [
      send(base, { method: 'GET', path: '/threads/events?last_event_id=0', headers: auth, streamReadMs: 4000 }),
      send(base, { method: 'GET', path: `/threads/events/${victim.ids.thread}?last_event_id=0`, headers: auth, streamReadMs: 4000 }),
    ]
    await sleep(500)
    const spoken = await streamMessage(base, victim.key, victim.ids.chat!, victim.ids.thread, `${victim.marker} live message`)
    if (spoken.status !== 200) throw new Error(`the victim could not write: ${outcome(spoken)}`)
    for (const [index, heard] of (await Promise.all(listening)).entries()) {
      attempts++
      statuses.set(heard.status, (statuses.get(heard.status) ?? 0) + 1)
      const label = index === 0 ? "the attacker's project stream" : `a stream of the victim's thread id ${victim.ids.thread}`
      if ('text' in heard && heard.text.includes(victim.marker)) {
        leaks++
        findings.push({ part: 'cross-tenant', summary: `LEAK ${label} carried victim ${victim.label}'s live message`, response: outcome(heard, 600) })
      }
    }
    const [payload, ...rest] = mine.ids.token!.slice(4).split('.')
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString())
    const forged = `est_${Buffer.from(JSON.stringify({ ...claims, p: victim.ids.prj, t: victim.ids.thread })).toString('base64url')}.${rest.join('.')}`
    const request: RawRequest = { method: 'GET', path: `/threads/events/${victim.ids.thread}?token=${forged}&last_event_id=0`, streamReadMs: 1000 }
    const reply = await send(base, request)
    attempts++
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
    if (reply.status >= 200 && reply.status < 300) {
      leaks++
      findings.push({ part: 'cross-tenant', summary: `LEAK an event token re-signed for victim ${victim.label}'s project was accepted`, request: describe(request), response: outcome(reply) })
    }
  }


  const statusText = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status || 'none'}×${count}`).join(' ')
  return {
    figures: [
      { figure: 'cross-tenant attempts', value: attempts, expected: '≥ 199', ok: attempts >= 199, note: `${operations(context.document).length} operations; victims: sibling project, other organization; answers ${statusText}` },
      { figure: 'cross-tenant leaks', value: leaks, expected: '0', ok: leaks === 0 },
      { figure: 'leak detector self-check', value: `${selfChecked - unflagged.length} of ${selfChecked}`, expected: 'all flagged', ok: selfChecked > 20 && unflagged.length === 0, note: "the victims' own reads, sent as the attack, must count as leaks" },
      { figure: "victims' data changed (paths)", value: changed, expected: '0', ok: changed === 0 },
      { figure: 'existence oracles', value: oracles, expected: '0', ok: oracles === 0, note: 'a victim id refused unlike an id of nothing' },
      { figure: 'cross-tenant 5xx / no answer', value: `${serverErrors} / ${failures}`, expected: '0 / 0', ok: serverErrors === 0 && failures === 0 },
    ],
    findings,
  }
}

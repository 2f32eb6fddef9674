import assert from 'node:assert/strict'
import fs from 'node:fs'
import { describe, test } from 'node:test'
import { AbstractPage, EventFeed, OPERATION_METHODS, OPERATIONS, ReplyStream, WorkenClient, type OperationId } from '@worken/sdk'
import { fillPath } from '../src/core/path.ts'

const spec = JSON.parse(fs.readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'))

/** Every operationId of the server's document, read directly (not through the generated table). */
const documented: string[] = Object.values<Record<string, { operationId: string }>>(spec.paths).flatMap((item) =>
  Object.entries(item)
    .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map(([, operation]) => operation.operationId),
)

function resolve(target: object, dotted: string): { fn: unknown; owner: unknown } {
  let owner: unknown = undefined
  let value: unknown = target
  for (const key of dotted.split('.')) {
    owner = value
    value = value === null || value === undefined ? undefined : (value as Record<string, unknown>)[key]
  }
  return { fn: value, owner }
}

describe('every operation of docs/openapi.json is reachable on the client', () => {
  test('OPERATION_METHODS names every documented operationId, and nothing else', () => {
    assert.ok(documented.length > 50)
    const missing = documented.filter((id) => !(id in OPERATION_METHODS))
    assert.deepEqual(missing, [], `operations without a client method: add them to src/operation-methods.ts and a resource`)
    const extra = Object.keys(OPERATION_METHODS).filter((id) => !documented.includes(id))
    assert.deepEqual(extra, [], 'OPERATION_METHODS names operations the server no longer has')
  })

  test('each entry resolves to a function of a real client instance', () => {
    const client = new WorkenClient({ apiKey: 'sk-test', baseURL: 'http://127.0.0.1:9' })
    const broken = Object.entries(OPERATION_METHODS).filter(([, method]) => typeof resolve(client, method).fn !== 'function')
    assert.deepEqual(broken, [])
  })

  test("the naming rule: an operationId's last segment get becomes retrieve, the others are kept", () => {
    for (const [id, method] of Object.entries(OPERATION_METHODS)) {
      const expected = id.replace(/\.get$/, '.retrieve')
      assert.equal(method, expected, id)
    }
  })
})

/** A body each operation accepts as far as the SDK is concerned (the fetch below does not validate). */
function sampleBody(id: OperationId): unknown {
  if (id === 'files.create') return { file: new Uint8Array([104, 105]), filename: 'hi.txt', purpose: 'assistants' }
  if (id === 'chats.threads.stream') return { messages: [{ role: 'user', content: 'hi' }] }
  return {}
}

/** What the fake fetch answers, by the shape the operation's method expects. */
function answerFor(id: OperationId): Response {
  const operation = OPERATIONS[id]
  if (operation.response === 'sse') {
    const frames = operation.method === 'GET' ? 'retry: 10\nid: 1\n\nid: 2\ndata: {"type":"thread_deleted","thread_id":"t"}\n\n' : 'data: {"type":"text-delta","textDelta":"hi"}\n\ndata: [DONE]\n\n'
    return new Response(frames, { headers: { 'content-type': 'text/event-stream' } })
  }
  if (operation.response === 'binary') return new Response(new Uint8Array([1, 2, 3]), { headers: { 'content-type': 'application/octet-stream' } })
  if (operation.pagination === 'offset') return Response.json([], { headers: { 'x-total-count': '0' } })
  if (operation.pagination === 'total') return Response.json({ data: [], total: 0 })
  if (operation.pagination === 'cursor') return Response.json({ data: [], has_more: false, next_cursor: null })
  return Response.json({})
}

describe('each typed method sends what the operations table says', () => {
  for (const [id, method] of Object.entries(OPERATION_METHODS) as Array<[OperationId, string]>) {
    test(`${method}() → ${OPERATIONS[id].method} ${OPERATIONS[id].path}`, async () => {
      const operation = OPERATIONS[id]
      const sent: Array<{ method: string; url: URL; headers: Headers; body: unknown }> = []
      const client = new WorkenClient({
        apiKey: 'sk-test',
        baseURL: 'http://api.worken.test/v9',
        fetch: async (input, init) => {
          sent.push({ method: String(init.method), url: new URL(input), headers: new Headers(init.headers), body: init.body })
          return answerFor(id)
        },
      })
      const params = Object.fromEntries(operation.pathParams.map((name) => [name, `${name}-value/with space`]))
      const args: unknown[] = operation.pathParams.map((name) => params[name])
      if (operation.requestBody !== 'none') args.push(sampleBody(id))
      const { fn, owner } = resolve(client, method)
      const result = await (fn as (...values: unknown[]) => unknown).apply(owner, args)

      if (operation.response === 'sse' && operation.method === 'GET') {
        assert.ok(result instanceof EventFeed)
        for await (const _ of result) break
      } else if (operation.response === 'sse') {
        assert.ok(result instanceof ReplyStream)
        assert.equal(await result.finalText(), 'hi')
      } else if (operation.response === 'binary') {
        assert.ok(result instanceof Response)
      } else if (operation.pagination !== 'none') {
        assert.ok(result instanceof AbstractPage)
      }

      assert.equal(sent.length, 1)
      const [request] = sent
      assert.equal(request!.method, operation.method)
      assert.equal(request!.url.pathname, `/v9${fillPath(operation.path, params)}`)
      assert.equal(request!.headers.get('authorization'), 'Bearer sk-test')
      if (operation.requestBody === 'multipart') assert.ok(request!.body instanceof FormData)
      else if (operation.requestBody === 'json' && operation.bodyRequired) assert.equal(request!.headers.get('content-type'), 'application/json')
      assert.equal(request!.headers.has('idempotency-key'), operation.method === 'POST')
    })
  }
})

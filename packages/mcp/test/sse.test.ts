import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildCatalog, callTool, collectReply, sseData, type ToolSpec } from '../src/index.ts'

/** A body that arrives in exactly these chunks. */
function bodyOf(chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk))
      controller.close()
    },
  })
}

describe('reading Server-Sent Events', () => {
  it('joins frames across chunks, CRLF split between them, and skips comments', async () => {
    const data: string[] = []
    for await (const item of sseData(bodyOf([': keepalive\r', '\n\r\ndata: {"a"', ':1}\r', '\n\r', '\nid: 7\ndata: line one\ndata: line two\n\n', 'data: [DONE]']))) data.push(item)
    assert.deepEqual(data, ['{"a":1}', 'line one\nline two', '[DONE]'])
  })

  it('sums a reply: text, tools, approvals, finish, errors, and whether it ended', async () => {
    const frames = [
      { type: 'text-delta', textDelta: 'Our return ' },
      { type: 'tool-call', toolCallId: 'call_1', toolName: 'handoff_to_operator', args: {} },
      { type: 'tool-result', toolCallId: 'call_1', toolName: 'handoff_to_operator', result: { handedOff: true } },
      { type: 'text-delta', textDelta: 'policy.' },
      { type: 'some-future-event' },
      { type: 'finish', finishReason: 'stop', usage: { inputTokens: 3, outputTokens: 2 } },
    ]
    const whole = await collectReply(bodyOf([...frames.map((frame) => `data: ${JSON.stringify(frame)}\n\n`), 'data: [DONE]\n\n']))
    assert.equal(whole.text, 'Our return policy.')
    assert.equal(whole.finish_reason, 'stop')
    assert.deepEqual(whole.usage, { inputTokens: 3, outputTokens: 2 })
    assert.equal(whole.tool_calls.length, 1)
    assert.equal(whole.tool_results.length, 1)
    assert.equal(whole.complete, true)
    const cut = await collectReply(bodyOf(['data: {"type":"text-delta","textDelta":"Half"}\n\n', 'data: {"type":"error","error":"The provider failed"}\n\n']))
    assert.deepEqual(cut.errors, ['The provider failed'])
    assert.equal(cut.complete, false)
  })
})

describe('tool results from answers', () => {
  const document = {
    openapi: '3.1.0',
    paths: {
      '/things/{id}/content': { get: { operationId: 'things.content.get', tags: ['Things'], parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] } },
      '/things/{id}/reply': { post: { operationId: 'things.reply', tags: ['Things'], parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] } },
    },
  }
  const [content, reply] = buildCatalog(document).tools as [ToolSpec, ToolSpec]

  it('gives bytes that are not UTF-8 as base64, and text as text', async () => {
    const binary = await callTool(content, { id: 'a' }, async () => new Response(new Uint8Array([0xff, 0x00, 0x41]), { headers: { 'content-type': 'application/octet-stream' } }))
    assert.deepEqual(binary.structuredContent, { content_type: 'application/octet-stream', size: 3, encoding: 'base64', content: '/wBB' })
    const text = await callTool(content, { id: 'a' }, async () => new Response('plain ✓', { headers: { 'content-type': 'text/plain' } }))
    assert.deepEqual(text.content, [{ type: 'text', text: 'plain ✓' }])
  })

  it('an unreachable API, an error page that is not JSON, and a broken stream are isError results, not throws', async () => {
    const unreachable = await callTool(content, { id: 'a' }, async () => { throw new TypeError('fetch failed') })
    assert.deepEqual(unreachable, { content: [{ type: 'text', text: 'The Worken API could not be reached: fetch failed' }], isError: true })
    const proxy = await callTool(content, { id: 'a' }, async () => new Response('<html>Bad Gateway</html>', { status: 502 }))
    assert.equal(proxy.isError, true)
    assert.match((proxy.content[0] as { text: string }).text, /^HTTP 502: <html>Bad Gateway/)
    const broken = await callTool(reply, { id: 'a' }, async () => new Response('data: {"type":"text-delta","textDelta":"Hel"}\n\n', { headers: { 'content-type': 'text/event-stream' } }))
    assert.equal(broken.isError, true)
    assert.equal((broken.content[0] as { text: string }).text, 'Hel')
    assert.match((broken.content[1] as { text: string }).text, /ended before \[DONE\]/)
  })
})

// Child process of bench/peers.ts: the load generator. One worker per conversation thread sends
// that thread's turns one after another (so its history grows); the workers run at once. Per
// stream: time to first token (request sent → first non-empty text delta, parsed from the
// target's own stream format) and total time (→ the end of the stream).
import http from 'node:http'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { postForEvents } from '../sse-post.ts'
import type { LoadReply, LoadRequest, LoadSpec, Protocol, Sample } from './protocol.ts'

const STREAM_TIMEOUT_MS = 60_000

type ChatMessage = { role: 'system' | 'user' | 'assistant'; content: string }

/** One thread's conversation as the OpenAI client keeps it (the other targets keep their own). */
type Conversation = { threadId: string; resourceId: string; history: ChatMessage[] }

function request(protocol: Protocol, conversation: Conversation, content: string): { url: string; headers: Record<string, string>; body: string } {
  switch (protocol.kind) {
    case 'openai': {
      const messages = [{ role: 'system', content: protocol.instructions }, ...conversation.history.slice(-protocol.lastMessages), { role: 'user', content }]
      return { url: protocol.url, headers: { authorization: 'Bearer bench-key' }, body: JSON.stringify({ model: protocol.model, messages, stream: true, stream_options: { include_usage: true } }) }
    }
    case 'worken':
      return {
        url: `${protocol.base}/chats/${protocol.chatId}/threads/${conversation.threadId}/stream`,
        headers: { authorization: `Bearer ${protocol.key}` },
        body: JSON.stringify({ messages: [{ role: 'user', content }] }),
      }
    case 'mastra':
      return {
        url: `${protocol.base}/api/agents/${protocol.agentId}/stream`,
        headers: {},
        body: JSON.stringify({ messages: [{ role: 'user', content }], memory: { thread: conversation.threadId, resource: conversation.resourceId } }),
      }
  }
}

/** The text delta in one `data:` event of the target's stream, '' for other events; throws on an error event. */
function textOf(kind: Protocol['kind'], event: any): string {
  switch (kind) {
    case 'openai':
      if (event.error) throw new Error(`upstream error: ${JSON.stringify(event.error).slice(0, 200)}`)
      return event.choices?.[0]?.delta?.content ?? ''
    case 'worken':
      if (event.type === 'error') throw new Error(`error event: ${JSON.stringify(event).slice(0, 200)}`)
      return event.type === 'text-delta' ? (event.textDelta ?? '') : ''
    case 'mastra':
      if (event.type === 'error' || event.type === 'tripwire') throw new Error(`${event.type} chunk: ${JSON.stringify(event.payload ?? event).slice(0, 200)}`)
      return event.type === 'text-delta' ? (event.payload?.text ?? '') : ''
  }
}

/** One streamed turn; never rejects: a failure is a sample with `ok: false`. */
async function stream(protocol: Protocol, conversation: Conversation, content: string, expectedText: string, agent: http.Agent): Promise<Sample & { text: string }> {
  const { url, headers, body } = request(protocol, conversation, content)
  const started = performance.now()
  let ttft: number | null = null
  let doneAt: number | null = null
  let text = ''
  let failure: string | undefined
  const onFrame = (frame: string) => {
    for (const line of frame.split('\n')) {
      if (!line.startsWith('data:')) continue // `: keepalive` comments, `event:` lines
      const data = line.slice(5).trim()
      if (data === '[DONE]') {
        doneAt = performance.now()
        continue
      }
      let delta: string
      try {
        delta = textOf(protocol.kind, JSON.parse(data))
      } catch (error) {
        failure ??= error instanceof SyntaxError ? `unparsable event: ${data.slice(0, 80)}` : (error as Error).message
        continue
      }
      if (delta) {
        if (ttft === null) ttft = performance.now() - started
        text += delta
      }
    }
  }
  const error = await postForEvents(url, { headers, body, agent, timeoutMs: STREAM_TIMEOUT_MS, onFrame })
  let problem = error ?? failure ?? (doneAt === null ? 'the stream ended without [DONE]' : undefined)
  if (!problem && text !== expectedText) problem = `wrong text: ${JSON.stringify(text.slice(0, 80))}`
  return { ttft, total: (doneAt ?? performance.now()) - started, ok: problem === undefined, ...(problem ? { error: problem } : {}), text }
}

async function run(spec: LoadSpec): Promise<Omit<LoadReply, 'id'>> {
  // Keep-alive, no socket limit: each worker reuses its connection from one turn to the next.
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
  const delay = monitorEventLoopDelay({ resolution: 10 })
  const samples: Sample[] = []
  try {
    delay.enable()
    const started = performance.now()
    const workers = Array.from({ length: Math.min(spec.threads, spec.streams) }, async (_, worker) => {
      const conversation: Conversation = { threadId: `${spec.threadPrefix}-${worker + 1}`, resourceId: `${spec.threadPrefix}-user-${worker + 1}`, history: [] }
      // Worker w sends turns w, w + threads, w + 2·threads… of the target's streams.
      const turns = Math.ceil((spec.streams - worker) / spec.threads)
      for (let turn = 1; turn <= turns; turn++) {
        const content = `Turn ${turn} of ${conversation.threadId}: what should a streaming benchmark measure?`
        const { text, ...sample } = await stream(spec.protocol, conversation, content, spec.expectedText, agent)
        samples.push(sample)
        if (sample.ok) conversation.history.push({ role: 'user', content }, { role: 'assistant', content: text })
      }
    })
    await Promise.all(workers)
    const wallMs = performance.now() - started
    delay.disable()
    return { samples, wallMs, maxStallMs: delay.max / 1e6 }
  } finally {
    // No idle connection left open: the server under test stops right after.
    agent.destroy()
  }
}

process.on('message', (message: LoadRequest) => {
  run(message.spec).then(
    (result) => process.send?.({ id: message.id, ...result } satisfies LoadReply),
    (error: unknown) => process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) } satisfies LoadReply),
  )
})

process.on('disconnect', () => process.exit(0))

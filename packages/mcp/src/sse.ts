/**
 * The `data:` payloads of a Server-Sent Events body, in order, as they arrive. Comments
 * (`: keepalive`) and other fields are skipped; a frame's data lines are joined by `\n`.
 */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = ''
  let pending = ''
  const decoder = new TextDecoder()
  const reader = body.getReader()
  let finished = false
  try {
    while (true) {
      const { value, done } = await reader.read()
      if (done) {
        finished = true
        break
      }
      let text = pending + decoder.decode(value, { stream: true })
      // A chunk ending in `\r` may end half-way through a `\r\n`: wait for the next one to tell.
      pending = text.endsWith('\r') ? '\r' : ''
      if (pending) text = text.slice(0, -1)
      buffer += text.replace(/\r\n?/g, '\n')
      let end: number
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const data = dataOf(buffer.slice(0, end))
        buffer = buffer.slice(end + 2)
        if (data !== undefined) yield data
      }
    }
    const rest = dataOf(buffer + (pending ? '\n' : ''))
    if (rest !== undefined) yield rest
  } finally {
    // A reader that stops early lets the server know, rather than leaving the response half-read.
    if (!finished) await reader.cancel().catch(() => undefined)
    reader.releaseLock()
  }
}

function dataOf(frame: string): string | undefined {
  const lines = frame.split('\n').filter((line) => line === 'data' || line.startsWith('data:'))
  if (lines.length === 0) return undefined
  return lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n')
}

/** What a reply stream said, for an agent: the text, and the rest of its events in short. */
export type ReplySummary = {
  text: string
  finish_reason: string | null
  usage: unknown
  tool_calls: unknown[]
  tool_results: unknown[]
  approval_requests: unknown[]
  errors: string[]
  /** Whether the stream ended with `[DONE]`, as a whole reply does. */
  complete: boolean
}

/**
 * Reads a reply stream (`chats.threads.stream`, `threads.approvals.decide`) to its end.
 * Unknown event types are ignored, so a newer server's extra events do no harm.
 */
export async function collectReply(body: ReadableStream<Uint8Array>): Promise<ReplySummary> {
  const summary: ReplySummary = { text: '', finish_reason: null, usage: null, tool_calls: [], tool_results: [], approval_requests: [], errors: [], complete: false }
  for await (const data of sseData(body)) {
    if (data === '[DONE]') {
      summary.complete = true
      continue
    }
    let event: Record<string, unknown>
    try {
      event = JSON.parse(data) as Record<string, unknown>
    } catch {
      summary.errors.push(`The stream carried a frame that is not JSON: ${data.slice(0, 200)}`)
      continue
    }
    const { type, ...rest } = event
    if (type === 'text-delta' && typeof event.textDelta === 'string') summary.text += event.textDelta
    else if (type === 'tool-call') summary.tool_calls.push(rest)
    else if (type === 'tool-result') summary.tool_results.push(rest)
    else if (type === 'tool-approval-request') summary.approval_requests.push(rest)
    else if (type === 'error') summary.errors.push(typeof event.error === 'string' ? event.error : JSON.stringify(event.error))
    else if (type === 'finish') {
      summary.finish_reason = typeof event.finishReason === 'string' ? event.finishReason : null
      summary.usage = event.usage ?? null
    }
  }
  return summary
}

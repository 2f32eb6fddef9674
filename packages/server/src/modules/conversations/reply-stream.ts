import { sseResponse } from '../../platform/http/sse.ts'
import type { StreamEvent } from '../agent/index.ts'
import type { Reply } from './reply.ts'
import { createUiMessageEncoder } from './ui-message-stream.ts'

/** `data`: the spec's events; `ui-message-stream`: the AI SDK UI protocol that `useChat` reads. */
export type StreamFormat = 'data' | 'ui-message-stream'

/**
 * One reader of a reply: its events as SSE (`data: <JSON>` frames, then
 * `data: [DONE]`). The reply goes on to the end if the client leaves.
 * `storedFirst` is the user's messages being stored: by `[DONE]` they are,
 * whatever became of the reply.
 */
export function replyResponse(reply: Reply, options: { keepaliveMs: number; requestId: string; format?: StreamFormat; storedFirst?: Promise<unknown> }): Response {
  const ui = options.format === 'ui-message-stream' ? createUiMessageEncoder() : null
  return sseResponse(options.keepaliveMs, async (channel) => {
    const write = (event: StreamEvent) => {
      if (ui) for (const chunk of ui.encode(event)) channel.send(chunk)
      else channel.send(event)
    }
    // A fast failure can come before the user's messages are stored. Clients stop at the `error`
    // event (the SDKs throw there), so hold it until they are: whoever reads the thread next finds them.
    const send = (event: StreamEvent) => {
      if (event.type === 'error' && options.storedFirst) void options.storedFirst.then(() => write(event), () => write(event))
      else write(event)
    }
    const unsubscribe = reply.subscribe(send)
    await reply.done
    unsubscribe()
    await options.storedFirst?.then(() => {}, () => {})
    channel.done()
  }, { 'x-request-id': options.requestId, ...(ui ? { 'x-vercel-ai-ui-message-stream': 'v1' } : {}) })
}

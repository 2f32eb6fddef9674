// Child process of bench/peers.ts: the paced OpenAI-compatible model server (test/support/llm-server.ts),
// alone in its process so that every target talks to the same, otherwise idle, upstream.
import { startLlmServer, type LlmServer } from '../../test/support/llm-server.ts'
import type { ModelReply, ModelRequest } from './protocol.ts'

let server: LlmServer | undefined
let requests = 0
let maxMessages = 0

process.on('message', (message: ModelRequest) => {
  void (async () => {
    try {
      if (message.type === 'start') {
        server ??= await startLlmServer()
        const { chunks, delayMs, chunkDelayMs } = message.script
        // The same reply every time; the count of messages shows how much history each target sends.
        server.replyWith((turn) => {
          requests += 1
          maxMessages = Math.max(maxMessages, turn.messages.length)
          return { text: chunks, delayMs, chunkDelayMs }
        })
        process.send?.({ id: message.id, url: server.url } satisfies ModelReply)
      } else {
        process.send?.({ id: message.id, requests, maxMessages } satisfies ModelReply)
        requests = 0
        maxMessages = 0
        // The recorded requests would otherwise pile up over the whole run.
        server?.requests.splice(0)
      }
    } catch (error) {
      process.send?.({ id: message.id, error: (error as Error).stack ?? String(error) } satisfies ModelReply)
    }
  })()
})

process.on('disconnect', () => {
  void (server?.close() ?? Promise.resolve()).finally(() => process.exit(0))
})

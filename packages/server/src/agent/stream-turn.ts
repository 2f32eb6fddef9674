import type { Logger } from 'pino'
import { errorBody } from '../http/errors.ts'
import { sseResponse } from '../http/sse.ts'
import type { Services } from '../services.ts'
import { runTurn, type StreamEvent, type TurnInput } from './turn.ts'
import { createUiMessageEncoder } from './ui-stream.ts'

/** `data`: the spec's events; `ui-message-stream`: the AI SDK UI protocol that `useChat` reads. */
export type StreamFormat = 'data' | 'ui-message-stream'

/**
 * Runs a turn and streams its events as SSE (`data: <JSON>` frames, then
 * `data: [DONE]`). The turn goes on to the end if the client leaves.
 */
export function streamTurnResponse(services: Services, logger: Logger, requestId: string, input: TurnInput, format: StreamFormat = 'data'): Response {
  const ui = format === 'ui-message-stream' ? createUiMessageEncoder() : null
  return sseResponse(services.streamKeepaliveMs, async (channel) => {
    const emit = (event: StreamEvent) => {
      if (ui) for (const chunk of ui.encode(event)) channel.send(chunk)
      else channel.send(event)
    }
    try {
      await runTurn(
        { database: services.database, logger, maxRetries: services.modelMaxRetries, recallEmbedder: services.recallEmbedder, afterTurn: services.afterTurn },
        input,
        emit,
      )
    } catch (error) {
      logger.error({ err: error, requestId }, 'agent turn crashed')
      emit({ type: 'error', error: errorBody(500).error })
    }
    channel.done()
  }, { 'x-request-id': requestId, ...(ui ? { 'x-vercel-ai-ui-message-stream': 'v1' } : {}) })
}

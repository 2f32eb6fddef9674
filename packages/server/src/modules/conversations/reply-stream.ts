import type { Logger } from 'pino'
import { errorBody } from '../../platform/http/errors.ts'
import { sseResponse } from '../../platform/http/sse.ts'
import type { ConversationServices as Services } from './services.ts'
import { runTurn, type StreamEvent, type TurnInput } from '../agent/turn.ts'
import { createUiMessageEncoder } from './ui-message-stream.ts'

/** `data`: the spec's events; `ui-message-stream`: the AI SDK UI protocol that `useChat` reads. */
export type StreamFormat = 'data' | 'ui-message-stream'

/**
 * Runs a turn and streams its events as SSE (`data: <JSON>` frames, then
 * `data: [DONE]`). The turn goes on to the end if the client leaves.
 */
export function streamTurnResponse(services: Services, logger: Logger, requestId: string, input: TurnInput, format: StreamFormat = 'data'): Response {
  return startTurnStream(services, logger, requestId, input, format).response()
}

export type StartedTurn = {
  /** The SSE response; events produced before it was asked for are replayed first. */
  response(): Response
  /** Stops the model call (nothing of the reply is stored); the reason becomes the `error` event's text. */
  abort(reason?: string): void
}

/**
 * Starts the turn at once — the model call is in flight — and streams its
 * events when `response()` is called. The caller can finish other work (store
 * the user's message) meanwhile, and abort if that fails.
 */
export function startTurnStream(services: Services, logger: Logger, requestId: string, input: TurnInput, format: StreamFormat = 'data'): StartedTurn {
  const controller = new AbortController()
  const ui = format === 'ui-message-stream' ? createUiMessageEncoder() : null
  const buffered: unknown[] = []
  let deliver: ((frame: unknown) => void) | null = null
  const send = (frame: unknown) => (deliver ? deliver(frame) : buffered.push(frame))
  const emit = (event: StreamEvent) => {
    if (ui) for (const chunk of ui.encode(event)) send(chunk)
    else send(event)
  }
  const finished = runTurn(
    { database: services.database, logger, maxRetries: services.modelMaxRetries, recallEmbedder: services.recallEmbedder, knowledge: services.knowledge, afterTurn: services.afterTurn },
    { ...input, abortSignal: controller.signal },
    emit,
  ).then(
    () => {},
    (error: unknown) => {
      if (controller.signal.aborted) return
      logger.error({ err: error, requestId }, 'agent turn crashed')
      emit({ type: 'error', error: errorBody('internal_error').error })
    },
  )
  return {
    abort: (reason) => controller.abort(reason ?? 'The model call was aborted'),
    response: () =>
      sseResponse(services.streamKeepaliveMs, async (channel) => {
        for (const frame of buffered.splice(0)) channel.send(frame)
        deliver = (frame) => channel.send(frame)
        await finished
        // By [DONE] the user's messages are stored, whatever became of the reply.
        await input.persistAfter?.then(() => {}, () => {})
        channel.done()
      }, { 'x-request-id': requestId, ...(ui ? { 'x-vercel-ai-ui-message-stream': 'v1' } : {}) }),
  }
}

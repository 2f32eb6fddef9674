import type { Logger } from 'pino'
import { errorBody } from '../http/errors.ts'
import { sseResponse } from '../http/sse.ts'
import type { Services } from '../services.ts'
import { runTurn, type TurnInput } from './turn.ts'

/**
 * Runs a turn and streams its events as SSE (`data: <JSON>` frames, then
 * `data: [DONE]`). The turn goes on to the end if the client leaves.
 */
export function streamTurnResponse(services: Services, logger: Logger, requestId: string, input: TurnInput): Response {
  return sseResponse(services.streamKeepaliveMs, async (channel) => {
    try {
      await runTurn(
        { database: services.database, logger, maxRetries: services.modelMaxRetries, recallEmbedder: services.recallEmbedder, afterTurn: services.afterTurn },
        input,
        (event) => channel.send(event),
      )
    } catch (error) {
      logger.error({ err: error, requestId }, 'agent turn crashed')
      channel.send({ type: 'error', error: errorBody(500).error })
    }
    channel.done()
  }, { 'x-request-id': requestId })
}

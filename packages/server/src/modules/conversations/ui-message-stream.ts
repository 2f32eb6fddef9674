import type { UIMessageChunk } from 'ai'
import { newId } from '../../platform/db/ids.ts'
import type { StreamEvent } from '../agent/index.ts'

/**
 * Translates a turn's events into the AI SDK's UI message stream protocol
 * (what `useChat` reads), so a web frontend can talk to the stream endpoint
 * directly with `?format=ui-message-stream`.
 */
export function createUiMessageEncoder(): { encode(event: StreamEvent): UIMessageChunk[] } {
  let started = false
  let textId: string | null = null
  const closeText = (): UIMessageChunk[] => {
    if (textId === null) return []
    const chunk: UIMessageChunk = { type: 'text-end', id: textId }
    textId = null
    return [chunk]
  }
  return {
    encode(event) {
      const chunks: UIMessageChunk[] = []
      if (!started) {
        started = true
        chunks.push({ type: 'start', messageId: newId('msg') }, { type: 'start-step' })
      }
      switch (event.type) {
        case 'text-delta':
          if (textId === null) {
            textId = newId('msg')
            chunks.push({ type: 'text-start', id: textId })
          }
          chunks.push({ type: 'text-delta', id: textId, delta: event.textDelta })
          break
        case 'tool-call':
          chunks.push(...closeText(), { type: 'tool-input-available', toolCallId: event.toolCallId, toolName: event.toolName, input: event.args })
          break
        case 'tool-result':
          chunks.push({ type: 'tool-output-available', toolCallId: event.toolCallId, output: event.result })
          break
        case 'tool-approval-request':
          chunks.push({ type: 'tool-approval-request', approvalId: event.approvalId, toolCallId: event.toolCallId })
          break
        case 'finish':
          chunks.push(...closeText(), { type: 'finish-step' }, { type: 'finish', finishReason: event.finishReason as never })
          break
        case 'error':
          chunks.push(...closeText(), { type: 'error', errorText: event.error })
          break
      }
      return chunks
    },
  }
}

import type { z } from '@hono/zod-openapi'
import type { MessageSchema, ThreadMode as ThreadModeSchema, ThreadSchema } from './schemas.ts'
import type { messages, threads } from './tables.ts'

/** API objects of this module, typed once from their schemas. */
export type Thread = z.infer<typeof ThreadSchema>
export type ThreadMode = z.infer<typeof ThreadModeSchema>
export type Message = z.infer<typeof MessageSchema>

type ThreadRow = typeof threads.$inferSelect
type MessageRow = typeof messages.$inferSelect

export function toThread(row: ThreadRow): Thread {
  return {
    id: row.id,
    chat_id: row.chatId,
    bot_id: row.botId,
    mode: row.mode as ThreadMode,
    title: row.title,
    last_message_at: row.lastMessageAt?.toISOString() ?? null,
    pending_count: row.pendingCount,
    created_at: row.createdAt.toISOString(),
  }
}

export function toMessage(row: MessageRow): Message {
  const parts = Array.isArray(row.parts) ? (row.parts as StoredPart[]) : []
  const toolCalls = row.role === 'assistant' ? parts.filter((part) => part.type === 'tool-call') : []
  const toolResults = row.role === 'tool' ? parts.filter((part) => part.type === 'tool-result') : []
  return {
    id: row.id,
    role: row.role as Message['role'],
    content: row.content,
    created_at: row.createdAt.toISOString(),
    author: row.author as Message['author'],
    operator_id: row.operatorId,
    usage: row.model ? { model: row.model, input_tokens: row.inputTokens, output_tokens: row.outputTokens } : null,
    tool_calls: toolCalls.length > 0 ? toolCalls.map((part) => ({ id: String(part.toolCallId), name: String(part.toolName), args: part.input ?? null })) : null,
    tool_results: toolResults.length > 0
      ? toolResults.map((part) => ({ tool_call_id: String(part.toolCallId), name: String(part.toolName), result: resultOf(part.output) }))
      : null,
    ...(row.deliveryStatus ? { delivery: { status: row.deliveryStatus as 'pending' | 'sent' | 'failed', external_id: row.deliveryExternalId, error: row.deliveryError } } : {}),
  }
}

/** A stored AI SDK content part (`parts` holds the model message's content as the SDK gave it). */
type StoredPart = { type: string; toolCallId?: unknown; toolName?: unknown; input?: unknown; output?: unknown }

/** The tool's answer as a reader wants it: the SDK wraps it as `{ type: 'json' | 'text' | 'error-…', value }`. */
function resultOf(output: unknown): unknown {
  if (!output || typeof output !== 'object' || !('type' in output)) return output ?? null
  const { type, value } = output as { type: string; value?: unknown }
  if (type === 'json' || type === 'text') return value ?? null
  if (type === 'error-text' || type === 'error-json') return { error: value ?? null }
  if (type === 'execution-denied') return { denied: true, ...('reason' in output ? { reason: (output as { reason?: unknown }).reason } : {}) }
  return output
}

import type { z } from '@hono/zod-openapi'
import { and, eq, sql } from 'drizzle-orm'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import { toolApprovals } from './tables.ts'
import type { MessageWriter } from './message-writer.ts'
import type { ApprovalBody } from './schemas.ts'
import { AppError } from '../../platform/errors.ts'

/** A person's decision on a tool call (the API object `ApprovalDecision`), typed once from its schema. */
export type ApprovalDecision = z.infer<typeof ApprovalBody>

/**
 * Records a person's decision on a pending tool call: the approval row and a
 * tool message carrying the AI SDK's `tool-approval-response`, so the next turn
 * runs (or refuses) the tool. Deciding twice is a 409.
 */
export async function decideApproval(handle: DatabaseHandle, writer: MessageWriter, projectId: string, threadId: string, approvalId: string, decision: ApprovalDecision, decidedBy: string): Promise<void> {
  await handle.db.transaction(async (tx) => {
    const [approval] = await tx
      .select()
      .from(toolApprovals)
      .where(and(eq(toolApprovals.projectId, projectId), eq(toolApprovals.threadId, threadId), eq(toolApprovals.id, approvalId)))
      .for('update')
    if (!approval) throw AppError.notFound('Approval', approvalId)
    if (approval.status !== 'pending') throw AppError.conflict(`Approval '${approvalId}' was already ${approval.status}`)
    const status = decision.approved ? 'approved' : 'denied'
    await tx
      .update(toolApprovals)
      .set({ status, reason: decision.reason ?? null, decidedBy, decidedAt: sql`now()` })
      .where(eq(toolApprovals.id, approvalId))
    // The decision reaches the model as a tool message; a reader of the thread sees the approval event instead.
    await writer.write(tx, projectId, threadId, {
      compose: () => [{
        role: 'tool',
        author: 'system',
        content: '',
        parts: [{ type: 'tool-approval-response', approvalId, approved: decision.approved, ...(decision.reason ? { reason: decision.reason } : {}) }],
        silent: true,
      }],
      activity: false,
      eventsAfter: (_rows: unknown, thread: { chatId: string }) => [{ type: 'thread.approval.decided', chatId: thread.chatId, threadId, data: { approval_id: approvalId, tool_name: approval.toolName, status, decided_by: decidedBy } }],
    })
  })
}

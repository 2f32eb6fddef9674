import { and, eq, sql } from 'drizzle-orm'
import type { DatabaseHandle } from '../../platform/db/client.ts'
import type { Outbox } from '../../platform/events/outbox.ts'
import { toMessage } from './objects.ts'
import { messages } from './tables.ts'

export type DeliveryOutcome = { status: 'sent'; externalId: string } | { status: 'failed'; error: string }

/**
 * Records what a channel made of a message sent out through it, on the message, with a
 * `thread.message.delivery.changed` event (the `message_delivery` frame, and a webhook) in the same
 * transaction. The channel sender's one way to write to a conversation's rows.
 */
export async function recordDelivery(database: DatabaseHandle, outbox: Outbox, projectId: string, messageId: string, outcome: DeliveryOutcome): Promise<void> {
  await database.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(messages)
      .set(outcome.status === 'sent'
        ? { deliveryStatus: 'sent', deliveryExternalId: outcome.externalId, deliveryError: null }
        : { deliveryStatus: 'failed', deliveryError: outcome.error })
      .where(and(eq(messages.projectId, projectId), eq(messages.id, messageId), sql`${messages.deliveryStatus} is distinct from 'sent'`))
      .returning()
    // Deleted with its thread meanwhile, or already recorded as sent: nothing to say.
    if (!updated) return
    const message = toMessage(updated)
    await outbox.append(tx, projectId, [{ type: 'thread.message.delivery.changed', chatId: updated.chatId, threadId: updated.threadId, data: { message_id: message.id, delivery: message.delivery } }])
  })
}

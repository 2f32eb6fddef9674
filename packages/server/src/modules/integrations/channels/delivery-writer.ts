import { sql } from 'drizzle-orm'
import type { OutboxConsumer } from '../../../platform/events/outbox.ts'

/**
 * The messages that go out through a channel: a bot's or an operator's message (role `assistant`,
 * with text) created in a thread that is an external conversation (`channel_threads`). A message that
 * came from the channel (the user's) is never sent back to it.
 */
const outgoing = (projectId: string) => sql`
    from appended
    join channel_threads ct on ct.project_id = ${projectId} and ct.thread_id = appended.thread_id
    where appended.type = 'thread.message.created'
      and appended.data->'message'->>'role' = 'assistant'
      and appended.data->'message'->>'author' in ('bot', 'operator')
      and appended.data->'message'->>'content' <> ''`

/**
 * Channel sends as an outbox consumer: a delivery row per outgoing message, in the message's own
 * transaction (none lost), with an id derived from the message's (none doubled). The channel sender
 * (sender.ts) claims them from there.
 */
export const channelDeliveryWriter: OutboxConsumer = {
  name: 'channel deliveries',
  statement: (projectId) => sql`
    insert into channel_deliveries (id, project_id, integration_id, thread_id, message_id, external_chat_id)
    select 'chd_' || substr(md5(appended.data->'message'->>'id'), 1, 26), ${projectId}, ct.integration_id, appended.thread_id,
      appended.data->'message'->>'id', ct.external_chat_id
    ${outgoing(projectId)}
    on conflict (id) do nothing`,
}

/** And the message says so at once: `delivery_status = 'pending'` until the sender records the vendor's answer. */
export const channelDeliveryMarker: OutboxConsumer = {
  name: 'channel delivery status',
  statement: (projectId) => sql`
    update messages set delivery_status = 'pending'
    where id in (select appended.data->'message'->>'id' ${outgoing(projectId)})`,
}

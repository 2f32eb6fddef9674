import { sql } from 'drizzle-orm'
import type { OutboxConsumer } from '../../platform/events/outbox.ts'

/**
 * The spec's WebhookEvent, `{ id, type, created_at, data }`, built where the
 * event is appended; `data` is the outbox data plus its `chat_id` and `thread_id`.
 */
const webhookPayloadSql = sql.raw(`jsonb_build_object(
        'id', appended.id,
        'type', appended.type,
        'created_at', to_char(appended.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'data', jsonb_build_object('chat_id', appended.chat_id, 'thread_id', appended.thread_id) || appended.data)`)

/**
 * Webhooks as an outbox consumer: a delivery for each active endpoint of the
 * project that wants the event's type, written in the event's own transaction
 * (so none is lost), with an id derived from the endpoint and the event (so
 * none is doubled). The sender (sender.ts) claims them from there. A project
 * with no endpoints costs one index probe.
 */
export const webhookDeliveryWriter: OutboxConsumer = {
  name: 'webhook deliveries',
  statement: (projectId) => sql`
    insert into webhook_deliveries (id, project_id, endpoint_id, event_id, event_type, payload)
    select 'whd_' || substr(md5(endpoint.id || ':' || appended.id), 1, 26), ${projectId}, endpoint.id, appended.id, appended.type,
      ${webhookPayloadSql}
    from appended
    join webhook_endpoints endpoint
      on endpoint.project_id = ${projectId} and endpoint.status = 'active'
      and (endpoint.event_types is null or appended.type = any(endpoint.event_types))`,
}

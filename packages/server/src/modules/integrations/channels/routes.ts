import { Hono } from 'hono'
import type { AppEnv } from '../../../platform/http/context.ts'
import { errorBody } from '../../../platform/http/errors.ts'
import { ID_PATTERN } from '../../../platform/db/ids.ts'
import type { IntegrationService } from '../service.ts'
import type { ChannelInbound } from './inbound.ts'
import { telegramUpdateKey } from './telegram/inbound.ts'
import { verifyTelegramWebhookSecret } from './telegram/webhook-secret.ts'

export type ChannelRouteServices = { integrations: IntegrationService; channelInbound: ChannelInbound }

/** The largest update body taken (Telegram's updates are a few KB; a message is at most 4096 characters). */
const MAX_UPDATE_BYTES = 256 * 1024

/**
 * Where vendors deliver updates: `POST /channels/telegram/:integration_id`, on the public listener,
 * without an API key (the vendor has none): the vendor's own secret is the credential, checked
 * before anything is read or stored. A forged or unknown update is 401 and leaves no trace; a
 * genuine one is recorded under its key and answered 200 at once (a re-delivery too, as a no-op),
 * and its message is processed after the answer.
 */
export const channelRoutes = new Hono<AppEnv<ChannelRouteServices>>()
  .post('/channels/telegram/:integration_id', async (c) => {
    const integrationId = c.req.param('integration_id')
    const services = c.get('services')
    const integration = ID_PATTERN.test(integrationId) ? await services.integrations.findForChannel(integrationId) : null
    const secret = c.req.header('x-telegram-bot-api-secret-token')
    // One answer for an unknown integration and a wrong secret: the route says nothing of which ids exist.
    if (!integration || integration.vendor !== 'telegram' || !verifyTelegramWebhookSecret(services.integrations.secretBox, integration.id, secret)) {
      return c.json(errorBody('unauthorized', 'The update is not signed for this integration'), 401)
    }
    const length = Number(c.req.header('content-length') ?? 0)
    if (length > MAX_UPDATE_BYTES) return c.json(errorBody('payload_too_large'), 413)
    let update: unknown
    try {
      update = await c.req.json()
    } catch {
      return c.json(errorBody('malformed_request', 'The update is not JSON'), 400)
    }
    const key = telegramUpdateKey(update)
    if (key === null) return c.json(errorBody('invalid_request', 'update_id: must be an integer'), 422)
    const recorded = await services.channelInbound.record(integration, key, update)
    if (recorded.fresh) services.channelInbound.processSoon(recorded.id)
    return c.json({ ok: true }, 200)
  })

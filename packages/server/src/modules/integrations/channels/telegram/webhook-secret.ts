import type { SecretBox } from '../../../../platform/crypto/secrets.ts'

const PURPOSE = 'telegram-webhook-secret'

/**
 * The `secret_token` given to `setWebhook` for an integration, which Telegram sends back in
 * `X-Telegram-Bot-Api-Secret-Token` on every update: derived from the integration's id with the
 * server's key (nothing to store, the same in every process, changed by a key rotation). Telegram
 * allows only `A-Za-z0-9_-`, so the signature's `.` becomes `_`.
 */
export function telegramWebhookSecret(secrets: SecretBox, integrationId: string): string {
  return secrets.sign(integrationId, PURPOSE).replace('.', '_')
}

export function verifyTelegramWebhookSecret(secrets: SecretBox, integrationId: string, given: string | undefined): boolean {
  if (!given || !/^[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/.test(given)) return false
  return secrets.verify(integrationId, `${given.slice(0, 8)}.${given.slice(9)}`, PURPOSE)
}

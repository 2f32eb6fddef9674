import type { IntegrationVendor } from '../vendors/types.ts'

/** The user blocked the bot (or deleted their account): nothing more is sent to that conversation, and it is not retried. */
export class RecipientGone extends Error {
  override name = 'RecipientGone'
}

/** The vendor refused this message for good (a 4xx other than 429): recorded as failed with the vendor's words, not retried. */
export class DeliveryRefused extends Error {
  override name = 'DeliveryRefused'
}

/** Worth another try: the vendor's 429 (with its delay), a 5xx, a network error. */
export class DeliveryDeferred extends Error {
  override name = 'DeliveryDeferred'
  /** The vendor's own delay (Telegram's `retry_after`), when it gave one. */
  readonly retryAfterMs: number | null
  constructor(message: string, retryAfterMs: number | null = null) {
    super(message)
    this.retryAfterMs = retryAfterMs
  }
}

/** What a delivery has already done, so a retry after a crash sends only the rest of a split message. */
export type DeliveryProgress = {
  /** The vendor's ids of the parts sent so far, in order. */
  sentParts: readonly string[]
  /** Called after each part is accepted by the vendor, before the next is sent. */
  partSent(externalId: string): Promise<void>
}

/** What the engine needs of a vendor to send a bot's or an operator's message out. */
export type OutboundAdapter = {
  vendor: IntegrationVendor
  /**
   * Sends `markdown` to the conversation, rendered and split for the channel, skipping the parts
   * `progress` says were sent. Answers the vendor's ids of all the parts. Throws `RecipientGone`,
   * `DeliveryRefused`, `DeliveryDeferred`, or `CredentialsRefused` (the integration's token no
   * longer works).
   */
  send(input: { auth: Record<string, unknown>; apiUrl: string; externalChatId: string; markdown: string; progress: DeliveryProgress; signal: AbortSignal }): Promise<string[]>
}

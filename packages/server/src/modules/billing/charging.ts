import { eq, sql } from 'drizzle-orm'
import type { Database, DatabaseHandle } from '../../platform/db/client.ts'
import type { OutboxEvent } from '../../platform/events/outbox.ts'
import { projects } from '../projects/index.ts'
import type { Balance, Ledger } from './ledger.ts'
import { replyCost, type PriceTable } from './pricing.ts'

/** A stored model reply, as the message writer hands it over: the message row's usage columns. */
export type StoredReply = {
  id: string
  chatId: string
  threadId: string
  model: string | null
  inputTokens: number | null
  outputTokens: number | null
}

/** Sent (webhooks) when a charge takes credits + bonus below `WORKEN_BILLING_LOW_BALANCE`. */
export const BALANCE_LOW_EVENT = 'billing.balance.low'
/** Sent when a new turn was refused for want of credits (a channel's message; the API caller gets a 402). */
export const CREDITS_EXHAUSTED_EVENT = 'billing.credits_exhausted'

/** Projects never change organization: the lookup is remembered, up to a bound. */
const ORGANIZATION_CACHE_LIMIT = 10_000

/**
 * Billing's side of a conversation: charges every stored model reply in the
 * transaction that stores it (idempotency key: the reply's message id), and
 * says whether an organization may start a new turn.
 *
 * @example
 *   const charges = new ReplyCharges(database, ledger, DEFAULT_PRICES)
 *   const writer = new MessageWriter(outbox, { onReplyStored: (tx, projectId, rows) => charges.charge(tx, projectId, rows) })
 */
export class ReplyCharges {
  private readonly database: DatabaseHandle
  private readonly ledger: Ledger
  readonly prices: PriceTable
  private readonly organizations = new Map<string, string>()

  constructor(database: DatabaseHandle, ledger: Ledger, prices: PriceTable) {
    this.database = database
    this.ledger = ledger
    this.prices = prices
  }

  /** The organization that owns a project (and so pays for its replies). */
  async organizationOf(projectId: string, tx?: Database): Promise<string | undefined> {
    const known = this.organizations.get(projectId)
    if (known) return known
    const [row] = await (tx ?? this.database.db).select({ organizationId: projects.organizationId }).from(projects).where(eq(projects.id, projectId))
    if (!row) return undefined
    if (this.organizations.size >= ORGANIZATION_CACHE_LIMIT) this.organizations.clear()
    this.organizations.set(projectId, row.organizationId)
    return row.organizationId
  }

  /**
   * Charges each reply that has usage, inside the caller's transaction, and
   * answers the events to append with it (`billing.balance.low` when the
   * balance fell below the threshold). A reply charged before (a retry of the
   * same store) is not charged again.
   */
  async charge(tx: Database, projectId: string, replies: StoredReply[]): Promise<OutboxEvent[]> {
    const priced = replies
      .filter((reply) => reply.model !== null)
      .map((reply) => ({ reply, cost: replyCost(this.prices, { model: reply.model!, inputTokens: reply.inputTokens, outputTokens: reply.outputTokens }) }))
      .filter(({ cost }) => cost > 0)
    if (priced.length === 0) return []
    const organizationId = await this.organizationOf(projectId, tx)
    if (!organizationId) return []
    const events: OutboxEvent[] = []
    for (const { reply, cost } of priced) {
      const posted = await this.ledger.post({
        organizationId,
        type: 'charge',
        amount: cost,
        description: `Reply ${reply.id} (${reply.model})`,
        idempotencyKey: reply.id,
        actor: 'system',
        metadata: { project_id: projectId, chat_id: reply.chatId, thread_id: reply.threadId, message_id: reply.id, model: reply.model, input_tokens: reply.inputTokens, output_tokens: reply.outputTokens },
      }, tx)
      if (posted.lowBalance) {
        // The reply that crossed the threshold names its chat and thread (the webhook's chat_id, thread_id).
        events.push({ type: BALANCE_LOW_EVENT, chatId: reply.chatId, threadId: reply.threadId, data: { organization_id: organizationId, ...posted.balance, threshold: posted.lowBalance.threshold } })
      }
    }
    return events
  }

  /**
   * Whether the project's organization may start a new turn: an `enterprise`
   * organization always (it is not prepaid), any other while credits + bonus
   * is above zero. One query.
   */
  async mayStartTurn(projectId: string): Promise<{ allowed: boolean; organizationId: string | null; balance: Balance }> {
    const result = await this.database.db.execute(sql`
      select p.organization_id, b.tariff,
        coalesce(sum(a.balance) filter (where a.kind = 'credits'), 0)::text as credits,
        coalesce(sum(a.balance) filter (where a.kind = 'bonus'), 0)::text as bonus
      from projects p
      left join billing_accounts b on b.organization_id = p.organization_id
      left join ledger_accounts a on a.organization_id = p.organization_id and a.kind in ('credits', 'bonus')
      where p.id = ${projectId}
      group by p.organization_id, b.tariff`)
    const [row] = (result as unknown as { rows: Array<{ organization_id: string; tariff: string | null; credits: string; bonus: string }> }).rows
    if (!row) return { allowed: true, organizationId: null, balance: { credits: 0, bonus: 0 } }
    const balance = { credits: Number(row.credits), bonus: Number(row.bonus) }
    const tariff = row.tariff ?? this.ledger.defaultTariff
    return { allowed: tariff === 'enterprise' || balance.credits + balance.bonus > 0, organizationId: row.organization_id, balance }
  }
}

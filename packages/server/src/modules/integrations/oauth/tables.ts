import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core'
import { createdAt } from '../../../platform/db/columns.ts'
import { integrations } from '../tables.ts'

/**
 * An OAuth authorization in flight: written by `POST /integrations/:id/oauth/start`, taken once by
 * `GET /oauth/callback`. The state handed to the vendor is 256 random bits; only its SHA-256 is
 * kept (`state_hash`), so the table cannot be used to complete someone's flow. The PKCE
 * `code_verifier` is encrypted with the secret store, bound to the state's hash (with an intercepted
 * code it would redeem it). `redirect_uri` is the one the authorization request carried (the token
 * request must repeat it exactly, whatever WORKEN_PUBLIC_URL says by then). A state expires after
 * `expires_at` (10 minutes) and is single use (`used_at`, set atomically when the callback takes it);
 * rows are removed a day after they expire, and with their integration.
 */
export const oauthStates = pgTable('oauth_states', {
  stateHash: text('state_hash').primaryKey(),
  projectId: text('project_id').notNull(),
  integrationId: text('integration_id').notNull().references(() => integrations.id, { onDelete: 'cascade' }),
  codeVerifierCiphertext: text('code_verifier_ciphertext'),
  redirectUri: text('redirect_uri').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
}, (t) => [
  index('oauth_states_integration_idx').on(t.integrationId),
  index('oauth_states_expires_idx').on(t.expiresAt),
])

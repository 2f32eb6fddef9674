import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * The shared counters of the plan rate limits on Postgres, in the shape `rate-limiter-flexible`'s
 * `RateLimiterDrizzle` reads and writes: one row per counted key (`plan:<project id>`), the
 * requests counted in its current window and when that window ends. A request is one upsert
 * (`INSERT … ON CONFLICT DO UPDATE … RETURNING`), so every process on the database shares the
 * counter; the library deletes rows whose window ended over an hour ago every five minutes.
 * No foreign key: the key is the library's string, and a deleted project's row simply expires.
 */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull(),
  expire: timestamp('expire', { withTimezone: true, mode: 'date' }),
})

import { and, eq, isNotNull, isNull } from 'drizzle-orm'
import type { DatabaseHandle } from '../../../platform/db/client.ts'
import { channelDeliveries, channelPollers, channelUpdates } from './tables.ts'

/**
 * At the start of a process that is the database's only one (PGlite: the data directory is
 * locked), every channel claim still held was a crashed process's: give them back at once, as
 * the owed replies are, so that a restart after a kill -9 polls its bots, takes in the updates and
 * sends the deliveries the dead process held without waiting for their leases (40–60 s) to lapse.
 */
export async function releaseChannelClaims(database: DatabaseHandle): Promise<void> {
  await database.db.update(channelPollers).set({ owner: null, leaseUntil: null }).where(isNotNull(channelPollers.leaseUntil))
  await database.db.update(channelUpdates).set({ leaseUntil: null }).where(and(isNull(channelUpdates.processedAt), isNotNull(channelUpdates.leaseUntil)))
  await database.db.update(channelDeliveries).set({ leaseUntil: null }).where(and(eq(channelDeliveries.status, 'pending'), isNotNull(channelDeliveries.leaseUntil)))
}

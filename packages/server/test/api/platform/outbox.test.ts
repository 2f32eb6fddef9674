import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { sql } from 'drizzle-orm'
import { EVENTS_CHANNEL, Outbox, type OutboxConsumer } from '../../../src/platform/events/outbox.ts'
import { createTestContext, type Seeded, type TestContext } from '../../support/harness.ts'

let ctx: TestContext
let owner: Seeded

before(async () => {
  ctx = await createTestContext()
  owner = await ctx.seed()
  await ctx.database.db.execute(sql`create table consumed (event_id text not null, type text not null, consumer text not null, primary key (event_id, consumer))`)
})
after(() => ctx.close())

const consumer = (name: string): OutboxConsumer => ({
  name,
  statement: () => sql`insert into consumed (event_id, type, consumer) select appended.id, appended.type, ${name} from appended`,
})

/** The rows of a raw query (both drivers answer `{ rows }`). */
const query = async <Row,>(statement: ReturnType<typeof sql>): Promise<Row[]> => ((await ctx.database.db.execute(statement)) as unknown as { rows: Row[] }).rows
const rows = () => query(sql`select c.type, c.consumer, e.project_id from consumed c join events e on e.id = c.event_id order by e.seq, c.consumer`)
const eventCount = async () => Number((await query<{ count: number }>(sql`select count(*)::int as count from events`))[0]!.count)

describe('the outbox and its consumers', () => {
  it('runs every consumer on the appended events, in their transaction', async () => {
    const outbox = new Outbox([consumer('a'), consumer('b')])
    await ctx.database.db.transaction((tx) =>
      outbox.append(tx, owner.projectId, [
        { type: 'test.first', data: {} },
        { type: 'test.second', chatId: 'chat_x', threadId: 't', data: { n: 2 } },
      ]))
    assert.deepEqual(await rows(), [
      { type: 'test.first', consumer: 'a', project_id: owner.projectId },
      { type: 'test.first', consumer: 'b', project_id: owner.projectId },
      { type: 'test.second', consumer: 'a', project_id: owner.projectId },
      { type: 'test.second', consumer: 'b', project_id: owner.projectId },
    ])
  })

  it('keeps nothing, events or consumers\' rows, when the transaction rolls back', async () => {
    const outbox = new Outbox([consumer('a')])
    const before = (await rows()).length
    const eventsBefore = await eventCount()
    await assert.rejects(ctx.database.db.transaction(async (tx) => {
      await outbox.append(tx, owner.projectId, [{ type: 'test.rolled-back', data: {} }])
      throw new Error('the change failed after its events were appended')
    }), /the change failed/)
    assert.equal((await rows()).length, before)
    assert.equal(await eventCount(), eventsBefore)
  })

  it('appends nothing and runs no consumer for an empty list', async () => {
    const outbox = new Outbox([consumer('a')])
    const before = (await rows()).length
    await ctx.database.db.transaction((tx) => outbox.append(tx, owner.projectId, []))
    assert.equal((await rows()).length, before)
  })

  it('wakes listeners at the commit, once per transaction, and never for a rollback', async () => {
    const heard: string[] = []
    const stop = await ctx.database.listen(EVENTS_CHANNEL, (payload) => heard.push(payload))
    try {
      const outbox = new Outbox()
      const settle = () => new Promise((resolve) => setTimeout(resolve, 100))
      await ctx.database.db.transaction(async (tx) => {
        await outbox.append(tx, owner.projectId, [{ type: 'test.notify', data: {} }])
        await outbox.append(tx, owner.projectId, [{ type: 'test.notify.again', data: {} }])
        await settle()
        assert.deepEqual(heard, [], 'nothing before the commit')
      })
      await settle()
      assert.deepEqual(heard, [owner.projectId], 'one NOTIFY, with the project id, after the commit')
      await assert.rejects(ctx.database.db.transaction(async (tx) => {
        await outbox.append(tx, owner.projectId, [{ type: 'test.notify.rolled-back', data: {} }])
        throw new Error('rolled back')
      }))
      await settle()
      assert.deepEqual(heard, [owner.projectId], 'nothing for the rollback')
    } finally {
      await stop()
    }
  })
})

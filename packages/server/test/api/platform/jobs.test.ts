import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { openDatabase, type DatabaseHandle, type OpenOptions } from '../../../src/platform/db/client.ts'
import { createJobQueue, type JobInfo, type JobQueue } from '../../../src/platform/jobs/queue.ts'
import { createScratchDatabase, dropScratchDatabase, silentLogger } from '../../support/harness.ts'
import { pgliteTemplateBlob, templateDataDir } from '../../support/template.ts'

// pg-boss's minimum; new jobs arrive by NOTIFY, due ones by polling at this interval.
const pollingIntervalSeconds = 0.5
const pollingMs = pollingIntervalSeconds * 1000

let database: Awaited<ReturnType<typeof scratchDatabase>>
let handle: DatabaseHandle
let queue: JobQueue

before(async () => {
  database = await scratchDatabase({ durable: false })
  handle = await openDatabase(database.options)
  queue = createJobQueue(handle, silentLogger, { pollingIntervalSeconds })
  await queue.start()
})

after(async () => {
  await queue.stop()
  await handle.close()
  await database.cleanup()
})

// Each test has its own queue names, so they run side by side and the file stays quick.
describe('job queue', { concurrency: true }, () => {
  test('runs a defined job with its data', async (t) => {
    const runs: Array<{ data: { name: string }; job: JobInfo; at: number }> = []
    queue.define<{ name: string }>('greeting', async (data, job) => {
      runs.push({ data, job, at: Date.now() })
    })

    const sentAt = Date.now()
    const id = await queue.send('greeting', { name: 'Ada' })
    assert.ok(id)
    await waitFor(() => runs.length === 1)

    assert.deepEqual(runs[0]?.data, { name: 'Ada' })
    assert.equal(runs[0]?.job.id, id)
    assert.equal(runs[0]?.job.retryCount, 0)
    await waitFor(async () => (await queue.getJob('greeting', id))?.state === 'completed')
    t.diagnostic(`send → handler: ${runs[0]!.at - sentAt} ms`)
  })

  test('does not run a job before its startAfter', async (t) => {
    const ranAt: number[] = []
    queue.define('reminder', async () => {
      ranAt.push(Date.now())
    })

    const startAfter = new Date(Date.now() + 1500)
    const id = await queue.send('reminder', {}, { startAfter })
    assert.ok(id)
    const waiting = await queue.getJob('reminder', id)
    assert.equal(waiting?.state, 'created')
    assert.equal(waiting?.startAfter.getTime(), startAfter.getTime())

    // Looked at 500 ms before startAfter (not a fixed time after the send, which a loaded machine may stretch past it).
    await sleep(startAfter.getTime() - 500 - Date.now())
    assert.equal(ranAt.length, 0)
    await waitFor(() => ranAt.length === 1)
    assert.ok(ranAt[0]! >= startAfter.getTime())
    t.diagnostic(`startAfter → handler: ${ranAt[0]! - startAfter.getTime()} ms`)
  })

  test('a cancelled job does not run', async () => {
    let runs = 0
    queue.define('cancellable', async () => {
      runs += 1
    })

    // Due in 2 s: time for the send and the cancel even on a loaded machine (800 ms was not always).
    const startAfter = new Date(Date.now() + 2000)
    const id = await queue.send('cancellable', {}, { startAfter })
    assert.ok(id)
    await queue.cancel('cancellable', id)
    assert.equal((await queue.getJob('cancellable', id))?.state, 'cancelled')

    // Two polls past the time it was due.
    await sleep(startAfter.getTime() - Date.now() + pollingMs * 2)
    assert.equal(runs, 0)
  })

  test('retries a failing handler up to retryLimit, then fails the job', async () => {
    const attempts = new Map<string, number[]>()
    queue.define(
      'flaky',
      async (_data, job) => {
        attempts.set(job.id, [...(attempts.get(job.id) ?? []), job.retryCount])
        throw new Error('upstream is down')
      },
      { retryLimit: 2 },
    )

    const id = await queue.send('flaky', {})
    const once = await queue.send('flaky', {}, { retryLimit: 0 })
    assert.ok(id && once)
    await waitFor(async () => (await queue.getJob('flaky', id))?.state === 'failed')
    await waitFor(async () => (await queue.getJob('flaky', once))?.state === 'failed')

    await sleep(pollingMs * 2)
    assert.deepEqual(attempts.get(id), [0, 1, 2])
    assert.deepEqual(attempts.get(once), [0])
  })

  test('a retry that succeeds completes the job', async () => {
    let attempts = 0
    queue.define(
      'recovering',
      async () => {
        attempts += 1
        if (attempts === 1) throw new Error('first attempt fails')
      },
      { retryLimit: 1 },
    )

    const id = await queue.send('recovering', {})
    assert.ok(id)
    await waitFor(async () => (await queue.getJob('recovering', id))?.state === 'completed')
    assert.equal(attempts, 2)
  })

  test('a short queue keeps one queued job per singletonKey', async () => {
    queue.define('thread-title', async () => {}, { policy: 'short' })
    const later = new Date(Date.now() + 60_000)

    const first = await queue.send('thread-title', { threadId: 'thr_1' }, { singletonKey: 'thr_1', startAfter: later })
    const duplicate = await queue.send('thread-title', { threadId: 'thr_1' }, { singletonKey: 'thr_1', startAfter: later })
    const other = await queue.send('thread-title', { threadId: 'thr_2' }, { singletonKey: 'thr_2', startAfter: later })

    assert.ok(first)
    assert.equal(duplicate, null)
    assert.ok(other)
  })

  test('misuse fails with a clear error', async () => {
    const idle = createJobQueue(handle, silentLogger, { pollingIntervalSeconds })
    await assert.rejects(idle.send('greeting', {}), /not started/)
    queue.define('defined-twice', async () => {})
    assert.throws(() => queue.define('defined-twice', async () => {}), /already defined/)
  })

  test('concurrent starts on one database are safe', async () => {
    if (handle.driver === 'pglite') {
      // One connection: a second pg-boss would share it, so the queue refuses.
      await assert.rejects(createJobQueue(handle, silentLogger).start(), /already running on this PGlite/)
      return
    }
    // Two pools racing to install a new schema, as two processes starting together would.
    const schema = 'pgboss_concurrent'
    const first = createJobQueue(handle, silentLogger, { pollingIntervalSeconds, schema })
    const second = createJobQueue(handle, silentLogger, { pollingIntervalSeconds, schema })
    let runs = 0
    for (const instance of [first, second]) {
      instance.define('shared', async () => {
        runs += 1
      })
    }
    try {
      await Promise.all([first.start(), second.start()])
      await first.send('shared', {})
      await second.send('shared', {})
      await waitFor(() => runs === 2)
    } finally {
      await Promise.all([first.stop(), second.stop()])
    }
  })
})

test('stop() waits for a running handler, and the queue starts again', async () => {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let started!: () => void
  const running = new Promise<void>((resolve) => (started = resolve))
  let finished = false
  queue.define('slow', async () => {
    started()
    await released
    finished = true
  })

  const id = await queue.send('slow', {})
  assert.ok(id)
  await running
  let stopped = false
  const stopping = queue.stop({ timeoutMs: 10_000 }).then(() => (stopped = true))
  await sleep(700)
  assert.equal(stopped, false)

  release()
  await stopping
  assert.equal(finished, true)

  await queue.start()
  assert.equal((await queue.getJob('slow', id))?.state, 'completed')
})

test('a job deferred past a restart runs after the queue starts again', async () => {
  const durable = await scratchDatabase({ durable: true })
  try {
    let startAfter: Date
    let jobId: string | null
    let runsBeforeRestart = 0

    const first = await openDatabase(durable.options)
    try {
      const firstQueue = createJobQueue(first, silentLogger, { pollingIntervalSeconds })
      firstQueue.define('scheduled-reply', async () => {
        runsBeforeRestart += 1
      })
      await firstQueue.start()
      startAfter = new Date(Date.now() + 1500)
      jobId = await firstQueue.send('scheduled-reply', { threadId: 'thr_1' }, { startAfter })
      assert.ok(jobId)
      await firstQueue.stop()
    } finally {
      await first.close()
    }
    assert.equal(runsBeforeRestart, 0)

    const reopened = await openDatabase(durable.options)
    try {
      const runs: Array<{ data: unknown; job: JobInfo; at: number }> = []
      const secondQueue = createJobQueue(reopened, silentLogger, { pollingIntervalSeconds })
      secondQueue.define('scheduled-reply', async (data, job) => {
        runs.push({ data, job, at: Date.now() })
      })
      await secondQueue.start()
      try {
        await waitFor(() => runs.length === 1)
        assert.deepEqual(runs[0]?.data, { threadId: 'thr_1' })
        assert.equal(runs[0]?.job.id, jobId)
        assert.equal(runs[0]?.job.retryCount, 0)
        assert.ok(runs[0]!.at >= startAfter.getTime())
      } finally {
        await secondQueue.stop()
      }
    } finally {
      await reopened.close()
    }
  } finally {
    await durable.cleanup()
  }
})

/**
 * An empty database (pg-boss needs none of the app's tables): PGlite, in memory or
 * in a data directory that survives close(), or a scratch database on TEST_DATABASE_URL.
 * PGlite starts from a copy of a cluster as initdb left it (template.ts), which saves initdb.
 */
async function scratchDatabase({ durable }: { durable: boolean }): Promise<{ options: OpenOptions; cleanup(): Promise<void> }> {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (serverUrl) {
    const url = await createScratchDatabase(serverUrl, 'worken_jobs')
    return { options: { driver: 'postgres', url, poolSize: 3 }, cleanup: () => dropScratchDatabase(serverUrl, url) }
  }
  if (!durable) return { options: { driver: 'pglite', withVector: false, loadDataDir: await pgliteTemplateBlob('empty') }, cleanup: async () => {} }
  const dataDir = await templateDataDir('worken-jobs', 'empty')
  return {
    options: { driver: 'pglite', dataDir, withVector: false },
    async cleanup() {
      fs.rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(20)
  }
}

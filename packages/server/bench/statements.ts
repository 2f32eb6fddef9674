/**
 * Statements per streamed reply: one turn through the public app on Postgres, every SQL
 * statement the server sends listed in order (the driver's query calls, wrapped here).
 *
 *   npm run bench:statements                          # from the root: a new thread, then a second turn in it
 *   BENCH_LOG_DURATIONS=1 npm run bench:statements    # also every statement's duration in Postgres's own log
 *   BENCH_DATABASE_URL=postgres://… (default postgres://postgres@127.0.0.1:5432/test)
 *
 * Prints, per turn, the statements in order and the socket writes to Postgres (writev batches are round trips).
 */
import type { AddressInfo } from 'node:net'
import net from 'node:net'
import pg from 'pg'
import { sql } from 'drizzle-orm'
import pino from 'pino'
import { createApp } from '../src/app.ts'
import { openDatabase } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import { createServices } from '../src/services.ts'
import { createScratchDatabase, dropScratchDatabase } from '../test/support/harness.ts'
import { startLlmServer } from '../test/support/llm-server.ts'
import { closeServer, listen, postJson, runMain, seedProject } from './common.ts'

async function main(): Promise<void> {
  const serverUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const scratchUrl = await createScratchDatabase(serverUrl, 'worken_bench')
  const llm = await startLlmServer()
  llm.replyWith({ text: Array.from({ length: 20 }, (_, i) => `word${i} `), delayMs: 5, chunkDelayMs: 2 })
  const handle = await openDatabase({ driver: 'postgres', url: scratchUrl, poolSize: 10 })
  const traced: string[] = []
  let tracing = false
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const config = args[0] as string | { text?: string; name?: string }
    const text = typeof config === 'string' ? config : (config?.text ?? config?.name ?? '?')
    if (tracing) traced.push(text.replace(/\s+/g, ' ').slice(0, 160))
    return original.apply(this, args)
  } as never
  // Writes to Postgres's socket: each `write` call, and each `_writev` (pg corks a statement's messages: one per round trip).
  const postgresPort = Number(new URL(scratchUrl).port || 5432)
  let socketWrites = 0
  let socketWritevs = 0
  const socket = net.Socket.prototype as unknown as Record<'write' | '_writev', (...args: unknown[]) => unknown>
  const write = socket.write
  const writev = socket._writev
  socket.write = function (this: net.Socket, ...args: unknown[]) {
    if (tracing && this.remotePort === postgresPort) socketWrites++
    return write.apply(this, args)
  }
  socket._writev = function (this: net.Socket, ...args: unknown[]) {
    if (tracing && this.remotePort === postgresPort) socketWritevs++
    return writev.apply(this, args)
  }
  const services = createServices(handle, pino({ level: 'silent' }), {
    providers: { openai: { apiKey: 'bench-key', baseUrl: `${llm.url}/v1` }, anthropic: undefined, openrouter: undefined, compatible: [] },
    modelMaxRetries: 0,
  })
  let server
  try {
    await migrate(handle)
    // Optional: every statement's duration in the server's log (log_min_duration_statement = 0 on the scratch database).
    if (process.env.BENCH_LOG_DURATIONS) await handle.db.execute(sql.raw(`alter database ${new URL(scratchUrl).pathname.slice(1)} set log_min_duration_statement = 0`))
    await services.apiKeys.start()
    await services.workers?.start()
    const { key } = await seedProject(handle, services)
    const app = createApp({ kind: 'public', services, logger: pino({ level: 'silent' }) })
    server = await listen((request) => app.fetch(request))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const bot = await postJson(`${base}/bots`, key, { name: 'Bench bot' })
    const chat = await postJson(`${base}/chats`, key, { bot_id: bot.id, name: 'Bench chat' })
    const turn = async (threadId: string) => {
      const response = await fetch(`${base}/chats/${chat.id}/threads/${threadId}/stream`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hello' }] }) })
      await response.text()
      await new Promise((resolve) => setTimeout(resolve, 300)) // what follows the reply (outbox relay, notify)
    }
    await turn('warm-up')
    for (const [label, threadId] of [['a new thread', 'thread-1'], ['a second turn in it', 'thread-1']] as const) {
      traced.length = 0
      tracing = true
      await turn(threadId)
      tracing = false
      process.stdout.write(`\n## ${label}: ${traced.length} statements, ${socketWrites} socket writes (${socketWritevs} writev batches) to Postgres\n`)
      socketWrites = 0
      socketWritevs = 0
      for (const text of traced) process.stdout.write(`- ${text}\n`)
    }
  } finally {
    if (server) await closeServer(server)
    await services.workers?.stop()
    await handle.close()
    await llm.close()
    await dropScratchDatabase(serverUrl, scratchUrl)
  }
}

await runMain('statements', main)

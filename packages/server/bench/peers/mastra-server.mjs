// The Mastra peer of `npm run bench:peers` (bench/peers.ts): one agent with memory, served by
// @mastra/hono on @hono/node-server, as Mastra's docs set them up ("Hono adapter", "Memory").
//
// Not part of the workspace: bench/peers.ts copies this file into the scratch folder where it
// installed the pinned Mastra packages (outside the workspace's dependencies) and runs it there,
// so its imports resolve from that folder. Plain JavaScript, so the repository's tsc skips it.
//
// Environment (set by bench/peers.ts):
//   PORT                 port on 127.0.0.1
//   MASTRA_BENCH_STORE   `libsql` or `pg`
//   MASTRA_BENCH_DB      a `file:` URL for libsql, a postgres:// URL for pg
//   MASTRA_BENCH_POOL    connections in the Postgres pool (Worken's DATABASE_POOL_SIZE default is 10)
//   MODEL_BASE_URL       the paced OpenAI-compatible server, `…/v1`
//   MODEL_ID             the model name sent to it
//   MASTRA_TELEMETRY_DISABLED=1, so nothing is sent anywhere
import { serve } from '@hono/node-server'
import { createOpenAI } from '@ai-sdk/openai'
import { Agent } from '@mastra/core/agent'
import { Mastra } from '@mastra/core/mastra'
import { MastraServer } from '@mastra/hono'
import { Memory } from '@mastra/memory'
import { Hono } from 'hono'

const env = (name) => {
  const value = process.env[name]
  if (!value) throw new Error(`mastra-server: ${name} is not set`)
  return value
}

async function openStore() {
  const kind = env('MASTRA_BENCH_STORE')
  if (kind === 'libsql') {
    const { LibSQLStore } = await import('@mastra/libsql')
    return new LibSQLStore({ id: 'bench-libsql', url: env('MASTRA_BENCH_DB') })
  }
  if (kind === 'pg') {
    const { PostgresStore } = await import('@mastra/pg')
    return new PostgresStore({ id: 'bench-pg', connectionString: env('MASTRA_BENCH_DB'), max: Number(process.env.MASTRA_BENCH_POOL ?? 10) })
  }
  throw new Error(`mastra-server: unknown MASTRA_BENCH_STORE ${kind}`)
}

// The same provider package and wire (Chat Completions, streamed) as Worken's `openai/…` models.
const openai = createOpenAI({ baseURL: env('MODEL_BASE_URL'), apiKey: 'bench-key' })

const agent = new Agent({
  id: 'bench',
  name: 'Bench agent',
  instructions: 'You are a helpful assistant.',
  model: openai.chat(env('MODEL_ID')),
  // The benchmark's memory settings for every target: the last 10 messages, no recall, no working memory, no titles.
  memory: new Memory({
    options: {
      lastMessages: 10,
      semanticRecall: false,
      workingMemory: { enabled: false },
      generateTitle: false,
    },
  }),
})

const mastra = new Mastra({ agents: { bench: agent }, storage: await openStore() })

const app = new Hono()
const server = new MastraServer({ app, mastra })
await server.init()

const port = Number(env('PORT'))
const http = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${port}` })}\n`)
})

const stop = () => http.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { processDatabase, startServerProcess, type ServerProcess } from '../../server/test/support/process.ts'
import { startLlmServer, type LlmServer } from '../../server/test/support/llm-server.ts'
import { EXIT } from '../src/exit-codes.ts'
import { runCli, spawnCli, tempConfigDir } from './support.ts'

const KEY = `sk-${'c1'.repeat(16)}`
let server: ServerProcess
let llm: LlmServer
let cleanup: () => Promise<void>
let base: Record<string, string>

before(async () => {
  llm = await startLlmServer()
  const database = await processDatabase('worken-cli')
  cleanup = database.cleanup
  server = await startServerProcess({ ...database.env, WORKEN_BOOTSTRAP_API_KEY: KEY, OPENAI_BASE_URL: `${llm.url}/v1`, OPENAI_API_KEY: 'test' })
  base = { WORKEN_BASE_URL: server.publicUrl, WORKEN_CONFIG_DIR: tempConfigDir() }
})
after(async () => {
  await server?.stop()
  await cleanup?.()
  await llm?.close()
})

const withKey = () => ({ ...base, WORKEN_API_KEY: KEY })

async function json(args: string[], env = withKey()): Promise<any> {
  const run = await runCli([...args, '--json'], env)
  assert.equal(run.code, 0, run.stderr)
  return JSON.parse(run.stdout)
}

async function echoChat(model = 'local/echo'): Promise<string> {
  const bot = await json(['bots', 'create', '--set', 'name=CLI bot'])
  await json(['bots', 'settings', 'update', bot.id, '--set', `ai.model.id=${model}`])
  return (await json(['chats', 'create', '--set', `bot_id=${bot.id}`, '--set', `name=cli-${bot.id}`])).id
}

describe('worken login', () => {
  it('checks the key, stores it 0600 in a profile, and later commands use it', async () => {
    const env = { ...base, WORKEN_CONFIG_DIR: tempConfigDir() }
    const login = await runCli(['login'], env, `${KEY}\n`)
    assert.equal(login.code, 0, login.stderr)
    assert.match(login.stderr, /Logged in to .* as profile 'default'/)
    assert.doesNotMatch(login.stderr + login.stdout, new RegExp(KEY))
    const file = path.join(env.WORKEN_CONFIG_DIR, 'credentials.json')
    assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    const stored = JSON.parse(fs.readFileSync(file, 'utf8'))
    assert.equal(stored.profiles.default.api_key, KEY)
    assert.equal(stored.profiles.default.base_url, server.publicUrl)
    // No key in the environment: the profile is used.
    const bots = await runCli(['bots', 'list', '--json'], { WORKEN_CONFIG_DIR: env.WORKEN_CONFIG_DIR })
    assert.equal(bots.code, 0, bots.stderr)
    assert.ok(Array.isArray(JSON.parse(bots.stdout)))
  })

  it('refuses a wrong key with exit code 3 and stores nothing', async () => {
    const env = { ...base, WORKEN_CONFIG_DIR: tempConfigDir() }
    const login = await runCli(['login'], env, `sk-${'0'.repeat(32)}\n`)
    assert.equal(login.code, EXIT.auth)
    assert.match(login.stderr, /401/)
    assert.equal(fs.existsSync(path.join(env.WORKEN_CONFIG_DIR, 'credentials.json')), false)
  })

  it('keeps named profiles apart, and --api-key / WORKEN_API_KEY override the default profile', async () => {
    const env = { ...base, WORKEN_CONFIG_DIR: tempConfigDir() }
    assert.equal((await runCli(['login', '--profile', 'staging'], env, `${KEY}\n`)).code, 0)
    const stored = JSON.parse(fs.readFileSync(path.join(env.WORKEN_CONFIG_DIR, 'credentials.json'), 'utf8'))
    assert.deepEqual(Object.keys(stored.profiles), ['staging'])
    assert.equal((await runCli(['--profile', 'staging', 'bots', 'list'], { WORKEN_CONFIG_DIR: env.WORKEN_CONFIG_DIR })).code, 0)
    const missing = await runCli(['--profile', 'nope', 'bots', 'list'], { WORKEN_CONFIG_DIR: env.WORKEN_CONFIG_DIR })
    assert.equal(missing.code, EXIT.auth)
    const wrong = await runCli(['--api-key', `sk-${'0'.repeat(32)}`, 'bots', 'list'], env)
    assert.equal(wrong.code, EXIT.auth)
  })
})

describe('commands named from operationIds', () => {
  it('prints a table for people and JSON for scripts', async () => {
    await json(['bots', 'create', '--set', 'name=Table Bot'])
    const table = await runCli(['bots', 'list'], withKey())
    assert.equal(table.code, 0, table.stderr)
    const [header, ...rows] = table.stdout.trimEnd().split('\n')
    assert.match(header!, /^ID\s+NAME\b/)
    assert.ok(rows.some((row) => /\bTable Bot\b/.test(row)))
    const list = await json(['bots', 'list'])
    assert.ok(list.some((bot: any) => bot.name === 'Table Bot'))
    const one = await runCli(['bots', 'get', list[0].id], withKey())
    assert.match(one.stdout, new RegExp(`^id\\s+${list[0].id}$`, 'm'))
  })

  it('takes a body from --data, @file and stdin, with --set on top', async () => {
    const dir = tempConfigDir()
    fs.writeFileSync(path.join(dir, 'bot.json'), JSON.stringify({ name: 'From file' }))
    assert.equal((await json(['bots', 'create', '--data', `@${path.join(dir, 'bot.json')}`])).name, 'From file')
    assert.equal((await json(['bots', 'create', '--data', '{"name":"Inline"}', '--set', 'description=set on top'])).description, 'set on top')
    const piped = await runCli(['bots', 'create', '--data', '-', '--json'], withKey(), '{"name":"Piped"}')
    assert.equal(JSON.parse(piped.stdout).name, 'Piped')
  })

  it('exits with the documented codes', async () => {
    assert.equal((await runCli(['bots', 'get', 'bot_missing'], withKey())).code, EXIT.notFound)
    assert.equal((await runCli(['bots', 'list'], { ...base, WORKEN_CONFIG_DIR: tempConfigDir() })).code, EXIT.auth)
    assert.equal((await runCli(['bots', 'frobnicate'], withKey())).code, EXIT.usage)
    assert.equal((await runCli(['bots', 'create', '--data', '{nope'], withKey())).code, EXIT.usage)
    assert.equal((await runCli(['bots', 'create', '--set', 'name='], withKey())).code, EXIT.failed)
    assert.equal((await runCli(['bots', 'list'], { ...withKey(), WORKEN_BASE_URL: 'http://127.0.0.1:9' })).code, EXIT.unavailable)
    const help = await runCli(['--help'], withKey())
    assert.equal(help.code, EXIT.ok)
    assert.match(help.stdout, /chat/)
  })
})

describe('worken chat', () => {
  it('streams the reply to a pipe as it is generated, and exits 0 at the end of input', async () => {
    const chatId = await echoChat('openai/paced')
    llm.replyWith({ text: ['First', ' words', ' arrive', ' before', ' the', ' end.'], chunkDelayMs: 150 })
    const child = spawnCli(['chat', chatId, 'cli-thread'], withKey())
    const arrivals: Array<{ at: number; text: string }> = []
    child.stdout!.on('data', (chunk: Buffer) => arrivals.push({ at: performance.now(), text: chunk.toString() }))
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdin!.end('Hello there\n')
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    assert.equal(code, 0, stderr)
    const all = arrivals.map((arrival) => arrival.text).join('')
    assert.equal(all, 'bot> First words arrive before the end.\n')
    const first = arrivals.find((arrival) => arrival.text.includes('First'))!
    const last = arrivals.find((arrival) => arrival.text.includes('end.'))!
    assert.ok(last.at - first.at >= 500, `the reply came in pieces over ${Math.round(last.at - first.at)} ms`)
    const messages = await json(['chats', 'threads', 'messages', 'list', chatId, 'cli-thread'])
    assert.deepEqual(messages.map((message: any) => message.role), ['user', 'assistant'])
  })
})

describe('worken events', () => {
  it('tails the live feed as JSON lines and stops on Ctrl-C with 130', async () => {
    const chatId = await echoChat()
    const child = spawnCli(['events', '--last-event-id', '0', '--json'], withKey())
    let stdout = ''
    const seen = new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
        if (stdout.includes('"thread_id":"events-thread"')) resolve()
      })
    })
    const streamed = await runCli(['chats', 'threads', 'stream', chatId, 'events-thread', '--set', 'messages=[{"role":"user","content":"ping"}]', '--json'], withKey())
    assert.equal(streamed.code, 0, streamed.stderr)
    assert.ok(streamed.stdout.trim().split('\n').map((line) => JSON.parse(line)).some((event) => event.type === 'text-delta'))
    await seen
    child.kill('SIGINT')
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    assert.equal(code, EXIT.interrupted)
    for (const line of stdout.trim().split('\n')) JSON.parse(line)
  })
})

describe('worken vector-stores upload', () => {
  it('uploads a folder with progress and waits until it is indexed', async () => {
    const folder = tempConfigDir()
    fs.mkdirSync(path.join(folder, 'faq'))
    fs.writeFileSync(path.join(folder, 'returns.md'), '# Returns\nWithin 30 days.\n')
    fs.writeFileSync(path.join(folder, 'faq', 'shipping.txt'), 'Shipping takes 3 days.\n')
    const store = await json(['vector-stores', 'create', '--set', 'name=CLI knowledge'])
    const run = await runCli(['vector-stores', 'upload', store.id, folder, '--wait', '--json'], withKey())
    assert.equal(run.code, 0, run.stderr)
    assert.match(run.stderr, /\[#+\] 2\/2 files/)
    const result = JSON.parse(run.stdout)
    assert.equal(result.added.length, 2)
    assert.ok(result.added.every((entry: any) => entry.status === 'processed'), run.stdout)
  })
})

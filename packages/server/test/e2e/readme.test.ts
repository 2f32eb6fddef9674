import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import { after, before, it } from 'node:test'
import { startServerProcess, type ServerProcess } from '../support/process.ts'
import { migratedDataDir } from '../support/template.ts'

const README = new URL('../../../../README.md', import.meta.url)
const KEY = `sk-${'5eed'.repeat(12)}`
let server: ServerProcess
let dataDir: string

before(async () => {
  dataDir = await migratedDataDir('worken-readme')
  server = await startServerProcess({ WORKEN_DATA_DIR: dataDir, WORKEN_BOOTSTRAP_API_KEY: KEY })
})
after(async () => {
  await server.stop()
  fs.rmSync(dataDir, { recursive: true, force: true })
})

it("the README's walk-through works when pasted", () => {
  const readme = fs.readFileSync(README, 'utf8')
  const block = readme.split('## Walk-through')[1]?.match(/```bash\n([\s\S]*?)```/)?.[1]
  assert.ok(block, 'walk-through block found')
  assert.match(block, /^export WORKEN_URL=http:\/\/127\.0\.0\.1:8080$/m)
  assert.match(block, /^export WORKEN_API_KEY=sk-paste-the-printed-key-here$/m)
  // The only change from what a reader pastes: this server's port and key.
  const script = block
    .replace(/^export WORKEN_URL=.*$/m, `export WORKEN_URL=${server.publicUrl}`)
    .replace(/^export WORKEN_API_KEY=.*$/m, `export WORKEN_API_KEY=${KEY}`)
  const output = execFileSync('bash', ['-e', '-o', 'pipefail', '-c', script], { encoding: 'utf8' })
  // The output interleaves echo lines, JSON answers, and two Server-Sent Event streams (the reply, the events feed).
  const labels: Record<string, string> = {}
  const json: any[] = []
  const data: any[] = []
  for (const line of output.split('\n')) {
    if (line === '' || /^(id|retry): \d+$/.test(line)) continue
    const label = /^(bot|chat): (\S+)$/.exec(line)
    if (label) labels[label[1]!] = label[2]!
    else if (line.startsWith('data: ')) data.push(line === 'data: [DONE]' ? '[DONE]' : JSON.parse(line.slice(6)))
    else json.push(JSON.parse(line))
  }
  const botId = labels.bot!
  assert.match(botId, /^bot_[0-9a-z]{26}$/)
  assert.match(labels.chat!, /^chat_[0-9a-z]{26}$/)
  const [list, settings, updated, mode, sent, history, clone, disabled, apiKey, keys, invalid, deleted] = json
  assert.equal(json.length, 12)
  assert.ok(list.some((bot: any) => bot.id === botId))
  assert.equal(settings.ai.model.id, 'openai/gpt-4o-mini')
  assert.equal(updated.ai.model.id, 'local/echo')
  assert.equal(updated.ai.instruction, 'You are a sales assistant.')

  // The reply streamed from local/echo: several text deltas, a finish with usage, then [DONE].
  const reply = data.filter((frame) => frame === '[DONE]' || !('thread_id' in frame))
  const deltas = reply.filter((frame) => frame.type === 'text-delta').map((frame) => frame.textDelta)
  assert.ok(deltas.length > 1, 'streamed in pieces')
  assert.equal(deltas.join(''), 'You said: What is your return policy?')
  assert.deepEqual(reply.at(-2), { type: 'finish', finishReason: 'stop', usage: { inputTokens: 10, outputTokens: 7 } })
  assert.equal(reply.at(-1), '[DONE]')

  // The operator: manual mode, then a message in person; the history has all three voices.
  assert.equal(mode.id, 'my-first-thread')
  assert.equal(mode.mode, 'manual')
  assert.equal(sent.author, 'operator')
  assert.equal(sent.content, 'Hi, this is Anna from support.')
  assert.deepEqual(history.map((message: any) => [message.author, message.content]), [
    ['user', 'What is your return policy?'],
    ['bot', 'You said: What is your return policy?'],
    ['operator', 'Hi, this is Anna from support.'],
  ])

  // The events feed replayed all of it, in order (the title arrives whenever its job runs).
  const events = data.filter((frame) => frame !== '[DONE]' && 'thread_id' in frame && frame.type !== 'title_changed')
  assert.ok(events.every((event) => event.thread_id === 'my-first-thread' && event.chat_id === labels.chat))
  assert.deepEqual(events.map((event) => [event.type, event.message?.author ?? event.mode ?? null]), [
    ['thread_created', null],
    ['message_created', 'user'],
    ['message_created', 'bot'],
    ['mode_changed', 'manual'],
    ['message_created', 'operator'],
  ])

  assert.equal(clone.name, 'Sales Bot (copy)')
  assert.equal(disabled.status, 'disabled')
  assert.match(apiKey.key, /^sk-[0-9a-f]{64}$/)
  assert.equal(keys.length, 2)
  assert.equal(invalid.error, 'Unprocessable Entity')
  assert.match(invalid.message, /ai\.model\.temperature/)
  assert.deepEqual(deleted, { id: botId, deleted: true })
})

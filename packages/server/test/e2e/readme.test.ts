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
  const lines = output.trim().split('\n')
  assert.match(lines[0]!, /^bot: bot_[0-9a-z]{26}$/)
  const botId = lines[0]!.slice(5)
  const json = lines.slice(1).map((line) => JSON.parse(line))
  const [list, settings, updated, clone, disabled, apiKey, keys, invalid, deleted] = json
  assert.ok(list.some((bot: any) => bot.id === botId))
  assert.equal(settings.ai.model.id, 'openai/gpt-4o-mini')
  assert.equal(updated.ai.model.id, 'openai/gpt-4o')
  assert.equal(updated.ai.instruction, 'You are a sales assistant.')
  assert.equal(clone.name, 'Sales Bot (copy)')
  assert.equal(disabled.status, 'disabled')
  assert.match(apiKey.key, /^sk-[0-9a-f]{64}$/)
  assert.equal(keys.length, 2)
  assert.equal(invalid.error, 'Unprocessable Entity')
  assert.match(invalid.message, /ai\.model\.temperature/)
  assert.deepEqual(deleted, { id: botId, deleted: true })
})

import assert from 'node:assert/strict'
import { it } from 'node:test'
import { EXIT } from '../src/exit-codes.ts'
import { runCli, spawnCli, tempConfigDir } from './support.ts'

const KEY = `sk-${'5e'.repeat(16)}`

it('`worken serve` runs the server, which the same CLI then talks to', async () => {
  const child = spawnCli(['serve', '--port', '0', '--data-dir', tempConfigDir()], {
    INTERNAL_PORT: '0',
    WORKEN_BOOTSTRAP_API_KEY: KEY,
    LOG_LEVEL: 'info',
  })
  let stdout = ''
  const listening = await new Promise<any>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start:\n${stdout}`)), 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const line = stdout.split('\n').find((entry) => entry.includes('"msg":"listening"'))
      if (line) {
        clearTimeout(timer)
        resolve(JSON.parse(line))
      }
    })
  })
  try {
    const bots = await runCli(['bots', 'list', '--json'], { WORKEN_API_KEY: KEY, WORKEN_BASE_URL: listening.publicUrl, WORKEN_CONFIG_DIR: tempConfigDir() })
    assert.equal(bots.code, EXIT.ok, bots.stderr)
    assert.deepEqual(JSON.parse(bots.stdout), [])
  } finally {
    child.kill('SIGTERM')
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    assert.equal(code, 0)
  }
})

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { processDatabase, startServerProcess, type ServerProcess } from '../../server/test/support/process.ts'
import { MAIN, tempConfigDir } from './support.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const KEY = `sk-${'e7'.repeat(16)}`
let server: ServerProcess
let cleanup: () => Promise<void>

before(async () => {
  const database = await processDatabase('worken-cli-examples')
  cleanup = database.cleanup
  server = await startServerProcess({ ...database.env, WORKEN_BOOTSTRAP_API_KEY: KEY })
})
after(async () => {
  await server?.stop()
  await cleanup?.()
})

/** Blocks marked `<!-- quickstart: <file> -->` in a README, with the file they must equal (relative to the README). */
function markedBlocks(readme: string): Array<{ file: string; block: string }> {
  const text = fs.readFileSync(readme, 'utf8')
  return [...text.matchAll(/<!-- quickstart: ([^\s]+)[^>]*-->\n```\w*\n([\s\S]*?)```/g)].map((match) => ({ file: path.join(path.dirname(readme), match[1]!), block: match[2]! }))
}

describe('the quick starts, as written', () => {
  it('the READMEs show the example files verbatim', () => {
    const blocks = [...markedBlocks(path.join(ROOT, 'README.md')), ...markedBlocks(path.join(ROOT, 'packages/cli/README.md'))]
    const files = blocks.map((entry) => path.relative(ROOT, entry.file)).sort()
    for (const expected of ['packages/cli/examples/quickstart.sh', 'packages/cli/examples/mcp-config.json', 'packages/sdk/examples/quickstart.ts', 'python/examples/quickstart.py']) {
      assert.ok(files.includes(expected), `the root README shows ${expected}`)
    }
    for (const { file, block } of blocks) assert.equal(block, fs.readFileSync(file, 'utf8'), `${file} and its README block differ`)
  })

  it('the CLI quick start runs in bash, streaming the reply', async () => {
    // `worken` on PATH, as `npm link -w @worken/cli` or a global install puts it.
    const bin = tempConfigDir()
    fs.writeFileSync(path.join(bin, 'worken'), `#!/bin/sh\nexec "${process.execPath}" --conditions=worken:source "${MAIN}" "$@"\n`, { mode: 0o755 })
    const child = spawn('bash', [path.join(ROOT, 'packages/cli/examples/quickstart.sh')], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, WORKEN_API_KEY: KEY, WORKEN_BASE_URL: server.publicUrl, WORKEN_CONFIG_DIR: tempConfigDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
    assert.equal(code, 0, stderr)
    assert.match(stdout, /^bot> You said: Hello, Worken!$/m)
    assert.match(stdout, /\buser\s+Hello, Worken!/)
    assert.match(stdout, /\bassistant\s+You said: Hello, Worken!/)
  })

  it('the MCP client configuration starts `worken mcp`, which the official client talks to', async () => {
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages/cli/examples/mcp-config.json'), 'utf8')).mcpServers.worken
    const args = (config.args as string[]).map((arg) => arg.replace('/path/to/worken/', ROOT))
    const client = new Client({ name: 'readme-config', version: '1.0.0' })
    await client.connect(new StdioClientTransport({
      command: config.command,
      args,
      // The config's own variables, with a real key and server; `node` is the Node 24 running this test.
      env: { ...config.env, WORKEN_API_KEY: KEY, WORKEN_BASE_URL: server.publicUrl, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` },
      stderr: 'pipe',
    }))
    try {
      const names = (await client.listTools()).tools.map((tool) => tool.name)
      assert.ok(names.includes('bots_create') && names.includes('chats_threads_stream'), names.join(', '))
      assert.ok(!names.some((name) => name.startsWith('threads_')), 'only the bots and chats toolsets')
      const created = await client.callTool({ name: 'bots_create', arguments: { name: 'MCP quickstart' } })
      assert.notEqual(created.isError, true, JSON.stringify(created))
    } finally {
      await client.close()
    }
  })
})

import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const TSC = fileURLToPath(new URL('../../../node_modules/typescript/bin/tsc', import.meta.url))
const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'))

/** A copy of the package as npm would publish it: package.json and a fresh dist/, built by tsc without Node's types. */
let root: string

before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-sdk-build-'))
  execFileSync(process.execPath, [TSC, '-p', path.join(PACKAGE, 'tsconfig.build.json'), '--outDir', path.join(root, 'dist')], { cwd: PACKAGE, stdio: 'pipe' })
  fs.copyFileSync(path.join(PACKAGE, 'package.json'), path.join(root, 'package.json'))
  // Its dependency, where an install would put it.
  fs.symlinkSync(path.join(PACKAGE, 'node_modules'), path.join(root, 'node_modules'), 'dir')
})

after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true })
})

test('package.json is publishable: MIT, engines, no side effects, files, and exports for both entry points', () => {
  assert.equal(manifest.license, 'MIT')
  assert.equal(manifest.type, 'module')
  assert.equal(manifest.sideEffects, false)
  assert.match(manifest.engines.node, />=\s*20/)
  assert.ok(manifest.files.includes('dist'))
  assert.equal(manifest.private, undefined)
  for (const [entry, name] of [['.', 'index'], ['./webhooks', 'webhooks']] as const) {
    const target = manifest.exports[entry]
    assert.deepEqual(Object.keys(target), ['worken:source', 'types', 'default'], 'the source condition must come first')
    assert.equal(target['worken:source'], `./src/${name}.ts`)
    assert.equal(target.types, `./dist/${name}.d.ts`)
    assert.equal(target.default, `./dist/${name}.js`)
    assert.ok(fs.existsSync(path.join(root, target.types)), `${target.types} was not emitted`)
    assert.ok(fs.existsSync(path.join(root, target.default)), `${target.default} was not emitted`)
  }
})

test('the emitted JavaScript imports .js files, never .ts', () => {
  const files = fs.readdirSync(path.join(root, 'dist'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'))
  assert.ok(files.length > 15)
  for (const file of files) {
    const text = fs.readFileSync(path.join(root, 'dist', file), 'utf8')
    assert.doesNotMatch(text, /from ['"][^'"]+\.ts['"]/, file)
  }
})

test('the built package works when imported by its name, without the source condition', () => {
  // A file inside the package imports it by name (self-reference), so Node resolves through `exports`.
  const check = path.join(root, 'check.mjs')
  fs.writeFileSync(
    check,
    `
import assert from 'node:assert/strict'
import { WorkenClient, NotFoundError, OPERATIONS, OPERATION_METHODS } from '@worken/sdk'
import { signWebhook, verifyWebhook } from '@worken/sdk/webhooks'

assert.ok(import.meta.resolve('@worken/sdk').endsWith('/dist/index.js'))
const client = new WorkenClient({
  apiKey: 'sk-built',
  baseURL: 'http://api.worken.test',
  fetch: async (url, init) => {
    if (url.endsWith('/bots')) return Response.json([{ id: 'bot_1', name: 'Built' }], { headers: { 'x-total-count': '1' } })
    if (url.endsWith('/stream')) return new Response('data: {"type":"text-delta","textDelta":"ok"}\\n\\ndata: [DONE]\\n\\n', { headers: { 'content-type': 'text/event-stream' } })
    return Response.json({ error: 'Not Found', code: 'not_found' }, { status: 404 })
  },
})
const names = []
for await (const bot of client.bots.list()) names.push(bot.name)
assert.deepEqual(names, ['Built'])
assert.equal(await (await client.chats.threads.stream('c', 't', { messages: [{ role: 'user', content: 'hi' }] })).finalText(), 'ok')
await assert.rejects(client.bots.retrieve('nope'), NotFoundError)
assert.equal(Object.keys(OPERATIONS).length, Object.keys(OPERATION_METHODS).length)
const body = JSON.stringify({ id: 'evt_1', type: 'webhook.test', created_at: '2026-01-01T00:00:00Z', data: {} })
const headers = await signWebhook(body, 'whsec_' + btoa('0123456789abcdef0123456789abcdef'), { id: 'evt_1' })
assert.equal((await verifyWebhook(body, headers, 'whsec_' + btoa('0123456789abcdef0123456789abcdef'))).id, 'evt_1')
console.log('built package ok')
`,
  )
  const output = execFileSync(process.execPath, [check], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
  assert.match(output, /built package ok/)
})

test('the declarations type-check for a consumer', () => {
  const consumer = path.join(root, 'consumer.ts')
  fs.writeFileSync(
    consumer,
    `
import { WorkenClient, type Bot, type StreamEvent } from '@worken/sdk'
import { verifyWebhook } from '@worken/sdk/webhooks'
const client = new WorkenClient({ apiKey: 'sk-x' })
export async function names(): Promise<string[]> {
  const out: string[] = []
  for await (const bot of client.bots.list()) out.push((bot satisfies Bot).name)
  const stream = await client.chats.threads.stream('c', 't', { messages: [{ role: 'user', content: 'hi' }] })
  for await (const event of stream) if (event.type === 'text-delta') out.push((event satisfies StreamEvent).textDelta)
  return out
}
export const verify = verifyWebhook
`,
  )
  fs.writeFileSync(
    path.join(root, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { target: 'es2024', lib: ['es2024', 'dom', 'dom.iterable'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [] }, files: ['consumer.ts'] }),
  )
  execFileSync(process.execPath, [TSC, '-p', path.join(root, 'tsconfig.json')], { cwd: root, stdio: 'pipe' })
})

import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import { DEFAULT_BASE_URL, WorkenClient, WorkenError } from '@worken/sdk'
import { readEnv } from '../src/core/env.ts'

const saved = { key: process.env.WORKEN_API_KEY, url: process.env.WORKEN_BASE_URL }
const scope = globalThis as { Deno?: unknown }

afterEach(() => {
  for (const [name, value] of [['WORKEN_API_KEY', saved.key], ['WORKEN_BASE_URL', saved.url]] as const) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  delete scope.Deno
})

describe('new WorkenClient()', () => {
  test('reads WORKEN_API_KEY and WORKEN_BASE_URL; options win; trailing slashes go', async () => {
    process.env.WORKEN_API_KEY = 'sk-from-env'
    process.env.WORKEN_BASE_URL = 'http://env.worken.test:8080/'
    const seen: Array<{ url: string; auth: string | null }> = []
    const fetch = async (url: string, init: RequestInit) => {
      seen.push({ url, auth: new Headers(init.headers).get('authorization') })
      return Response.json({ status: 'ok' })
    }
    await new WorkenClient({ fetch }).health.live()
    await new WorkenClient({ fetch, apiKey: 'sk-option', baseURL: 'http://option.worken.test//' }).health.live()
    assert.deepEqual(seen, [
      { url: 'http://env.worken.test:8080/healthz', auth: 'Bearer sk-from-env' },
      { url: 'http://option.worken.test/healthz', auth: 'Bearer sk-option' },
    ])
  })

  test('defaults: http://127.0.0.1:8080, 60 s, 2 retries', () => {
    delete process.env.WORKEN_BASE_URL
    const client = new WorkenClient({ apiKey: 'sk-x' })
    assert.equal(client.baseURL, DEFAULT_BASE_URL)
    assert.equal(client.baseURL, 'http://127.0.0.1:8080')
    assert.equal(client.timeout, 60_000)
    assert.equal(client.maxRetries, 2)
  })

  test('no key at all is a clear WorkenError at construction', () => {
    delete process.env.WORKEN_API_KEY
    assert.throws(() => new WorkenClient(), (error: unknown) => error instanceof WorkenError && /WORKEN_API_KEY/.test(error.message) && /apiKey/.test(error.message))
    process.env.WORKEN_API_KEY = '   '
    assert.throws(() => new WorkenClient(), WorkenError)
  })

  test('bad options are refused at construction', () => {
    assert.throws(() => new WorkenClient({ apiKey: 'sk-x', baseURL: 'api.worken.test' }), /http\(s\) URL/)
    assert.throws(() => new WorkenClient({ apiKey: 'sk-x', baseURL: 'ftp://api.worken.test' }), /http\(s\) URL/)
    assert.throws(() => new WorkenClient({ apiKey: 'sk-x', timeout: 0 }), /timeout/)
    assert.throws(() => new WorkenClient({ apiKey: 'sk-x', maxRetries: -1 }), /maxRetries/)
    assert.throws(() => new WorkenClient({ apiKey: 'sk-x', maxRetries: 1.5 }), /maxRetries/)
  })

  test('env is read without Node imports: Deno.env when there is no process.env entry, and a Deno without permission', () => {
    delete process.env.WORKEN_API_KEY
    scope.Deno = { env: { get: (name: string) => (name === 'WORKEN_API_KEY' ? 'sk-from-deno' : undefined) } }
    assert.equal(readEnv('WORKEN_API_KEY'), 'sk-from-deno')
    scope.Deno = {
      env: {
        get: () => {
          throw new Error('Requires env access')
        },
      },
    }
    assert.equal(readEnv('WORKEN_API_KEY'), undefined)
  })
})

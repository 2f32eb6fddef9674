import assert from 'node:assert/strict'
import os from 'node:os'
import { describe, it } from 'node:test'
import { applySettingsPatch, defaultBotSettings, mergePatch } from '../../src/modules/bots/settings.ts'
import { loadConfig } from '../../src/config.ts'
import { newId } from '../../src/platform/db/ids.ts'
import { isWellFormedApiKey, keyPrefix, sameHash, hashApiKey } from '../../src/modules/projects/key-format.ts'

describe('config', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ INIT_CWD: '/srv/app' })
    assert.equal(config.port, 8080)
    assert.equal(config.host, '127.0.0.1')
    assert.equal(config.internalPort, 8081)
    assert.equal(config.internalHost, '127.0.0.1')
    assert.equal(config.dataDir, '/srv/app/.worken')
    assert.equal(config.databaseUrl, undefined)
    assert.equal(config.bodyLimit, 1024 * 1024)
    assert.equal(config.logLevel, 'info')
    assert.deepEqual(config.requestTimeouts, { headersMs: 10_000, requestMs: 300_000, bodyIdleMs: 30_000, keepAliveMs: 5_000 })
  })

  it('reads the request timeouts, and refuses headers allowed longer than the whole request', () => {
    const config = loadConfig({ WORKEN_HEADERS_TIMEOUT_MS: '2000', WORKEN_REQUEST_TIMEOUT_MS: '0', WORKEN_BODY_IDLE_TIMEOUT_MS: '5000', WORKEN_KEEP_ALIVE_TIMEOUT_MS: '65000' })
    assert.deepEqual(config.requestTimeouts, { headersMs: 2000, requestMs: 0, bodyIdleMs: 5000, keepAliveMs: 65_000 })
    assert.throws(() => loadConfig({ WORKEN_HEADERS_TIMEOUT_MS: '20000', WORKEN_REQUEST_TIMEOUT_MS: '10000' }), /WORKEN_HEADERS_TIMEOUT_MS: must not be longer than WORKEN_REQUEST_TIMEOUT_MS/)
    assert.throws(() => loadConfig({ WORKEN_REQUEST_TIMEOUT_MS: '50' }), /WORKEN_REQUEST_TIMEOUT_MS: must be 0 \(no limit\) or at least 100/)
    assert.throws(() => loadConfig({ WORKEN_BODY_IDLE_TIMEOUT_MS: '0' }), /WORKEN_BODY_IDLE_TIMEOUT_MS: /)
  })

  it('treats empty variables as unset and names every bad variable', () => {
    assert.equal(loadConfig({ PORT: '' }).port, 8080)
    assert.throws(() => loadConfig({ PORT: 'x', WORKEN_INTERNAL_TOKEN: 'short' }), (error: Error) => {
      assert.match(error.message, /PORT: /)
      assert.match(error.message, /WORKEN_INTERNAL_TOKEN: must be at least 16 characters/)
      return true
    })
  })

  it('accepts a Postgres URL with an encryption key and a well-formed bootstrap key', () => {
    const key = Buffer.alloc(32, 1)
    const config = loadConfig({ DATABASE_URL: 'postgres://u@db:5432/worken', WORKEN_ENCRYPTION_KEY: key.toString('base64'), WORKEN_BOOTSTRAP_API_KEY: `sk-${'a1'.repeat(16)}` })
    assert.equal(config.databaseUrl, 'postgres://u@db:5432/worken')
    assert.deepEqual(config.encryptionKeys, [key])
    assert.throws(() => loadConfig({ WORKEN_BOOTSTRAP_API_KEY: 'sk-ABC' }), /WORKEN_BOOTSTRAP_API_KEY/)
  })
})

describe('server processes and the pooler', () => {
  const postgres = { DATABASE_URL: 'postgres://u@db:5432/worken', WORKEN_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64') }

  it('WORKEN_PROCESSES: 1 by default, a whole number, or auto (one per CPU on Postgres)', () => {
    assert.deepEqual(loadConfig({}).processes, { count: 1, auto: false })
    assert.deepEqual(loadConfig({ ...postgres, WORKEN_PROCESSES: '3' }).processes, { count: 3, auto: false })
    assert.deepEqual(loadConfig({ ...postgres, WORKEN_PROCESSES: 'auto' }).processes, { count: os.availableParallelism(), auto: true })
    for (const value of ['0', '-2', '1.5', 'all', '10000', ' 2']) {
      assert.throws(() => loadConfig({ ...postgres, WORKEN_PROCESSES: value }), /WORKEN_PROCESSES: must be a whole number from 1 to 9999, or 'auto'/, value)
    }
  })

  it('more than one process on the embedded database is refused, naming DATABASE_URL; auto is one process there', () => {
    assert.throws(() => loadConfig({ WORKEN_PROCESSES: '2' }), (error: Error) => {
      assert.equal(error.name, 'ConfigError')
      assert.match(error.message, /WORKEN_PROCESSES: 2 server processes need PostgreSQL \(DATABASE_URL\)/)
      return true
    })
    assert.deepEqual(loadConfig({ WORKEN_PROCESSES: 'auto' }).processes, { count: 1, auto: true })
    // A tool that opens no listener (`worken keys create`) reads the server's environment as it is.
    assert.equal(loadConfig({ WORKEN_PROCESSES: '2' }, { listens: false }).processes.count, 2)
  })

  it('DATABASE_DIRECT_URL goes with DATABASE_URL', () => {
    assert.equal(loadConfig({ ...postgres, DATABASE_DIRECT_URL: 'postgres://u@db-direct:5432/worken' }).databaseDirectUrl, 'postgres://u@db-direct:5432/worken')
    assert.throws(() => loadConfig({ DATABASE_DIRECT_URL: 'postgres://u@db:5432/worken' }), /DATABASE_DIRECT_URL: is only read with DATABASE_URL/)
    assert.throws(() => loadConfig({ ...postgres, DATABASE_DIRECT_URL: 'mysql://db/worken' }), /DATABASE_DIRECT_URL: /)
  })
})

describe('the internal listener off loopback', () => {
  const TOKEN = 'a-long-internal-token-value'
  it('needs WORKEN_INTERNAL_TOKEN: a message naming both variables', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.20', 'fd00::1', 'worken.internal.test', '128.0.0.1', '::2', '0:0:0:0:0:0:0:0', 'localhost.example.test']) {
      assert.throws(() => loadConfig({ INTERNAL_HOST: host }), (error: Error) => {
        assert.equal(error.name, 'ConfigError')
        assert.match(error.message, new RegExp(`INTERNAL_HOST: '${host.replace(/\./g, '\\.')}' is not a loopback address.*WORKEN_INTERNAL_TOKEN`, 's'))
        return true
      }, host)
      assert.equal(loadConfig({ INTERNAL_HOST: host, WORKEN_INTERNAL_TOKEN: TOKEN }).internalHost, host)
    }
    // A tool that opens no listener (`worken keys create`) reads the server's environment as it is.
    assert.equal(loadConfig({ INTERNAL_HOST: '0.0.0.0' }, { listens: false }).internalHost, '0.0.0.0')
  })

  it('stays optional on loopback: 127.0.0.0/8, ::1, localhost', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      assert.equal(loadConfig({ INTERNAL_HOST: host }).internalToken, undefined, host)
    }
  })
})

describe('encryption keys', () => {
  it('are required with DATABASE_URL, and must be 32 bytes in base64 or hex', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://u@db:5432/worken' }), /WORKEN_ENCRYPTION_KEY: is required with DATABASE_URL.*openssl rand -base64 32/)
    assert.throws(() => loadConfig({ WORKEN_ENCRYPTION_KEY: 'short' }), /WORKEN_ENCRYPTION_KEY: must be 32-byte keys/)
    const hex = Buffer.alloc(32, 2)
    const b64 = Buffer.alloc(32, 3)
    assert.deepEqual(loadConfig({ WORKEN_ENCRYPTION_KEY: `${hex.toString('hex')}, ${b64.toString('base64')}` }).encryptionKeys, [hex, b64])
    assert.equal(loadConfig({}).encryptionKeys, undefined, 'PGlite: the data directory key')
  })
})

describe('ids', () => {
  it('are prefixed, sortable by time and unique', () => {
    const early = newId('bot', 1_700_000_000_000)
    const late = newId('bot', 1_700_000_000_001)
    assert.match(early, /^bot_[0-9a-z]{26}$/)
    assert.ok(early.slice(0, 14) < late.slice(0, 14))
    const many = new Set(Array.from({ length: 10_000 }, () => newId('key')))
    assert.equal(many.size, 10_000)
  })
})

describe('api key helpers', () => {
  it('recognise the sk-<hex> shape only', () => {
    assert.ok(isWellFormedApiKey('sk-00ff'))
    for (const bad of ['sk-', 'sk-xyz', 'pk-00ff', '00ff', 'sk-00ff ', 'sk-00ff\n']) assert.ok(!isWellFormedApiKey(bad), bad)
  })
  it('show a short prefix and compare hashes', () => {
    assert.equal(keyPrefix('sk-0123456789abcdef'), 'sk-01234567')
    assert.ok(sameHash(hashApiKey('sk-1'), hashApiKey('sk-1')))
    assert.ok(!sameHash(hashApiKey('sk-1'), hashApiKey('sk-2')))
  })
})

describe('settings merge', () => {
  it('merges objects deeply, replaces scalars, and removes keys set to null', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: 2 }, d: 3 }, { a: { b: 9 }, e: 4 }), { a: { b: 9, c: 2 }, d: 3, e: 4 })
    assert.deepEqual(mergePatch({ a: { b: 1 } }, { a: null }), {})
    assert.deepEqual(mergePatch({ a: [1, 2] }, { a: [3] }), { a: [3] })
    assert.deepEqual(mergePatch({ a: 1 }, { a: { b: { c: null, d: 1 } } }), { a: { b: { d: 1 } } })
  })

  it('validates the merged result as a whole', () => {
    const merged = applySettingsPatch(defaultBotSettings(), { ai: { model: { temperature: 1.2 } } })
    assert.equal(merged.ai.model.temperature, 1.2)
    assert.equal(merged.ai.model.id, 'openai/gpt-4o-mini')
    // Stored settings that are somehow invalid are caught when merged.
    const broken = { ...defaultBotSettings(), ai: { ...defaultBotSettings().ai, model: { ...defaultBotSettings().ai.model, top_p: 7 } } }
    assert.throws(() => applySettingsPatch(broken, {}), /top_p/)
  })
})

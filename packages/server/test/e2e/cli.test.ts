import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { keyCaller, processDatabase, startServerProcess, type ServerProcess } from '../support/process.ts'

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
const REPO = fileURLToPath(new URL('../../../../', import.meta.url))
const KEY_LINE = /^\s+(sk-[0-9a-f]{64})$/m
const onPostgres = Boolean(process.env.TEST_DATABASE_URL)

type Run = { code: number | null; stdout: string; stderr: string }

/** Runs a command as a user would, with only PATH and the database's variables in its environment. */
async function run(command: string, args: string[], env: Record<string, string>, cwd?: string): Promise<Run> {
  const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return { code: code as number | null, stdout, stderr }
}

const cli = (args: string[], env: Record<string, string>) => run(process.execPath, [CLI, ...args], env)

describe('worken keys create', () => {
  let database: Awaited<ReturnType<typeof processDatabase>>
  let server: ServerProcess
  let firstKey: string
  let firstProject: string
  let secondProject: string

  before(async () => {
    database = await processDatabase('worken-cli')
    server = await startServerProcess(database.env)
    firstKey = server.output().match(KEY_LINE)![1]!
    firstProject = server.output().match(/Worken-Project: (prj_\w+)/)![1]!
    const created = await keyCaller(firstKey)(server.publicUrl, 'POST', '/projects', {
      name: 'Second',
      organization_id: server.output().match(/Worken-Organization: (org_\w+)/)![1]!,
    })
    secondProject = created.body.id
  })
  after(async () => {
    await server?.stop()
    await database.cleanup()
  })

  it('refuses, saying why, while a server holds the embedded database', { skip: onPostgres && 'Postgres serves many processes' }, async () => {
    const result = await cli(['keys', 'create', '--project', firstProject], database.env)
    assert.equal(result.code, 1)
    assert.match(result.stderr, new RegExp(`is in use by process ${server.child.pid} \\(a running server\\).*\\n.*Stop the server and run this again`))
    assert.equal(result.stdout, '')
    assert.equal(await server.stop(), 0)
  })

  it('asks which project when there are several, and refuses an unknown one', async () => {
    const several = await cli(['keys', 'create'], database.env)
    assert.equal(several.code, 1)
    assert.match(several.stderr, /several projects; name one with --project/)
    assert.ok(several.stderr.includes(`${firstProject}  Default project  (Default organization)`), several.stderr)
    assert.ok(several.stderr.includes(secondProject))
    const unknown = await cli(['keys', 'create', '--project', 'prj_doesnotexist'], database.env)
    assert.equal(unknown.code, 1)
    assert.match(unknown.stderr, /Project 'prj_doesnotexist' not found/)
    const usage = await cli(['keys', 'create', '--name', ' '], database.env)
    assert.equal(usage.code, 2)
    assert.match(usage.stderr, /--name must not be empty/)
    assert.equal((await cli(['keys', 'remove'], database.env)).code, 2)
  })

  it("mints a key of the named project, printed once, that reaches that project and only it", async () => {
    // No WORKEN_ENCRYPTION_KEY, even with DATABASE_URL: this touches no secret.
    const result = await cli(['keys', 'create', '--project', firstProject, '--name', 'recovered'], database.env)
    assert.equal(result.code, 0, result.stderr)
    const key = result.stdout.match(KEY_LINE)?.[1]
    assert.ok(key, result.stdout)
    assert.match(result.stdout, new RegExp(`API key 'recovered' \\(key_\\w+\\) created for project ${firstProject} \\(Default project\\)`))
    assert.equal(result.stdout.split(key).length - 1, 2, 'the key line and the curl line')

    // Through the documented command from the repository's root, too.
    const viaNpm = await run('npm', ['run', '--silent', 'worken', '--', 'keys', 'create', '--project', secondProject, '--name', 'via-npm'], database.env, REPO)
    assert.equal(viaNpm.code, 0, viaNpm.stderr)
    const secondKey = viaNpm.stdout.match(KEY_LINE)?.[1]
    assert.ok(secondKey, viaNpm.stdout)

    if (server.child.exitCode !== null) server = await startServerProcess(database.env)
    const recovered = keyCaller(key)
    assert.equal((await recovered(server.publicUrl, 'GET', '/bots')).status, 200)
    const keys = await recovered(server.publicUrl, 'GET', `/projects/${firstProject}/api-keys`)
    assert.deepEqual(keys.body.map((k: any) => k.name), ['bootstrap', 'recovered'])
    assert.equal((await recovered(server.publicUrl, 'GET', `/projects/${secondProject}/api-keys`)).status, 403)
    const second = keyCaller(secondKey)
    assert.deepEqual((await second(server.publicUrl, 'GET', `/projects/${secondProject}/api-keys`)).body.map((k: any) => k.name), ['default', 'via-npm'])
    assert.equal((await second(server.publicUrl, 'GET', `/projects/${firstProject}/api-keys`)).status, 403)
    assert.ok(!server.output().includes(key) && !server.output().includes(secondKey), 'the server never shows it')
  })
})

describe('worken keys create on a directory without a database', () => {
  it('refuses rather than creating one', async () => {
    const database = await processDatabase('worken-cli-empty')
    try {
      const env = onPostgres ? database.env : { WORKEN_DATA_DIR: `${database.env.WORKEN_DATA_DIR}/typo` }
      const result = await cli(['keys', 'create'], env)
      assert.equal(result.code, 1)
      assert.match(result.stderr, onPostgres ? /no project yet: start the server once/ : /There is no Worken database in .*typo \(WORKEN_DATA_DIR\)/)
    } finally {
      await database.cleanup()
    }
  })
})

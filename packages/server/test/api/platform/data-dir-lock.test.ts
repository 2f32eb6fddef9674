// The PGlite data directory's lock (src/platform/db/data-dir-lock.ts) against real processes: a holder
// that is killed while the lock is asked for, one that stays, one that died and was not reaped (a zombie),
// and a pid file whose process is gone and whose pid now belongs to another.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { DataDirInUseError, lockDataDir } from '../../../src/platform/db/data-dir-lock.ts'

const LOCK_MODULE = fileURLToPath(new URL('../../../src/platform/db/data-dir-lock.ts', import.meta.url))
const HAS_PROC = fs.existsSync('/proc/self/stat')

const dirs: string[] = []
const children: ChildProcess[] = []
after(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'worken-lock-'))
  dirs.push(dir)
  return dir
}

/** A script that takes the lock as the server does, says `locked <pid>`, and holds it until killed. */
const holderScript = (dir: string) =>
  `const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)}); await lockDataDir(${JSON.stringify(dir)}); ` +
  'console.log(`locked ${process.pid}`); setInterval(() => {}, 1000)'

/** Starts a holder (`node -e …`), or with `shell` a command line around it, and waits until it holds the lock. */
async function startHolder(dir: string, shell?: (node: string) => string): Promise<{ child: ChildProcess; pid: number }> {
  const node = [process.execPath, '--input-type=module', '-e', holderScript(dir)]
  const child = shell
    ? spawn('/bin/sh', ['-c', shell(node.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(' '))], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  let output = ''
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
  for (let i = 0; i < 400 && !/locked \d+/.test(output); i++) await sleep(25)
  const pid = Number(/locked (\d+)/.exec(output)?.[1])
  assert.ok(pid, `the holder took the lock: ${output}`)
  return { child, pid }
}

const pidIn = (dir: string) => Number(fs.readFileSync(path.join(dir, 'worken.pid'), 'utf8').split('\n')[0])

describe('the data directory lock', () => {
  it('waits for a holder killed while the lock is asked for, then takes it', async () => {
    const dir = tempDir()
    const holder = await startHolder(dir)
    assert.equal(pidIn(dir), holder.pid)
    const started = performance.now()
    let settled = false
    const locking = lockDataDir(dir).finally(() => (settled = true))
    await sleep(400)
    assert.equal(settled, false, 'it waits while the holder lives')
    holder.child.kill('SIGKILL')
    const release = await locking
    assert.ok(performance.now() - started >= 400)
    assert.equal(pidIn(dir), process.pid)
    release()
    assert.ok(!fs.existsSync(path.join(dir, 'worken.pid')), 'released')
  })

  it('refuses a holder that is still alive after the wait, with the clear message', async () => {
    const dir = tempDir()
    const holder = await startHolder(dir)
    const started = performance.now()
    await assert.rejects(lockDataDir(dir, { waitMs: 300 }), (error: Error) => {
      assert.ok(error instanceof DataDirInUseError)
      assert.equal(error.holder, holder.pid)
      assert.equal(error.message, `The data directory ${dir} is in use by process ${holder.pid}. Stop it, or set WORKEN_DATA_DIR to another directory.`)
      return true
    })
    assert.ok(performance.now() - started >= 300, 'it waited before refusing')
    assert.equal(pidIn(dir), holder.pid, 'the holder keeps its lock')
    holder.child.kill('SIGKILL')
    await once(holder.child, 'exit')
  })

  it('takes the lock of a holder that died and was not reaped yet (a zombie) at once', { skip: HAS_PROC ? false : 'needs /proc' }, async () => {
    const dir = tempDir()
    // The holder's parent becomes `sleep`, which never reaps it: killed, it stays a zombie.
    const holder = await startHolder(dir, (node) => `${node} & exec sleep 30`)
    process.kill(holder.pid, 'SIGKILL')
    let state = ''
    for (let i = 0; i < 100 && state !== 'Z'; i++) {
      await sleep(20)
      state = fs.readFileSync(`/proc/${holder.pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!
    }
    assert.equal(state, 'Z', 'the holder is a zombie')
    const started = performance.now()
    const release = await lockDataDir(dir, { waitMs: 3000 })
    assert.ok(performance.now() - started < 1000, 'no wait for a process that is gone')
    assert.equal(pidIn(dir), process.pid)
    release()
  })

  it('takes over a pid file whose pid now belongs to another process', { skip: HAS_PROC ? false : 'needs /proc' }, async () => {
    const dir = tempDir()
    const holder = await startHolder(dir)
    holder.child.kill('SIGKILL')
    await once(holder.child, 'exit')
    // The file a dead holder left, its pid since given to a process that is alive: this test's parent.
    const left = fs.readFileSync(path.join(dir, 'worken.pid'), 'utf8').split('\n')
    fs.writeFileSync(path.join(dir, 'worken.pid'), [String(process.ppid), ...left.slice(1)].join('\n'))
    const started = performance.now()
    const release = await lockDataDir(dir, { waitMs: 3000 })
    assert.ok(performance.now() - started < 1000, 'the live process is not the one that locked')
    release()
  })

  it('still refuses a live holder named by a pid file of the older format (a pid alone)', async () => {
    const dir = tempDir()
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
    children.push(holder)
    fs.writeFileSync(path.join(dir, 'worken.pid'), String(holder.pid))
    await assert.rejects(lockDataDir(dir, { waitMs: 100 }), DataDirInUseError)
    holder.kill('SIGKILL')
    await once(holder, 'exit')
    const release = await lockDataDir(dir, { waitMs: 100 })
    release()
  })

  it('a release leaves a lock that another process took meanwhile alone', async () => {
    const dir = tempDir()
    const release = await lockDataDir(dir)
    fs.writeFileSync(path.join(dir, 'worken.pid'), `${process.ppid}\n`)
    release()
    assert.equal(pidIn(dir), process.ppid)
  })
})

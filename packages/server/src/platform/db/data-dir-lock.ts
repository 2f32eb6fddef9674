import fs from 'node:fs'
import path from 'node:path'

/** Another live process holds the data directory. */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError'
  readonly holder: number

  constructor(dataDir: string, holder: number) {
    super(`The data directory ${dataDir} is in use by process ${holder}. Stop it, or set WORKEN_DATA_DIR to another directory.`)
    this.holder = holder
  }
}

/**
 * PGlite is one process's database: two processes on one data directory would
 * corrupt it. A pid file refuses the second one (the server, or `worken keys
 * create` while a server runs) with a clear message. Returns the release.
 */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true })
  const pidFile = path.join(dataDir, 'worken.pid')
  try {
    const holder = Number(fs.readFileSync(pidFile, 'utf8'))
    if (holder && holder !== process.pid && isAlive(holder)) throw new DataDirInUseError(dataDir, holder)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  fs.writeFileSync(pidFile, String(process.pid))
  return () => fs.rmSync(pidFile, { force: true })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

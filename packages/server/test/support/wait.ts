import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` every 100 ms until it holds, for effects another process brings
 * about (a restart recovering work, a poller taking over); fails naming `what`.
 *
 * @example
 * await until(async () => (await countReplies()) === 30, 'every reply stored')
 */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

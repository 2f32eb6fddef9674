// A forked helper process of a benchmark (bench:streams, bench:peers), called request by request over IPC.
import { fork, type ChildProcess } from 'node:child_process'

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never

export class Child<Req extends { id: number }, Reply extends { id: number; error?: string }> {
  private readonly child: ChildProcess
  private nextId = 1
  private readonly waiting = new Map<number, { resolve(reply: Reply): void; reject(error: Error): void }>()
  private readonly role: string

  /** Forks `modulePath` (a .ts file: Node strips the types), with this process's flags and environment plus `env`. */
  constructor(role: string, modulePath: string, env: Record<string, string> = {}) {
    this.role = role
    this.child = fork(modulePath, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.child.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id)
      if (!waiter) return
      this.waiting.delete(reply.id)
      if (reply.error) waiter.reject(new Error(`${this.role}: ${reply.error}`))
      else waiter.resolve(reply)
    })
    this.child.on('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`${this.role} exited (code ${code}, signal ${signal})`))
      this.waiting.clear()
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** One request; a watchdog kills the child if it does not answer in time. */
  call(request: WithoutId<Req>, timeoutMs: number): Promise<Reply> {
    const id = this.nextId++
    return new Promise<Reply>((resolve, reject) => {
      const watchdog = setTimeout(() => {
        this.waiting.delete(id)
        this.child.kill('SIGKILL')
        reject(new Error(`${this.role} did not answer within ${timeoutMs} ms; killed it`))
      }, timeoutMs)
      this.waiting.set(id, {
        resolve: (reply) => { clearTimeout(watchdog); resolve(reply) },
        reject: (error) => { clearTimeout(watchdog); reject(error) },
      })
      this.child.send({ ...request, id })
    })
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    if (this.child.connected) this.child.disconnect()
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }
}

import net from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy on 127.0.0.1 in front of a server: the SDK talks to the proxy,
 * so a test can see when the client closes its connection, cut every open
 * connection (a network failure), and point the same address at a restarted
 * server.
 */
export type Proxy = {
  url: string
  /** Connections from the client, in order of arrival. */
  connections: ProxiedConnection[]
  /** Where new connections go (`http://127.0.0.1:<port>`). */
  retarget(upstreamUrl: string): void
  /** Destroys every open connection, both sides. */
  cutAll(): void
  close(): Promise<void>
}

export type ProxiedConnection = {
  openedAt: number
  /** When the client's side closed (null while open). */
  clientClosedAt: number | null
  /** Who closed first: the client, the server, or the proxy (cutAll). */
  closedBy: 'client' | 'server' | 'proxy' | null
  /** The request lines sent on this connection (`POST /chats/… HTTP/1.1`), keep-alive reuse included. */
  requestLines: string[]
  /** The same requests' heads: the request line and the headers, lower-cased names (`last-event-id: 42`). */
  requestHeads: string[]
  closed: Promise<void>
}

export async function startProxy(upstreamUrl: string): Promise<Proxy> {
  let upstream = new URL(upstreamUrl)
  const connections: ProxiedConnection[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const target = net.connect(Number(upstream.port), upstream.hostname)
    let closeResolve!: () => void
    const connection: ProxiedConnection = {
      openedAt: performance.now(),
      clientClosedAt: null,
      closedBy: null,
      requestLines: [],
      requestHeads: [],
      closed: new Promise((resolve) => (closeResolve = resolve)),
    }
    connections.push(connection)
    sockets.add(client)
    sockets.add(target)
    client.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1')
      for (const match of text.matchAll(/^(?:GET|POST|PUT|PATCH|DELETE|HEAD) \S+ HTTP\/1\.1(?=\r?\n)/gm)) {
        connection.requestLines.push(match[0])
        const end = text.indexOf('\r\n\r\n', match.index)
        connection.requestHeads.push(text.slice(match.index, end < 0 ? undefined : end).replace(/^[^:\r\n]+:/gm, (name) => name.toLowerCase()))
      }
    })
    client.pipe(target)
    target.pipe(client)
    const finish = (by: 'client' | 'server') => {
      connection.closedBy ??= by
      if (by === 'client') connection.clientClosedAt ??= performance.now()
      client.destroy()
      target.destroy()
      sockets.delete(client)
      sockets.delete(target)
      closeResolve()
    }
    client.on('close', () => finish('client'))
    client.on('error', () => finish('client'))
    target.on('close', () => finish('server'))
    target.on('error', () => finish('server'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    retarget(next) {
      upstream = new URL(next)
    },
    cutAll() {
      for (const connection of connections) connection.closedBy ??= 'proxy'
      for (const socket of sockets) socket.destroy()
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}

import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { keyCaller, processDatabase, startServerProcess, type ServerProcess } from '../../server/test/support/process.ts'

export const STDIO = fileURLToPath(new URL('../src/stdio.ts', import.meta.url))
/** How a test runs `src/stdio.ts`, as the README tells a user to from the repository. */
export const STDIO_COMMAND = [process.execPath, '--conditions=worken:source', STDIO] as const

/** A real server process with a known first key, and a second project of the same organization. */
export type Worken = {
  server: ServerProcess
  /** Project A's key (the bootstrap key). */
  key: string
  /** Project B's key: another tenant, for isolation checks. */
  otherKey: string
  /** REST calls with a key: `api(key, method, route, body?)`. */
  api(key: string, method: string, route: string, body?: unknown): Promise<{ status: number; body: any }>
  close(): Promise<void>
}

export async function startWorken(prefix: string): Promise<Worken> {
  const database = await processDatabase(prefix)
  const key = `sk-${'a1'.repeat(32)}`
  const server = await startServerProcess({ ...database.env, WORKEN_BOOTSTRAP_API_KEY: key })
  const api = (apiKey: string, method: string, route: string, body?: unknown) => keyCaller(apiKey)(server.publicUrl, method, route, body)
  const close = async () => {
    await server.stop()
    await database.cleanup()
  }
  let otherKey: string
  try {
    const projects = await api(key, 'GET', '/projects')
    assert.equal(projects.status, 200, JSON.stringify(projects.body))
    const created = await api(key, 'POST', '/projects', { name: 'Project B', organization_id: projects.body[0].organization_id })
    assert.equal(created.status, 200, JSON.stringify(created.body))
    otherKey = created.body.api_key.key
  } catch (error) {
    await close()
    throw error
  }
  return { server, key, otherKey, api, close }
}

/** The official client over stdio, running `src/stdio.ts` with this environment and flags. */
export async function stdioClient(env: Record<string, string>, args: string[] = [], mode: 'legacy' | 'auto' = 'legacy'): Promise<Client> {
  const client = new Client({ name: 'worken-mcp-test', version: '1.0.0' }, { versionNegotiation: { mode } })
  await client.connect(new StdioClientTransport({ command: STDIO_COMMAND[0], args: [...STDIO_COMMAND.slice(1), ...args], env: { PATH: process.env.PATH ?? '', ...env }, stderr: 'pipe' }))
  return client
}

/** The official client over streamable HTTP to a server's `/mcp`, with a key. */
export async function httpClient(publicUrl: string, key: string, query = '', mode: 'legacy' | 'auto' = 'legacy'): Promise<Client> {
  const client = new Client({ name: 'worken-mcp-test', version: '1.0.0' }, { versionNegotiation: { mode } })
  await client.connect(new StreamableHTTPClientTransport(new URL(`/mcp${query}`, publicUrl), { requestInit: { headers: { authorization: `Bearer ${key}` } } }))
  return client
}

/** A tool call's JSON answer: its structured content, checked to be the same as its text. */
export function jsonOf(result: CallToolResult): any {
  const first = result.content[0]
  assert.equal(first?.type, 'text')
  const parsed = JSON.parse((first as { text: string }).text)
  if (result.structuredContent) assert.deepEqual(result.structuredContent, parsed)
  return parsed
}

export async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((tool) => tool.name).sort()
}

#!/usr/bin/env node
import { serveStdio, type StdioServerHandle } from '@modelcontextprotocol/server/stdio'
import { loadCatalog } from './catalog.ts'
import { createExecutor, type FetchLike } from './executor.ts'
import { parseToolsetFlags, selectTools, ToolsetOptionsError, type ToolsetOptions } from './selection.ts'
import { createWorkenMcpServer } from './server.ts'
import { VERSION } from './version.ts'

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080'

export type StdioOptions = ToolsetOptions & {
  /** The project's key; `WORKEN_API_KEY` when left out. */
  apiKey?: string
  /** The API's address; `WORKEN_BASE_URL`, else `http://127.0.0.1:8080`. */
  baseUrl?: string
  /** Sends the API's requests; the global `fetch` when left out. */
  fetch?: FetchLike
  /** Where progress lines go; stderr, since stdout is the protocol's. */
  log?: (line: string) => void
}

/** A start that cannot go on: `exitCode` 2 for what the user must fix in the configuration, 1 otherwise. */
export class StdioStartError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number) {
    super(message)
    this.exitCode = exitCode
  }
}

/**
 * Serves the Worken API's tools over stdio for one key, until stdin closes. For the CLI's
 * `worken mcp` and the `worken-mcp` binary.
 *
 * @example
 * await runStdio({ toolsets: ['bots', 'chats'], readOnly: true }) // key and address from WORKEN_API_KEY / WORKEN_BASE_URL
 */
export async function runStdio(options: StdioOptions = {}): Promise<StdioServerHandle> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const apiKey = options.apiKey ?? process.env.WORKEN_API_KEY
  if (!apiKey) throw new StdioStartError('worken-mcp: set WORKEN_API_KEY to a project API key (sk-…); create one with `worken keys create` or POST /projects/{id}/api-keys', 2)
  const baseUrl = options.baseUrl ?? (process.env.WORKEN_BASE_URL || DEFAULT_BASE_URL)
  if (!URL.canParse(baseUrl)) throw new StdioStartError(`worken-mcp: WORKEN_BASE_URL is not a URL: ${baseUrl}`, 2)
  const api = createExecutor({ baseUrl, apiKey, userAgent: `worken-mcp/${VERSION}`, ...(options.fetch ? { fetch: options.fetch } : {}) })
  let catalog
  try {
    catalog = await loadCatalog(api)
  } catch (error) {
    throw new StdioStartError(`worken-mcp: could not read the API description at ${baseUrl}/openapi.json (is the server running there?): ${error instanceof Error ? error.message : String(error)}`, 1)
  }
  let tools
  try {
    tools = selectTools(catalog, options)
  } catch (error) {
    if (error instanceof ToolsetOptionsError) throw new StdioStartError(`worken-mcp: ${error.message}`, 2)
    throw error
  }
  log(`worken-mcp ${VERSION}: ${tools.length} tools for ${baseUrl}${options.readOnly ? ' (read-only)' : ''}${options.allowDestructive ? ' (destructive tools allowed)' : ''}`)
  return serveStdio(() => createWorkenMcpServer({ tools, api }), { onerror: (error) => log(`worken-mcp: ${error.message}`) })
}

async function main(): Promise<void> {
  try {
    await runStdio(parseToolsetFlags(process.argv.slice(2)))
  } catch (error) {
    const known = error instanceof StdioStartError || error instanceof ToolsetOptionsError
    process.stderr.write(`${known ? error.message : error instanceof Error ? error.stack : String(error)}\n`)
    process.exitCode = error instanceof StdioStartError ? error.exitCode : known ? 2 : 1
  }
}

if (import.meta.main) await main()

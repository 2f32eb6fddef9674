import type { ToolCatalog, ToolSpec } from './catalog.ts'

/**
 * Which tools a connection offers. Destructive tools (deleting keys, bots, threads, …) are
 * off unless asked for; read-only mode offers GET operations only, whatever else is asked.
 */
export type ToolsetOptions = {
  /** Toolsets to offer (`bots`, `chats`, …); all when left out or empty. */
  toolsets?: string[]
  /** Only operations that change nothing (GET). */
  readOnly?: boolean
  /** Also offer the tools that delete things. */
  allowDestructive?: boolean
}

/** Options that name something that does not exist, or a flag that is not one. */
export class ToolsetOptionsError extends Error {}

/**
 * The catalog's tools that the options let through.
 *
 * @example
 * selectTools(catalog, { toolsets: ['bots'], readOnly: true }).map((tool) => tool.name) // ['bots_list', 'bots_get', 'bots_settings_get']
 */
export function selectTools(catalog: ToolCatalog, options: ToolsetOptions = {}): ToolSpec[] {
  const wanted = options.toolsets?.length ? new Set(options.toolsets) : undefined
  const unknown = [...(wanted ?? [])].filter((toolset) => !catalog.toolsets.includes(toolset))
  if (unknown.length > 0) throw new ToolsetOptionsError(`Unknown toolset ${unknown.map((name) => `'${name}'`).join(', ')}; the toolsets are: ${catalog.toolsets.join(', ')}`)
  return catalog.tools.filter((tool) => {
    if (wanted && !wanted.has(tool.toolset)) return false
    if (options.readOnly) return tool.access === 'read'
    return tool.access !== 'destructive' || options.allowDestructive === true
  })
}

/**
 * Options from command-line flags: `--toolsets bots,chats` (or `--toolsets=…`), `--read-only`,
 * `--allow-destructive`.
 *
 * @example
 * parseToolsetFlags(['--toolsets', 'bots,chats', '--read-only']) // { toolsets: ['bots', 'chats'], readOnly: true, allowDestructive: false }
 */
export function parseToolsetFlags(argv: string[]): ToolsetOptions {
  const options: ToolsetOptions = { readOnly: false, allowDestructive: false }
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!
    if (argument === '--read-only') options.readOnly = true
    else if (argument === '--allow-destructive') options.allowDestructive = true
    else if (argument === '--toolsets' || argument.startsWith('--toolsets=')) {
      const value = argument === '--toolsets' ? argv[++index] : argument.slice('--toolsets='.length)
      if (value === undefined || value.startsWith('--')) throw new ToolsetOptionsError('--toolsets needs a comma-separated list, e.g. --toolsets bots,chats')
      options.toolsets = listOf(value)
    } else throw new ToolsetOptionsError(`Unknown option ${argument}; the options are --toolsets <list>, --read-only, --allow-destructive`)
  }
  return options
}

/**
 * Options from a URL's query: `toolsets=bots,chats`, `read_only=true`, `allow_destructive=true`.
 *
 * @example
 * parseToolsetQuery(new URL('http://127.0.0.1:8080/mcp?toolsets=bots&read_only=true').searchParams) // { toolsets: ['bots'], readOnly: true, allowDestructive: false }
 */
export function parseToolsetQuery(query: URLSearchParams): ToolsetOptions {
  const toolsets = query.getAll('toolsets').flatMap(listOf)
  return {
    ...(toolsets.length > 0 ? { toolsets } : {}),
    readOnly: booleanOf(query, 'read_only'),
    allowDestructive: booleanOf(query, 'allow_destructive'),
  }
}

function listOf(value: string): string[] {
  return value.split(',').map((item) => item.trim()).filter(Boolean)
}

function booleanOf(query: URLSearchParams, name: string): boolean {
  const value = query.get(name)
  if (value === null || value === 'false' || value === '0') return false
  if (value === '' || value === 'true' || value === '1') return true
  throw new ToolsetOptionsError(`${name} must be true or false, not '${value}'`)
}

import { McpServer, type StandardSchemaWithJSON } from '@modelcontextprotocol/server'
import type { ToolSpec } from './catalog.ts'
import type { ApiExecutor } from './executor.ts'
import { callTool } from './invoke.ts'
import { VERSION } from './version.ts'

export type WorkenMcpServerOptions = {
  /** The tools to offer: `selectTools(catalog, options)`. */
  tools: ToolSpec[]
  /** How the tools reach the API, with the caller's key. */
  api: ApiExecutor
}

const INSTRUCTIONS = `Tools for one Worken project (chat bots, their chats and threads, knowledge bases, webhooks, integrations), one tool per operation of the Worken API, named after its operationId with "." as "_". Results are the API's JSON; a failed call returns the API's error JSON ({ error, code, message, details }) with isError set. Ids come from list and create results (bots_list, chats_list, threads_list, ...).`

/**
 * An MCP server offering the given tools; one per connection (stdio) or per request (HTTP).
 *
 * @example
 * const catalog = await loadCatalog(api)
 * const server = createWorkenMcpServer({ tools: selectTools(catalog, { readOnly: true }), api })
 */
export function createWorkenMcpServer(options: WorkenMcpServerOptions): McpServer {
  const server = new McpServer({ name: 'worken', title: 'Worken', version: VERSION }, { capabilities: { tools: {} }, instructions: INSTRUCTIONS })
  for (const spec of options.tools) {
    server.registerTool(spec.name, {
      title: spec.title,
      description: spec.description,
      inputSchema: inputSchemaOf(spec),
      annotations: spec.annotations,
      // The operation behind the tool, and what it needs: the role an internal-API user must have (`member`, `admin`).
      _meta: { 'worken/operationId': spec.operationId, 'worken/toolset': spec.toolset, 'worken/access': spec.access, ...(spec.role ? { 'worken/role': spec.role } : {}) },
    }, (args, ctx) => callTool(spec, args, options.api, ctx.mcpReq.signal))
  }
  return server
}

const schemas = new WeakMap<ToolSpec, StandardSchemaWithJSON<Record<string, unknown>>>()

/**
 * The tool's JSON Schema as the SDK takes it. It checks only what a request cannot be
 * built without (an object, the path ids, no unknown argument): the API validates the rest
 * and its error JSON, naming the fields, is what the agent gets back.
 */
function inputSchemaOf(spec: ToolSpec): StandardSchemaWithJSON<Record<string, unknown>> {
  let schema = schemas.get(spec)
  if (!schema) {
    const known = new Set(Object.keys(spec.inputSchema.properties as object))
    schema = {
      '~standard': {
        version: 1,
        vendor: 'worken',
        jsonSchema: { input: () => spec.inputSchema, output: () => spec.inputSchema },
        validate: (value) => {
          if (!value || typeof value !== 'object' || Array.isArray(value)) return { issues: [{ message: 'The arguments must be an object' }] }
          const args = value as Record<string, unknown>
          const issues = [
            ...Object.keys(args).filter((name) => !known.has(name)).map((name) => ({ message: `Unknown argument \`${name}\`; this tool takes: ${[...known].join(', ') || 'no arguments'}`, path: [name] })),
            ...spec.arguments.path.filter((name) => typeof args[name] !== 'string' || args[name] === '').map((name) => ({ message: `\`${name}\` is required (a string id)`, path: [name] })),
          ]
          return issues.length > 0 ? { issues } : { value: args }
        },
      },
    }
    schemas.set(spec, schema)
  }
  return schema
}

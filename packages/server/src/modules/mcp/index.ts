/** The MCP module: the public API's operations as MCP tools at `POST /mcp` (docs/mcp.md). */
export { mcpRoutes, type Dispatch } from './routes.ts'

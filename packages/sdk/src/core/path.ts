import { WorkenError } from './errors.ts'

/**
 * Builds a path from a template, escaping each parameter, so an id can never
 * reach another route (`../`, `?`, `#`).
 *
 * @example
 * path`/chats/${chatId}/threads/${threadId}/stream`
 */
export function path(strings: TemplateStringsArray, ...params: Array<string | number>): string {
  return strings.reduce((built, part, index) => {
    if (index === 0) return part
    const param = params[index - 1]
    return built + encodeParam(param, index - 1) + part
  }, '')
}

/** `/bots/{bot_id}` + `{ bot_id: 'b1' }` → `/bots/b1`. */
export function fillPath(template: string, params: Record<string, unknown> | undefined): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params?.[name]
    if (value === undefined || value === null || value === '') throw new WorkenError(`Missing path parameter '${name}' for ${template}`)
    return encodeParam(value, name)
  })
}

function encodeParam(value: unknown, name: string | number): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value !== 'string' || value === '') {
    throw new WorkenError(`Path parameter ${typeof name === 'number' ? `#${name + 1}` : `'${name}'`} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`)
  }
  return encodeURIComponent(value)
}

/** A query string from an object: undefined/null left out, arrays as repeated keys, objects as JSON. */
export function queryString(query: Record<string, unknown> | undefined): string {
  if (!query) return ''
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined || item === null) continue
      search.append(key, typeof item === 'object' ? JSON.stringify(item) : String(item))
    }
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

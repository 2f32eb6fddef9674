import { z } from '@hono/zod-openapi'
import { AppError } from '../../platform/errors.ts'
import { storableTextProblem } from '../../platform/http/fields.ts'

/**
 * A chat's `settings` (the spec's `settings?: object` on integration chats):
 * the caller's JSON object, stored and returned as given. The server reads
 * nothing in it, so the limits only keep the row sane.
 */
export type ChatSettings = Record<string, unknown>

/** Serialized size of the stored (merged) settings. */
export const CHAT_SETTINGS_MAX_BYTES = 16 * 1024
/** Objects and arrays inside objects and arrays; also bounds the recursion of the checks below. */
export const CHAT_SETTINGS_MAX_DEPTH = 16

/** The first value Postgres could not store as jsonb (a NUL or a lone surrogate, in a key or a string), or too deep. */
function contentProblem(value: unknown, path: string, depth: number): { path: string; message: string } | null {
  if (typeof value === 'string') {
    const problem = storableTextProblem(value)
    return problem ? { path, message: problem } : null
  }
  if (value === null || typeof value !== 'object') return null
  if (depth > CHAT_SETTINGS_MAX_DEPTH) return { path, message: `must be nested at most ${CHAT_SETTINGS_MAX_DEPTH} levels deep` }
  const entries = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value)
  for (const [key, item] of entries) {
    const keyProblem = storableTextProblem(key)
    if (keyProblem) return { path, message: `has a key that ${keyProblem}` }
    const problem = contentProblem(item, `${path}.${key}`, depth + 1)
    if (problem) return problem
  }
  return null
}

/**
 * The `settings` field of request bodies: a JSON object. On update it is a
 * JSON Merge Patch (RFC 7386) of the stored settings, so it validates the
 * same way on create and on update.
 */
export const ChatSettingsField = () =>
  z
    .record(z.string(), z.unknown())
    .superRefine((value, context) => {
      const problem = contentProblem(value, '', 1)
      if (problem) context.addIssue({ code: 'custom', message: problem.path ? `${problem.path.slice(1)}: ${problem.message}` : problem.message, input: value })
    })
    .openapi({
      description: `Extension: your settings for this chat, a JSON object of at most ${CHAT_SETTINGS_MAX_BYTES} bytes. On update, merged into the stored object (JSON Merge Patch: objects merge, \`null\` removes a key, anything else replaces).`,
      example: { locale: 'en', greeting: 'Hi! How can we help?' },
    })

/** RFC 7386: objects merge key by key, `null` removes a key, any other value (arrays included) replaces. */
export function mergeChatSettings(target: ChatSettings, patch: ChatSettings): ChatSettings {
  const merged: ChatSettings = { ...target }
  for (const [key, value] of Object.entries(patch)) {
    const current = Object.hasOwn(merged, key) ? merged[key] : undefined
    if (value === null) delete merged[key]
    // defineProperty, not assignment: a key such as "__proto__" is data here, not the object's prototype.
    else Object.defineProperty(merged, key, { value: isObject(value) ? mergeChatSettings(isObject(current) ? current : {}, value) : value, enumerable: true, writable: true, configurable: true })
  }
  return merged
}

/** Refuses merged settings over the size limit; the patch alone may be small while the result is not. */
export function requireSettingsSize(settings: ChatSettings): void {
  const bytes = Buffer.byteLength(JSON.stringify(settings))
  if (bytes > CHAT_SETTINGS_MAX_BYTES) {
    throw AppError.validation([{ path: 'settings', message: `must be at most ${CHAT_SETTINGS_MAX_BYTES} bytes as JSON once merged (this would be ${bytes})` }])
  }
}

function isObject(value: unknown): value is ChatSettings {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

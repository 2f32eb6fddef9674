import { z } from '@hono/zod-openapi'
import { ID_PATTERN } from '../db/ids.ts'
import { AppError } from '../errors.ts'

/**
 * Text Postgres can store: no NUL (which `text` and `jsonb` refuse) and no lone
 * UTF-16 surrogate (which `jsonb` refuses in a `\ud800` escape). Both are
 * validation errors, not 500s.
 */
export function storableTextProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain NUL characters'
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)'
  return null
}

const storable = (value: string, context: { addIssue(issue: { code: 'custom'; message: string; input: string }): void }) => {
  const problem = storableTextProblem(value)
  if (problem) context.addIssue({ code: 'custom', message: problem, input: value })
}

export const safeText = () => z.string().superRefine(storable)

/** A required, human-facing name: trimmed, 1–200 characters. */
export const nameField = () =>
  z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters').superRefine(storable)

/** A path id. Anything else cannot name a resource, so the router answers 404 for it. */
export const idParam = (name: string, example: string) =>
  z.string().regex(ID_PATTERN).openapi({ param: { name, in: 'path' }, example })

/**
 * An id given in a body or a query (`bot_id`, `file_ids[]`, `after`, …): 1–128 of
 * `[A-Za-z0-9_.:-]`, the shape of every id. A malformed one could never name anything, and
 * would reach the database unchecked (Postgres refuses a NUL), so it is a 422 naming the field.
 * `what` names it in the message: `idField('a file id')` → "must be a file id (…)".
 */
export const idField = (what = 'an id') =>
  z.string().regex(ID_PATTERN, `must be ${what} (1–128 characters: letters, digits, _ . : -)`)

/** An http(s) URL of at most 2048 characters, with no NUL or lone surrogate in its text (the URL parser would encode them and let them through). */
export const urlField = () => z.url({ protocol: /^https?$/ }).max(2048).superRefine(storable)

export const timestamp = () => z.string().openapi({ format: 'date-time', example: '2026-11-22T12:00:00.000Z' })

export const Deleted = z
  .object({ id: z.string(), deleted: z.literal(true) })
  .openapi('Deleted', { example: { id: 'bot_01jdq3v5k7m9p2r4t6w8y0a2c4', deleted: true } })

/**
 * Offset lists (those whose answer is the spec's bare array: `Bot[]`, `Chat[]`, …) answer a page
 * of DEFAULT_PAGE_SIZE items when no `limit` is given, and at most MAX_PAGE_SIZE; the
 * `X-Total-Count` header says how many the whole list has. (`GET /threads` keeps the spec's
 * default of 20, and the OpenAI-style cursor lists their own defaults.) See docs/design.md, "Lists".
 */
export const DEFAULT_PAGE_SIZE = 100
export const MAX_PAGE_SIZE = 1000

/** `limit`/`offset` of every offset list. */
export const Page = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).openapi({
    description: `At most this many items, 1–${MAX_PAGE_SIZE} (default ${DEFAULT_PAGE_SIZE}). The \`X-Total-Count\` response header says how many the whole list has.`,
  }),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0).openapi({ description: 'Skip this many items (default 0).' }),
})

/** `scheduledAt` must be an ISO 8601 date-time with a time zone, in the future; null when absent. */
export function parseScheduledAt(value: string | undefined): Date | null {
  if (value === undefined) return null
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/
  const date = new Date(value)
  if (!iso.test(value) || Number.isNaN(date.getTime())) throw AppError.validation([{ path: 'scheduledAt', message: 'must be an ISO 8601 date-time with a time zone' }])
  if (date.getTime() <= Date.now()) throw AppError.validation([{ path: 'scheduledAt', message: 'must be in the future' }])
  return date
}

import { z } from '@hono/zod-openapi'
import { sql, type SQL } from 'drizzle-orm'
import { safeText, storableTextProblem } from '../../../platform/http/fields.ts'

/**
 * OpenAI's attribute filters (`filters` of `POST /vector_stores/:id/search` and
 * of the `file_search` tool) and the file attributes they match against.
 */

export const MAX_FILTER_DEPTH = 5
export const MAX_FILTER_COMPARISONS = 50
export const MAX_FILTER_LIST = 100
export const MAX_ATTRIBUTES = 16
export const MAX_ATTRIBUTE_KEY = 64
export const MAX_ATTRIBUTE_STRING = 512

/**
 * Every compound holds at least one comparison below it and a comparison has at
 * most MAX_FILTER_DEPTH compounds above it, so no valid filter has more.
 */
const MAX_FILTER_COMPOUNDS = MAX_FILTER_DEPTH * MAX_FILTER_COMPARISONS

const COMPARISON_TYPES = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin'] as const
const COMPOUND_TYPES = ['and', 'or'] as const
const RANGE_TYPES: ReadonlySet<string> = new Set(['gt', 'gte', 'lt', 'lte'])
const LIST_TYPES: ReadonlySet<string> = new Set(['in', 'nin'])

const attributeKey = () =>
  safeText()
    .min(1, 'must not be empty')
    .max(MAX_ATTRIBUTE_KEY, `must be at most ${MAX_ATTRIBUTE_KEY} characters`)

const ComparisonValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))], {
  error: 'must be a string, number, boolean, or an array of strings and numbers',
})

type Issue = { code: 'custom'; message: string; input: unknown; path: PropertyKey[] }

/** Which values each operator takes: the one schema OpenAI documents, checked per `type`. */
function checkComparisonValue(filter: { type: string; value: unknown }, context: { addIssue(issue: Issue): void }) {
  const { type, value } = filter
  const problem = (message: string, path: PropertyKey[] = ['value']) => context.addIssue({ code: 'custom', message, input: value, path })
  if (LIST_TYPES.has(type)) {
    if (!Array.isArray(value)) return problem(`must be an array of strings and numbers for '${type}'`)
    if (value.length === 0) return problem(`must not be an empty array for '${type}'`)
    if (value.length > MAX_FILTER_LIST) return problem(`must have at most ${MAX_FILTER_LIST} items for '${type}'`)
  } else if (Array.isArray(value)) {
    return problem(`must not be an array for '${type}' (use 'in' or 'nin' to match a list)`)
  } else if (RANGE_TYPES.has(type) && typeof value === 'boolean') {
    return problem(`must be a number or a string for '${type}'`)
  }
  const strings = Array.isArray(value) ? value.map((item, index) => ({ item, path: ['value', index] })) : [{ item: value, path: ['value'] }]
  for (const { item, path } of strings) {
    const textProblem = typeof item === 'string' ? storableTextProblem(item) : null
    if (textProblem) problem(textProblem, path)
  }
}

const ComparisonFilterSchema = z
  .strictObject({
    key: attributeKey().openapi({ description: 'The attribute to compare.', example: 'region' }),
    type: z.enum(COMPARISON_TYPES).openapi({
      description: '`eq`/`ne`: equal or not (same JSON type); `gt`/`gte`/`lt`/`lte`: numbers numerically, strings by code point; `in`/`nin`: one of a list or not.',
    }),
    value: ComparisonValue.openapi({ description: 'A string, number or boolean; for `in`/`nin` a non-empty array of at most 100 strings and numbers.', example: 'eu' }),
  })
  .superRefine(checkComparisonValue)
  .openapi('ComparisonFilter', { description: 'Compares one file attribute with a value.' })

const CompoundFilterSchema = z
  .strictObject({
    type: z.enum(COMPOUND_TYPES).openapi({ description: '`and`: every filter matches; `or`: at least one does.' }),
    get filters() {
      return z.array(AttributeFilterSchema).min(1, 'must not be empty')
    },
  })
  .openapi('CompoundFilter', { description: `Combines filters; compound filters nest at most ${MAX_FILTER_DEPTH} deep.` })

/**
 * Measures the filter before it is parsed, without recursion: a request body of
 * a megabyte can nest tens of thousands of levels, which would overflow the
 * stack of a recursive parse.
 */
function filterSizeProblem(input: unknown): string | null {
  const pending: Array<{ node: unknown; depth: number }> = [{ node: input, depth: 0 }]
  let comparisons = 0
  let compounds = 0
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { node, depth } = next
    const children = typeof node === 'object' && node !== null && 'filters' in node ? node.filters : undefined
    if (Array.isArray(children)) {
      if (depth === MAX_FILTER_DEPTH) return `compound filters must nest at most ${MAX_FILTER_DEPTH} deep`
      if (++compounds > MAX_FILTER_COMPOUNDS) return `must have at most ${MAX_FILTER_COMPOUNDS} compound filters`
      for (const child of children) pending.push({ node: child, depth: depth + 1 })
    } else if (++comparisons > MAX_FILTER_COMPARISONS) {
      return `must have at most ${MAX_FILTER_COMPARISONS} comparisons`
    }
  }
  return null
}

const FilterUnion = z.discriminatedUnion('type', [ComparisonFilterSchema, CompoundFilterSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? `must be one of ${[...COMPARISON_TYPES, ...COMPOUND_TYPES].map((type) => `'${type}'`).join(', ')}` : undefined,
})

/**
 * A filter on file attributes: a comparison, or `and`/`or` over filters.
 *
 * @example
 * AttributeFilterSchema.parse({ type: 'and', filters: [
 *   { type: 'eq', key: 'region', value: 'eu' },
 *   { type: 'gte', key: 'published', value: '2025-01-01' },
 * ] })
 */
export const AttributeFilterSchema = z
  .preprocess((input, context) => {
    const problem = filterSizeProblem(input)
    if (problem) context.addIssue({ code: 'custom', message: problem, input })
    return input
  }, FilterUnion)
  .openapi('AttributeFilter', {
    description: `A comparison or a compound filter; at most ${MAX_FILTER_COMPARISONS} comparisons, compound filters nested at most ${MAX_FILTER_DEPTH} deep.`,
  })

export type ComparisonFilter = z.infer<typeof ComparisonFilterSchema>
export type CompoundFilter = z.infer<typeof CompoundFilterSchema>
export type AttributeFilter = z.infer<typeof AttributeFilterSchema>

/**
 * The `attributes` of a vector store file: at most 16 keys of 1–64 characters;
 * values are strings of at most 512 characters, numbers or booleans.
 *
 * @example
 * AttributesSchema.parse({ region: 'eu', year: 2025, public: true })
 */
export const AttributesSchema = z
  .preprocess(
    (input, context) => {
      for (const message of attributeKeyProblems(input)) context.addIssue({ code: 'custom', message, input })
      return input
    },
    z.record(
      z.string(),
      z.union([safeText().max(MAX_ATTRIBUTE_STRING, `must be at most ${MAX_ATTRIBUTE_STRING} characters`), z.number(), z.boolean()], {
        error: 'must be a string, number or boolean',
      }),
    ),
  )
  .openapi('VectorStoreFileAttributes', {
    description: `Up to ${MAX_ATTRIBUTES} key-value pairs to filter searches by: keys of 1–${MAX_ATTRIBUTE_KEY} characters; values are strings of at most ${MAX_ATTRIBUTE_STRING} characters, numbers or booleans.`,
    maxProperties: MAX_ATTRIBUTES,
    example: { region: 'eu', year: 2025, public: true },
  })

export type Attributes = z.infer<typeof AttributesSchema>

/**
 * Checks the keys on the raw input: a record schema reports a bad key only as
 * "Invalid key in record", and its output silently drops a `__proto__` key.
 */
function attributeKeyProblems(input: unknown): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return []
  const keys = Object.keys(input)
  if (keys.length > MAX_ATTRIBUTES) return [`must have at most ${MAX_ATTRIBUTES} keys (has ${keys.length})`]
  const problems: string[] = []
  for (const key of keys) {
    const quoted = JSON.stringify(key.length > MAX_ATTRIBUTE_KEY ? `${key.slice(0, MAX_ATTRIBUTE_KEY)}…` : key)
    if (key.length === 0) problems.push('keys must not be empty')
    else if (key.length > MAX_ATTRIBUTE_KEY) problems.push(`key ${quoted} must be at most ${MAX_ATTRIBUTE_KEY} characters`)
    else if (key === '__proto__') problems.push(`key ${quoted} is not allowed`)
    else {
      const problem = storableTextProblem(key)
      if (problem) problems.push(`key ${quoted} ${problem}`)
    }
  }
  return problems
}

/*
 * How a filter matches, as SQL over the `attributes` jsonb object of a file:
 *
 * - `eq`: the attribute exists and equals the value with the same JSON type
 *   (`"1"` does not equal `1`; `1` equals `1.0`). `ne` is NOT `eq`, so a file
 *   without the attribute matches `ne`.
 * - `gt`/`gte`/`lt`/`lte`: numbers compare numerically when both the attribute
 *   and the value are numbers; strings compare by byte order (collation "C",
 *   code point order in UTF-8, so ISO 8601 dates written alike compare
 *   chronologically, whatever the database's locale) when both are strings. A type mismatch or a missing attribute does not match.
 * - `in`: the attribute equals one of the values (same JSON type); `nin` is NOT
 *   `in`, so a missing attribute matches `nin`.
 * - `and`/`or`: every / at least one of the filters matches.
 *
 * Every comparison is true or false, never NULL, so a caller may negate the
 * whole. Keys and values are bound parameters with explicit casts, as Postgres
 * cannot infer the type of a bare parameter next to a jsonb operator.
 */

/**
 * The SQL condition for `filter` over `attributes`, the jsonb column's expression.
 *
 * @example
 * db.select().from(vectorStoreFiles).where(filterToSql(filter, sql`${vectorStoreFiles.attributes}`))
 */
export function filterToSql(filter: AttributeFilter, attributes: SQL): SQL {
  if ('filters' in filter) {
    const joiner = filter.type === 'and' ? sql` and ` : sql` or `
    return sql`(${sql.join(
      filter.filters.map((inner) => filterToSql(inner, attributes)),
      joiner,
    )})`
  }
  return comparisonToSql(filter, attributes)
}

const json = (value: string | number | boolean) => sql`${JSON.stringify(value)}::jsonb`

function comparisonToSql({ key, type, value }: ComparisonFilter, attributes: SQL): SQL {
  const attribute = sql`(${attributes} -> ${key}::text)`
  switch (type) {
    case 'eq':
    case 'ne': {
      const equal = sql`coalesce(${attribute} = ${json(scalar(value, type))}, false)`
      return type === 'eq' ? equal : sql`(not ${equal})`
    }
    case 'in':
    case 'nin': {
      const list = listOf(value, type)
      const member = sql`coalesce(${attribute} in (${sql.join(list.map(json), sql`, `)}), false)`
      return type === 'in' ? member : sql`(not ${member})`
    }
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const operator = sql.raw({ gt: '>', gte: '>=', lt: '<', lte: '<=' }[type])
      const bound = scalar(value, type)
      if (typeof bound === 'number') {
        // jsonb orders two numbers numerically and never fails on other types, unlike a ::numeric cast.
        return sql`coalesce(jsonb_typeof(${attribute}) = 'number' and ${attribute} ${operator} ${json(bound)}, false)`
      }
      if (typeof bound === 'string') {
        return sql`coalesce(jsonb_typeof(${attribute}) = 'string' and (${attributes} ->> ${key}::text) collate "C" ${operator} (${bound}::text collate "C"), false)`
      }
      throw new TypeError(`'${type}' filter value must be a number or a string`)
    }
  }
}

/** The schema has already refused these; the checks keep the SQL honest for a hand-built filter. */
function scalar(value: ComparisonFilter['value'], type: string): string | number | boolean {
  if (Array.isArray(value)) throw new TypeError(`'${type}' filter value must not be an array`)
  return value
}

function listOf(value: ComparisonFilter['value'], type: string): Array<string | number> {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError(`'${type}' filter value must be a non-empty array`)
  return value
}

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { sql } from 'drizzle-orm'
import { PgDialect } from 'drizzle-orm/pg-core'
import type { DatabaseHandle } from '../../../src/platform/db/client.ts'
import { fieldProblems } from '../../../src/platform/http/errors.ts'
import { AttributeFilterSchema, AttributesSchema, filterToSql, type AttributeFilter } from '../../../src/modules/knowledge/vector-stores/filters.ts'
import { freshDatabase } from '../../support/harness.ts'

const INJECTION_KEY = `it's"; drop table files; --`

// Raw JSON text, so that `1.0` reaches jsonb as written.
const FILES: Record<string, string> = {
  r1: '{"region": "eu", "year": 2024, "public": true, "published": "2024-03-01T10:00:00Z", "score": 1.5}',
  r2: '{"region": "us", "year": 2025, "public": false, "published": "2025-01-15T00:00:00Z", "score": 10}',
  r3: '{"region": "eu", "year": "2025", "public": "true", "published": "2023-12-31T23:59:59Z"}',
  r4: '{}',
  r5: '{"region": "EU", "year": 2023, "score": 2}',
  r6: '{"version": 1.0, "year": 2024.0}',
  r7: JSON.stringify({ [INJECTION_KEY]: "o'brien", region: "eu'; --", score: -3 }),
  r8: '{"region": "ünïcode", "year": 2026, "published": "2026-06-01", "public": true, "score": 1e21}',
}
const ALL = Object.keys(FILES)

const cmp = (type: string, key: string, value: unknown) => ({ type, key, value })
const and = (...filters: unknown[]) => ({ type: 'and', filters })
const or = (...filters: unknown[]) => ({ type: 'or', filters })

/** Filters and the files each must match, exactly. */
const CASES: Array<[name: string, filter: unknown, ids: string[]]> = [
  ['eq on a string', cmp('eq', 'region', 'eu'), ['r1', 'r3']],
  ['eq is case-sensitive', cmp('eq', 'region', 'EU'), ['r5']],
  ['ne: a missing attribute matches', cmp('ne', 'region', 'eu'), ['r2', 'r4', 'r5', 'r6', 'r7', 'r8']],
  ['eq on a number does not match the string "2025"', cmp('eq', 'year', 2025), ['r2']],
  ['eq on a string does not match the number 2025', cmp('eq', 'year', '2025'), ['r3']],
  ['eq: 2024 equals 2024.0', cmp('eq', 'year', 2024), ['r1', 'r6']],
  ['eq: 1 equals 1.0', cmp('eq', 'version', 1), ['r6']],
  ['eq on a boolean does not match the string "true"', cmp('eq', 'public', true), ['r1', 'r8']],
  ['eq on the string "true"', cmp('eq', 'public', 'true'), ['r3']],
  ['ne on a boolean', cmp('ne', 'public', true), ['r2', 'r3', 'r4', 'r5', 'r6', 'r7']],
  ['gt on numbers skips strings and missing', cmp('gt', 'year', 2024), ['r2', 'r8']],
  ['gte on numbers', cmp('gte', 'year', 2024), ['r1', 'r2', 'r6', 'r8']],
  ['lt on numbers', cmp('lt', 'year', 2025), ['r1', 'r5', 'r6']],
  ['lte on decimals and negatives', cmp('lte', 'score', 2), ['r1', 'r5', 'r7']],
  ['gt on large numbers', cmp('gt', 'score', 1e20), ['r8']],
  ['gte on a fraction', cmp('gte', 'score', 1.5), ['r1', 'r2', 'r5', 'r8']],
  ['gt on a string skips numbers', cmp('gt', 'year', '2024'), ['r3']],
  ['gte on ISO dates', cmp('gte', 'published', '2024-01-01'), ['r1', 'r2', 'r8']],
  ['lt on ISO dates', cmp('lt', 'published', '2025'), ['r1', 'r3']],
  ['strings compare by byte: "EU" < "a"', cmp('lt', 'region', 'a'), ['r5']],
  ['strings compare by code point: "ü" > "v"', cmp('gt', 'region', 'v'), ['r8']],
  ['in on strings', cmp('in', 'region', ['eu', 'us']), ['r1', 'r2', 'r3']],
  ['in keeps JSON types apart', cmp('in', 'year', [2024, '2025']), ['r1', 'r3', 'r6']],
  ['nin: a missing attribute matches', cmp('nin', 'region', ['eu', 'us']), ['r4', 'r5', 'r6', 'r7', 'r8']],
  ['eq on a missing key', cmp('eq', 'nothing', 'x'), []],
  ['ne on a missing key', cmp('ne', 'nothing', 'x'), ALL],
  ['nin on a missing key', cmp('nin', 'nothing', ['x', 1]), ALL],
  ['gt on a missing key', cmp('gt', 'nothing', 0), []],
  ['lt on a missing key, string bound', cmp('lt', 'nothing', 'zzz'), []],
  ['and', and(cmp('eq', 'region', 'eu'), cmp('gte', 'year', 2024)), ['r1']],
  ['or', or(cmp('eq', 'region', 'us'), cmp('eq', 'public', true)), ['r1', 'r2', 'r8']],
  [
    'nested and/or',
    or(and(cmp('in', 'region', ['eu', 'EU']), cmp('lt', 'score', 2)), and(cmp('gte', 'published', '2025'), cmp('ne', 'public', true))),
    ['r1', 'r2'],
  ],
  ['five levels deep', and(or(and(or(and(cmp('eq', 'region', 'eu')))))), ['r1', 'r3']],
  ['a key that looks like SQL', cmp('eq', INJECTION_KEY, "o'brien"), ['r7']],
  ['a value that looks like SQL', cmp('eq', 'region', "eu'; --"), ['r7']],
  ['a key that tries to widen the match', cmp('eq', "region' or '1'='1", 'x'), []],
  ['a range value that looks like SQL', cmp('gt', 'region', "' or 1=1 --"), ['r1', 'r2', 'r3', 'r5', 'r7', 'r8']],
  ['a list value that looks like SQL', cmp('in', 'region', ["eu') or true or ('", 'us']), ['r2']],
]

describe('filterToSql', () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>
  let db: DatabaseHandle['db']
  const table = sql.identifier(`filter_test_${randomBytes(6).toString('hex')}`)

  const ids = async (condition: ReturnType<typeof sql>) => {
    const result = await db.execute(sql`select id from ${table} where ${condition} order by id`)
    return (result as unknown as { rows: Array<{ id: string }> }).rows.map((row) => row.id)
  }

  before(async () => {
    database = await freshDatabase()
    db = database.handle.db
    await db.execute(sql`create table ${table} (id text primary key, attributes jsonb not null)`)
    for (const [id, attributes] of Object.entries(FILES)) {
      await db.execute(sql`insert into ${table} (id, attributes) values (${id}, ${attributes}::jsonb)`)
    }
  })

  after(async () => {
    await db.execute(sql`drop table if exists ${table}`)
    await database.drop()
  })

  for (const [name, input, expected] of CASES) {
    it(`${name} matches ${expected.join(', ') || 'nothing'}`, async () => {
      const filter = AttributeFilterSchema.parse(input)
      const condition = filterToSql(filter, sql`attributes`)
      assert.deepEqual(await ids(condition), expected)
      // Never NULL: negating the condition selects exactly the other files.
      assert.deepEqual(await ids(sql`not ${condition}`), ALL.filter((id) => !expected.includes(id)))
    })
  }

  it('keeps the table after the SQL-looking filters', async () => {
    assert.equal((await ids(sql`true`)).length, ALL.length)
  })

  it('binds keys and values as parameters, never as SQL text', () => {
    const filter = AttributeFilterSchema.parse(
      or(cmp('eq', INJECTION_KEY, "o'brien"), cmp('gte', 'published', "2024'--"), cmp('in', 'region', ['eu;', 7]), cmp('lt', 'score', 3.25)),
    )
    const query = new PgDialect().sqlToQuery(filterToSql(filter, sql`attributes`))
    for (const text of [INJECTION_KEY, "o'brien", "2024'--", 'eu;', '3.25', 'published', 'region', 'score']) {
      assert.ok(!query.sql.includes(text), `${text} is in the SQL: ${query.sql}`)
    }
    assert.ok(query.params.includes(INJECTION_KEY))
    assert.ok(query.params.includes('"o\'brien"'))
  })

  it('refuses a hand-built filter the schema would refuse', () => {
    assert.throws(() => filterToSql({ type: 'gt', key: 'a', value: true }, sql`attributes`), TypeError)
    assert.throws(() => filterToSql({ type: 'in', key: 'a', value: [] }, sql`attributes`), TypeError)
    assert.throws(() => filterToSql({ type: 'eq', key: 'a', value: ['x'] }, sql`attributes`), TypeError)
  })
})

/** The field problems a request with `filters: input` would be answered with. */
const filterProblems = (input: unknown) => {
  const result = AttributeFilterSchema.safeParse(input)
  assert.ok(!result.success, 'expected the filter to be refused')
  return fieldProblems(result.error, 'filters')
}

const nested = (depth: number): unknown => (depth === 0 ? cmp('eq', 'a', 1) : and(nested(depth - 1)))

describe('AttributeFilterSchema', () => {
  it('parses comparisons of every type and nested compounds', () => {
    const filter = and(
      cmp('eq', 'a', 'x'),
      cmp('ne', 'a', false),
      cmp('gt', 'a', 1),
      cmp('gte', 'a', '2025-01-01'),
      cmp('lt', 'a', -1.5),
      cmp('lte', 'a', 'z'),
      or(cmp('in', 'a', ['x', 2]), cmp('nin', 'a', [1])),
    )
    assert.deepEqual(AttributeFilterSchema.parse(filter), filter)
    assert.deepEqual(AttributeFilterSchema.parse(nested(5)), nested(5))
  })

  it('accepts at most 50 comparisons and 100 list items', () => {
    const comparisons = (count: number) => or(...Array.from({ length: count }, (_, index) => cmp('eq', 'a', index)))
    assert.ok(AttributeFilterSchema.safeParse(comparisons(50)).success)
    assert.deepEqual(filterProblems(comparisons(51)), [{ path: 'filters', message: 'must have at most 50 comparisons' }])
    const list = (count: number) => cmp('in', 'a', Array.from({ length: count }, (_, index) => index))
    assert.ok(AttributeFilterSchema.safeParse(list(100)).success)
    assert.deepEqual(filterProblems(list(101)), [{ path: 'filters.value', message: "must have at most 100 items for 'in'" }])
  })

  it('refuses compound filters nested more than 5 deep', () => {
    assert.deepEqual(filterProblems(nested(6)), [{ path: 'filters', message: 'compound filters must nest at most 5 deep' }])
  })

  it('refuses a body nested tens of thousands deep without overflowing the stack', () => {
    const levels = 40_000
    const body = `${'{"type":"and","filters":['.repeat(levels)}{"type":"eq","key":"a","value":1}${']}'.repeat(levels)}`
    assert.deepEqual(filterProblems(JSON.parse(body)), [{ path: 'filters', message: 'compound filters must nest at most 5 deep' }])
  })

  it('refuses thousands of empty compounds with one problem', () => {
    const wide = or(...Array.from({ length: 10_000 }, () => and()))
    assert.deepEqual(filterProblems(wide), [{ path: 'filters', message: 'must have at most 250 compound filters' }])
  })

  it('names the field of each problem', () => {
    const types = "'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'and', 'or'"
    const valueTypes = 'must be a string, number, boolean, or an array of strings and numbers'
    const cases: Array<[unknown, Array<{ path: string; message: string }>]> = [
      [cmp('like', 'a', 'x'), [{ path: 'filters.type', message: `must be one of ${types}` }]],
      [{ key: 'a', value: 1 }, [{ path: 'filters.type', message: `must be one of ${types}` }]],
      ['region = eu', [{ path: 'filters', message: 'Invalid input: expected object, received string' }]],
      [cmp('gt', 'a', true), [{ path: 'filters.value', message: "must be a number or a string for 'gt'" }]],
      [cmp('lte', 'a', [1]), [{ path: 'filters.value', message: "must not be an array for 'lte' (use 'in' or 'nin' to match a list)" }]],
      [cmp('eq', 'a', ['x']), [{ path: 'filters.value', message: "must not be an array for 'eq' (use 'in' or 'nin' to match a list)" }]],
      [cmp('eq', 'a', null), [{ path: 'filters.value', message: valueTypes }]],
      [cmp('eq', 'a', { nested: 1 }), [{ path: 'filters.value', message: valueTypes }]],
      [cmp('in', 'a', []), [{ path: 'filters.value', message: "must not be an empty array for 'in'" }]],
      [cmp('nin', 'a', 'x'), [{ path: 'filters.value', message: "must be an array of strings and numbers for 'nin'" }]],
      [cmp('in', 'a', [true]), [{ path: 'filters.value', message: valueTypes }]],
      [cmp('in', 'a', ['ok', 'a\u0000b']), [{ path: 'filters.value.1', message: 'must not contain NUL characters' }]],
      [cmp('eq', 'a', '\udc00'), [{ path: 'filters.value', message: 'must be well-formed Unicode (no lone surrogates)' }]],
      [cmp('eq', '', 1), [{ path: 'filters.key', message: 'must not be empty' }]],
      [cmp('eq', 'k'.repeat(65), 1), [{ path: 'filters.key', message: 'must be at most 64 characters' }]],
      [cmp('eq', 'a\u0000', 1), [{ path: 'filters.key', message: 'must not contain NUL characters' }]],
      [{ ...cmp('eq', 'a', 1), extra: true }, [{ path: 'filters.extra', message: 'is not a known field' }]],
      [and(), [{ path: 'filters.filters', message: 'must not be empty' }]],
      [{ ...and(cmp('eq', 'a', 1)), key: 'a' }, [{ path: 'filters.key', message: 'is not a known field' }]],
      [and(or(cmp('gte', 'a', false))), [{ path: 'filters.filters.0.filters.0.value', message: "must be a number or a string for 'gte'" }]],
    ]
    for (const [input, problems] of cases) assert.deepEqual(filterProblems(input), problems, JSON.stringify(input))
  })

  it('generates an OpenAPI document with named, recursive schemas', () => {
    const app = new OpenAPIHono()
    const Body = z.strictObject({ filters: AttributeFilterSchema.optional(), attributes: AttributesSchema.nullable().optional() })
    const route = createRoute({
      method: 'post',
      path: '/search',
      request: { body: { content: { 'application/json': { schema: Body } } } },
      responses: { 204: { description: 'Searched' } },
    })
    app.openapi(route, (c) => c.body(null, 204))
    const document = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'filters', version: '1' } })
    const schemas = document.components?.schemas ?? {}
    for (const name of ['AttributeFilter', 'ComparisonFilter', 'CompoundFilter', 'VectorStoreFileAttributes']) assert.ok(schemas[name], name)
    assert.deepEqual((schemas.CompoundFilter as any).properties.filters.items, { $ref: '#/components/schemas/AttributeFilter' })
    assert.deepEqual((schemas.ComparisonFilter as any).additionalProperties, false)
    assert.doesNotThrow(() => app.getOpenAPIDocument({ openapi: '3.0.0', info: { title: 'filters', version: '1' } }))
  })
})

describe('AttributesSchema', () => {
  const problems = (input: unknown) => {
    const result = AttributesSchema.safeParse(input)
    assert.ok(!result.success, 'expected the attributes to be refused')
    return fieldProblems(result.error, 'attributes')
  }

  it('parses strings, numbers and booleans under 16 keys', () => {
    const attributes = Object.fromEntries(Array.from({ length: 16 }, (_, index) => [`k${index}`, [`v${index}`, index, index % 2 === 0][index % 3]]))
    assert.deepEqual(AttributesSchema.parse(attributes), attributes)
    assert.deepEqual(AttributesSchema.parse({ ['k'.repeat(64)]: 'x'.repeat(512) }), { ['k'.repeat(64)]: 'x'.repeat(512) })
  })

  it('names the problem of each refused key or value', () => {
    const cases: Array<[unknown, Array<{ path: string; message: string }>]> = [
      [Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, index])), [{ path: 'attributes', message: 'must have at most 16 keys (has 17)' }]],
      [{ '': 1 }, [{ path: 'attributes', message: 'keys must not be empty' }]],
      [{ ['k'.repeat(65)]: 1 }, [{ path: 'attributes', message: `key "${'k'.repeat(64)}…" must be at most 64 characters` }]],
      [{ 'a\u0000': 1 }, [{ path: 'attributes', message: 'key "a\\u0000" must not contain NUL characters' }]],
      [JSON.parse('{"__proto__": "x"}'), [{ path: 'attributes', message: 'key "__proto__" is not allowed' }]],
      [{ a: 'x'.repeat(513) }, [{ path: 'attributes.a', message: 'must be at most 512 characters' }]],
      [{ a: 'x\ud800' }, [{ path: 'attributes.a', message: 'must be well-formed Unicode (no lone surrogates)' }]],
      [{ a: null }, [{ path: 'attributes.a', message: 'must be a string, number or boolean' }]],
      [{ a: ['x'] }, [{ path: 'attributes.a', message: 'must be a string, number or boolean' }]],
      [['x'], [{ path: 'attributes', message: 'Invalid input: expected record, received array' }]],
    ]
    for (const [input, expected] of cases) assert.deepEqual(problems(input), expected, JSON.stringify(input))
  })
})

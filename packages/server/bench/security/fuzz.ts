// Part 2: fuzz. For every operation of the OpenAPI document, requests that are wrong in one
// way each: ids and path segments that are no ids (NUL, lone surrogates, invalid UTF-8,
// traversal, huge), query values of the wrong type or size, every body field replaced by a
// wrong type, a huge or hostile string, a NUL or a lone surrogate, deep JSON, invalid JSON,
// the wrong content type, and malformed HTTP on a raw socket. Nothing may answer 5xx, every
// error must be the JSON error shape, no connection may drop, and the server must stay up.
// Text with a NUL or a lone surrogate in a declared field must be refused (4xx): it must not
// reach the database. The cases are the same on every run for a seed (`--seed`).
import net from 'node:net'
import type { ServerProcess } from '../../test/support/process.ts'
import { api, describe, multipart, outcome, prng, send, streamMessage, type Failure, type Finding, type PartResult, type Prng, type RawRequest, type Reply } from './common.ts'
import { idsFor, type Populated } from './tenants.ts'
import { fillPath, operations, parameterKind, parameterValue, resolve, validBody, type Ids, type Json, type Operation } from './openapi.ts'

type Case = {
  operation: string
  label: string
  request: RawRequest
  /** Carries a NUL or a lone surrogate where the operation reads text: a 2xx is a finding. */
  poisoned: boolean
  /** A body over the size limit: the server may answer 413 and close before reading it all. */
  oversized: boolean
}

/**
 * Path segments that are no ids. Sent raw: they are already percent-encoded (or meant not to be).
 * `%ED%A0%80` is a surrogate encoded as UTF-8, which is invalid UTF-8: a URL cannot carry a lone
 * surrogate, and decoders turn it into U+FFFD, so it is not counted as poisoned (a NUL is).
 */
const BAD_SEGMENTS: Array<{ value: string; poisoned: boolean }> = [
  { value: '%00', poisoned: true }, { value: 'x%00y', poisoned: true }, { value: '%ED%A0%80', poisoned: false }, { value: '%ED%BF%BF', poisoned: false },
  { value: '%FF%FE', poisoned: false }, { value: '%F0%9F%98%80', poisoned: false }, { value: encodeURIComponent('ЗаказБот'), poisoned: false },
  { value: 'a'.repeat(5000), poisoned: false }, { value: '..', poisoned: false }, { value: '%2e%2e', poisoned: false }, { value: '%2F', poisoned: false },
  { value: '%', poisoned: false }, { value: '%zz', poisoned: false }, { value: '%20', poisoned: false }, { value: encodeURIComponent("' or 1=1 --"), poisoned: false },
  { value: '-1', poisoned: false }, { value: '9'.repeat(400), poisoned: false }, { value: encodeURIComponent('${jndi:ldap://x.invalid/a}'), poisoned: false },
  { value: 'bot_%C3%A4', poisoned: false }, { value: `bot_${'x'.repeat(200)}`, poisoned: false },
]

/** Query values of the wrong type, size or encoding. */
const BAD_QUERY: Array<{ value: string; poisoned: boolean }> = [
  { value: '-1', poisoned: false }, { value: '0', poisoned: false }, { value: '1e309', poisoned: false }, { value: '99999999999999999999', poisoned: false },
  { value: 'abc', poisoned: false }, { value: '', poisoned: false }, { value: '%00', poisoned: true }, { value: 'a%00', poisoned: true },
  { value: '%ED%A0%80', poisoned: false }, { value: 'x'.repeat(10_000), poisoned: false }, { value: '%5B%5D', poisoned: false }, { value: 'true', poisoned: false },
  { value: '1.5', poisoned: false }, { value: '%FF', poisoned: false }, { value: '-0', poisoned: false }, { value: '0x10', poisoned: false },
]

const deepArray = (depth: number): unknown => (depth === 0 ? 1 : [deepArray(depth - 1)])
const deepObject = (depth: number): unknown => (depth === 0 ? 1 : { a: deepObject(depth - 1) })

/** Values a body field gets instead of a valid one. */
const BAD_VALUES: Array<{ name: string; value: unknown; poisoned: boolean }> = [
  { name: 'null', value: null, poisoned: false }, { name: 'true', value: true, poisoned: false }, { name: '0', value: 0, poisoned: false },
  { name: '-1', value: -1, poisoned: false }, { name: '1.5', value: 1.5, poisoned: false }, { name: '1e308', value: 1e308, poisoned: false },
  { name: '-1e308', value: -1e308, poisoned: false }, { name: '2^53+1', value: 2 ** 53 + 1, poisoned: false }, { name: 'empty string', value: '', poisoned: false },
  { name: 'huge string', value: 'x'.repeat(200_000), poisoned: false }, { name: 'NUL', value: '\u0000', poisoned: true }, { name: 'NUL inside', value: 'a\u0000b', poisoned: true },
  { name: 'lone high surrogate', value: '\ud800', poisoned: true }, { name: 'lone low surrogate', value: 'x\udfff', poisoned: true },
  { name: 'emoji x1000', value: '😀'.repeat(1000), poisoned: false }, { name: 'empty array', value: [], poisoned: false }, { name: 'empty object', value: {}, poisoned: false },
  { name: 'deep array', value: deepArray(200), poisoned: false }, { name: 'deep object', value: deepObject(200), poisoned: false },
  { name: 'cyrillic', value: 'ЗаказБот', poisoned: false }, { name: 'html', value: '<script>alert(1)</script>', poisoned: false },
  { name: 'sql', value: "'; drop table bots; --", poisoned: false }, { name: 'traversal', value: '../../etc/passwd', poisoned: false },
  { name: 'unicode id', value: 'bot_ñññ', poisoned: false }, { name: 'long id', value: `file_${'z'.repeat(300)}`, poisoned: false },
]

/** A body field: the path to it, and its schema. */
type Field = { path: Array<string | number>; schema: Json }

/** The fields of a body schema down to `depth`: properties, the first item of arrays, a free-form object's entries. */
function fields(document: Json, schema: Json, path: Array<string | number> = [], depth = 0): Field[] {
  const node = resolve(document, schema)
  if (!node || depth > 3) return []
  const found: Field[] = []
  for (const branch of [...(node.anyOf ?? []), ...(node.oneOf ?? [])]) found.push(...fields(document, branch, path, depth + 1).filter((field) => field.path.length > path.length))
  for (const [name, property] of Object.entries<Json>(node.properties ?? {})) {
    found.push({ path: [...path, name], schema: property }, ...fields(document, property, [...path, name], depth + 1))
  }
  if (node.items) found.push({ path: [...path, 0], schema: node.items }, ...fields(document, node.items, [...path, 0], depth + 1))
  if (node.additionalProperties && typeof node.additionalProperties === 'object') found.push({ path: [...path, 'fuzz_key'], schema: node.additionalProperties })
  // One entry per path: unions list the same field once per branch.
  return found.filter((field, index) => found.findIndex((other) => JSON.stringify(other.path) === JSON.stringify(field.path)) === index)
}

/** A copy of `body` with the value at `path` replaced (intermediate objects and arrays made as needed). */
function setAt(body: unknown, path: Array<string | number>, value: unknown): unknown {
  const root = structuredClone(body ?? {}) as any
  let node = root
  for (const [index, key] of path.entries()) {
    if (index === path.length - 1) node[key] = value
    else {
      if (node[key] === null || typeof node[key] !== 'object') node[key] = typeof path[index + 1] === 'number' ? [] : {}
      node = node[key]
    }
  }
  return root
}

/** Whole bodies that are wrong as JSON or as a document. */
function badBodies(valid: string): Array<{ name: string; body: string | Buffer; oversized?: boolean; poisoned?: boolean }> {
  return [
    { name: 'truncated JSON', body: valid.slice(0, Math.max(1, Math.floor(valid.length / 2))) },
    { name: 'invalid JSON', body: '{"a":' }, { name: 'trailing comma', body: '[1,]' }, { name: 'bare word', body: 'nul' }, { name: 'empty', body: '' },
    { name: 'null', body: 'null' }, { name: 'array', body: '[]' }, { name: 'string', body: '"text"' }, { name: 'number', body: '123' },
    { name: 'huge number', body: '1e99999' }, { name: 'BOM', body: `\ufeff${valid}` }, { name: 'duplicate keys', body: valid.replace(/^\{/, '{"name":"dup",') },
    { name: '__proto__', body: valid.replace(/^\{/, '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}},') },
    { name: 'escaped NUL', body: '{"name":"a\\u0000b","text":"\\u0000","query":"\\u0000"}', poisoned: false },
    { name: 'escaped lone surrogate', body: '{"name":"\\ud800","text":"\\udfff","query":"\\ud800"}', poisoned: false },
    { name: 'invalid UTF-8', body: Buffer.from([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0x22, 0x7d]) },
    { name: 'deep JSON (valid, 10k levels)', body: `${'['.repeat(10_000)}${']'.repeat(10_000)}` },
    { name: 'deep JSON (object, 5k levels)', body: `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}` },
    { name: 'deep JSON (unclosed, 100k)', body: '['.repeat(100_000) },
    { name: 'over the body limit (2 MB)', body: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), oversized: true },
  ]
}

/** Content types that do not match the body. */
const BAD_CONTENT_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=nothing', 'application/json; charset=utf-16', 'application/xml', ' application/JSON ', 'application/json, text/plain']

/** Every case of one operation, systematic; the caller trims or tops them up. */
function casesOf(document: Json, operation: Operation, targets: Ids, key: string, random: Prng): Case[] {
  const url = 'https://127.0.0.1/fuzz' // refused without WORKEN_WEBHOOKS_ALLOW_PRIVATE: nothing is ever sent
  const auth = { authorization: `Bearer ${key}` }
  const name = `${operation.method} ${operation.template}`
  const values: Record<string, string> = {}
  const query: Record<string, string> = {}
  for (const parameter of operation.parameters) {
    if (parameter.in === 'path') values[parameter.name] = encodeURIComponent(parameterValue(document, parameter, targets, url) ?? 'x')
    if (parameter.in === 'query' && parameter.name !== 'token' && (parameterKind(parameter) || parameter.required)) query[parameter.name] = encodeURIComponent(parameterValue(document, parameter, targets, url) ?? '')
  }
  const raw = Object.fromEntries(Object.keys(values).map((key) => [key, true]))
  const pathWith = (override: Record<string, string> = {}) => fillPath(operation.template, { ...values, ...override }, raw)
  const queryWith = (override: Record<string, string> = {}) => {
    const entries = Object.entries({ ...query, ...override })
    return entries.length ? `?${entries.map(([k, v]) => `${k}=${v}`).join('&')}` : ''
  }
  const body = validBody(document, operation, targets, url)
  const validJson = body === undefined ? undefined : JSON.stringify(body)
  const form = operation.form && !operation.json ? multipart({ purpose: 'assistants' }, { field: 'file', name: 'fuzz.txt', content: 'fuzz text' }) : undefined
  const base = (): RawRequest => ({
    method: operation.method,
    path: pathWith() + queryWith(),
    headers: { ...auth, ...(validJson !== undefined ? { 'content-type': 'application/json' } : form ? { 'content-type': form.contentType } : {}) },
    body: validJson ?? form?.body,
    streamReadMs: 200,
    timeoutMs: 30_000,
  })
  const cases: Case[] = []
  const add = (label: string, change: (request: RawRequest) => void, flags: { poisoned?: boolean; oversized?: boolean } = {}) => {
    const request = base()
    change(request)
    cases.push({ operation: name, label: `${name} ${label}`, request, poisoned: flags.poisoned ?? false, oversized: flags.oversized ?? false })
  }

  for (const parameter of operation.parameters) {
    if (parameter.in === 'path') {
      for (const bad of BAD_SEGMENTS) add(`path ${parameter.name}=${bad.value.slice(0, 24)}`, (r) => (r.path = pathWith({ [parameter.name]: bad.value }) + queryWith()), { poisoned: bad.poisoned })
      add(`path ${parameter.name} valid id + NUL`, (r) => (r.path = pathWith({ [parameter.name]: `${values[parameter.name]}%00` }) + queryWith()), { poisoned: true })
    }
    if (parameter.in === 'query') {
      for (const bad of BAD_QUERY) add(`query ${parameter.name}=${bad.value.slice(0, 24)}`, (r) => (r.path = pathWith() + queryWith({ [parameter.name]: bad.value })), { poisoned: bad.poisoned })
      add(`query ${parameter.name} twice`, (r) => (r.path = `${pathWith()}${queryWith()}${queryWith() ? '&' : '?'}${parameter.name}=1&${parameter.name}=2`))
    }
    if (parameter.in === 'header') {
      for (const bad of ['-1', 'abc', '9'.repeat(40), '1e5', ' ', '%00']) add(`header ${parameter.name}=${bad}`, (r) => (r.headers![parameter.name] = bad))
    }
  }
  add('unknown query parameter with NUL', (r) => (r.path = `${pathWith()}${queryWith()}${queryWith() ? '&' : '?'}fuzz=%00`))

  if (operation.json) {
    const json = operation.json
    for (const field of fields(document, json.schema)) {
      const shown = field.path.join('.')
      for (const bad of BAD_VALUES) {
        // A NUL or lone surrogate only poisons where the field takes text (or is the key of a free-form object).
        const takesText = JSON.stringify(resolve(document, field.schema) ?? {}).includes('"string"')
        add(`body ${shown}=${bad.name}`, (r) => (r.body = JSON.stringify(setAt(body, field.path, bad.value))), { poisoned: bad.poisoned && takesText })
      }
      if (field.path.at(-1) === 'fuzz_key') {
        add(`body ${shown} key NUL`, (r) => (r.body = JSON.stringify(setAt(body, [...field.path.slice(0, -1), 'k\u0000'], 'v'))), { poisoned: true })
        add(`body ${shown} key lone surrogate`, (r) => (r.body = JSON.stringify(setAt(body, [...field.path.slice(0, -1), '\ud800'], 'v'))), { poisoned: true })
      }
    }
    for (const required of resolve(document, json.schema)?.required ?? []) {
      add(`body without ${required}`, (r) => {
        const copy = structuredClone(body) as Record<string, unknown>
        delete copy[required]
        r.body = JSON.stringify(copy)
      })
    }
    add('body with an unknown field', (r) => (r.body = JSON.stringify({ ...(body as object), fuzz_unknown: 1 })))
    for (const bad of badBodies(validJson ?? '{}')) add(`body ${bad.name}`, (r) => (r.body = bad.body), { oversized: bad.oversized, poisoned: bad.poisoned })
    for (const type of BAD_CONTENT_TYPES) add(`content-type ${type}`, (r) => (r.headers!['content-type'] = type))
    add('no content-type', (r) => delete r.headers!['content-type'])
  }
  if (operation.form) {
    const fieldsOf = Object.keys(resolve(document, operation.form.schema)?.properties ?? {}).filter((field) => field !== 'file')
    const formCase = (label: string, extra: Record<string, string>, file: { name: string; content: string | Buffer; type?: string } | null, flags: { poisoned?: boolean; oversized?: boolean } = {}) =>
      add(label, (r) => {
        const built = multipart({ purpose: 'assistants', ...extra }, file ? { field: 'file', ...file } : undefined)
        r.headers!['content-type'] = built.contentType
        r.body = built.body
      }, flags)
    for (const field of fieldsOf) {
      for (const bad of ['', '\u0000', 'a\u0000b', '\ud800', 'x'.repeat(100_000), '{"a":', 'null', '[]', '-1']) formCase(`form ${field}=${JSON.stringify(bad).slice(0, 20)}`, { [field]: bad }, { name: 'f.txt', content: 'text' }, { poisoned: bad.includes('\u0000') })
    }
    formCase('form without the file', {}, null)
    formCase('form file name with NUL', {}, { name: 'a\u0000b.txt', content: 'text' }, { poisoned: true })
    // UTF-8 cannot carry a lone surrogate: the multipart bytes hold U+FFFD instead, which is valid text.
    formCase('form file name with a lone surrogate', {}, { name: '\ud800.txt', content: 'text' })
    formCase('form file name traversal', {}, { name: '../../../etc/passwd', content: 'text' })
    formCase('form empty file', {}, { name: 'empty.txt', content: '' })
    formCase('form binary file as text', {}, { name: 'bin.txt', content: Buffer.from(Array.from({ length: 512 }, () => random.int(256))) })
    formCase('form file with NUL bytes', {}, { name: 'nul.txt', content: Buffer.from('a\u0000b\u0000c') })
    formCase('form PDF that is not one', {}, { name: 'fake.pdf', content: '%PDF-1.7 garbage', type: 'application/pdf' })
    formCase('form DOCX that is not one', {}, { name: 'fake.docx', content: 'PK\u0003\u0004garbage', type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' })
    formCase('form zip bomb-ish docx', {}, { name: 'z.docx', content: Buffer.alloc(4096, 0x50), type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' })
    add('form broken boundary', (r) => {
      r.headers!['content-type'] = 'multipart/form-data; boundary=abc'
      r.body = '--abc\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\n\r\nno end'
    })
    add('form as JSON', (r) => {
      r.headers!['content-type'] = 'application/json'
      r.body = '{"purpose":"assistants","file":"text"}'
    })
  }
  if (!operation.json && !operation.form && operation.method !== 'GET') add('unexpected body', (r) => {
    r.headers!['content-type'] = 'application/json'
    r.body = '{"unexpected":"\\u0000"}'
  })
  if (operation.method === 'GET') add('GET with a body', (r) => {
    r.headers!['content-type'] = 'application/json'
    r.body = '{"a":1}'
  })
  for (const [label, value] of [['no credentials', null], ['Basic', 'Basic YTpi'], ['Bearer only', 'Bearer'], ['huge key', `Bearer sk-${'a'.repeat(10_000)}`], ['lower-case bearer', `bearer ${key}`], ['key with spaces', `Bearer  ${key}  x`]] as const) {
    add(`authorization ${label}`, (r) => {
      if (value === null) delete r.headers!.authorization
      else r.headers!.authorization = value
    })
  }
  return cases
}

/** Random combinations of the systematic mutations, for operations whose systematic cases are fewer than their share. */
function randomCase(document: Json, operation: Operation, random: Prng, all: Case[]): Case {
  const pick = random.pick(all)
  const request: RawRequest = { ...pick.request, headers: { ...pick.request.headers } }
  // Stack a second mutation: a bad value at a random field of the already-bad body, when it is JSON.
  if (operation.json && typeof request.body === 'string') {
    try {
      const parsed = JSON.parse(request.body)
      const found = fields(document, operation.json.schema)
      if (found.length > 0 && parsed && typeof parsed === 'object') {
        const field = random.pick(found)
        const bad = random.pick(BAD_VALUES)
        request.body = JSON.stringify(setAt(parsed, field.path, bad.value))
        return { ...pick, label: `${pick.label} + ${field.path.join('.')}=${bad.name}`, request, poisoned: pick.poisoned || bad.poisoned }
      }
    } catch {}
  }
  return { ...pick, label: `${pick.label} (again)`, request }
}

/** Malformed HTTP on a raw socket: what Node's parser refuses must be a JSON 4xx (or a close), never a crash. */
export const RAW_CASES: Array<{ name: string; bytes: (key: string) => string | Buffer }> = [
  { name: 'NUL in the request line', bytes: () => 'GET /bots\u0000 HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'NUL in a header value', bytes: (key) => `GET /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\nX-A: a\u0000b\r\n\r\n` },
  { name: 'invalid method', bytes: () => 'G@T /bots HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'HTTP/0.9', bytes: () => 'GET /bots\r\n\r\n' },
  { name: 'HTTP/2.0 request line', bytes: () => 'GET /bots HTTP/2.0\r\nHost: a\r\n\r\n' },
  { name: 'header without colon', bytes: () => 'GET /bots HTTP/1.1\r\nHost: a\r\nBroken header\r\n\r\n' },
  { name: 'header too large (64 KB)', bytes: () => `GET /bots HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n` },
  { name: 'two Content-Length', bytes: (key) => `POST /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 14\r\n\r\n{"name":"two"}` },
  { name: 'Content-Length and chunked', bytes: (key) => `POST /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\ne\r\n{"name":"smug"}\r\n0\r\n\r\n` },
  { name: 'bad chunk size', bytes: (key) => `POST /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n` },
  { name: 'negative Content-Length', bytes: () => 'POST /bots HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n' },
  { name: 'huge Content-Length', bytes: (key) => `POST /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999\r\n\r\n{}` },
  { name: 'absolute-form target', bytes: (key) => `GET http://review.test/bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\n\r\n` },
  { name: 'asterisk target', bytes: () => 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'CONNECT', bytes: () => 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n' },
  { name: 'TRACE', bytes: () => 'TRACE /bots HTTP/1.1\r\nHost: a\r\n\r\n' },
  { name: 'space before colon', bytes: () => 'GET /bots HTTP/1.1\r\nHost : a\r\n\r\n' },
  { name: 'LF line endings only', bytes: (key) => `GET /bots HTTP/1.1\nHost: a\nAuthorization: Bearer ${key}\n\n` },
  { name: 'obsolete line folding', bytes: (key) => `GET /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer\r\n ${key}\r\n\r\n` },
  { name: 'invalid UTF-8 in the target', bytes: () => Buffer.concat([Buffer.from('GET /bots/'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from(' HTTP/1.1\r\nHost: a\r\n\r\n')]) },
  { name: 'pipelined requests', bytes: (key) => `GET /bots HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\n\r\nGET /chats HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${key}\r\n\r\nGET /nope%00 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n` },
  { name: 'random bytes', bytes: () => Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 7919) % 256)) },
]

/**
 * Writes bytes on a fresh socket and reads the answer: until the server closes the socket,
 * or 300 ms after the last byte came, or 3 s in all. The socket is not half-closed after
 * writing: Node's server drops the requests of a client that did (no answer at all), which
 * would hide the answer under test.
 */
export function rawExchange(base: string, bytes: string | Buffer): Promise<{ text: string; closed: boolean }> {
  const url = new URL(base)
  return new Promise((resolve) => {
    let text = ''
    let idle: NodeJS.Timeout | undefined
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(bytes))
    const timer = setTimeout(() => done(false), 3000)
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
      clearTimeout(idle)
      idle = setTimeout(() => done(false), 300)
    })
    socket.on('error', () => {})
    socket.on('close', () => done(true))
    function done(closed: boolean) {
      clearTimeout(timer)
      clearTimeout(idle)
      socket.destroy()
      resolve({ text, closed })
    }
  })
}

export type FuzzOptions = { requests: number; seed: number; concurrency: number }

/**
 * Keeps the fuzz's targets alive: a case that is accepted may delete what later cases aim at
 * (the bot, the chat, a file…). Missing ones are made again before each operation's cases.
 */
async function ensureTargets(base: string, key: string, targets: Populated): Promise<void> {
  const ids = targets.ids
  const exists = async (path: string) => (await api(base, key, 'GET', path)).status === 200
  if (!(await exists(`/bots/${ids.bot}`))) ids.bot = (await api(base, key, 'POST', '/bots', { name: 'fuzz bot' }) as Reply).json.id
  if (!(await exists(`/chats/${ids.chat}`))) ids.chat = (await api(base, key, 'POST', '/chats', { bot_id: ids.bot, name: 'fuzz chat' }) as Reply).json.id
  if (!(await exists(`/threads/${ids.thread}`))) await streamMessage(base, key, ids.chat!, ids.thread!, 'fuzz thread')
  if (!(await exists(`/files/${ids.file}`))) {
    const form = multipart({ purpose: 'assistants' }, { field: 'file', name: 'fuzz.txt', content: 'fuzz target text' })
    ids.file = (await send(base, { method: 'POST', path: '/files', headers: { authorization: `Bearer ${key}`, 'content-type': form.contentType }, body: form.body }) as Reply).json.id
  }
  if (!(await exists(`/vector_stores/${ids.vs}`))) ids.vs = (await api(base, key, 'POST', '/vector_stores', { name: 'fuzz store', file_ids: [ids.file] }) as Reply).json.id
  else if (!(await exists(`/vector_stores/${ids.vs}/files/${ids.file}`))) await api(base, key, 'POST', `/vector_stores/${ids.vs}/files`, { file_id: ids.file })
  const keys = await api(base, key, 'GET', `/projects/${ids.prj}/api-keys?limit=1000`)
  if ('json' in keys && !keys.json.some((k: any) => k.id === ids.key)) ids.key = (await api(base, key, 'POST', `/projects/${ids.prj}/api-keys`, { name: 'fuzz target' }) as Reply).json.id
}

/** Operations that remove what they name come last, so that the others find their targets. */
function destructive(operation: Operation): boolean {
  return operation.method === 'DELETE' || /\/(delete|cancel)$/.test(operation.template) || operation.template.includes('{approval_id}')
}

export async function fuzz(server: ServerProcess, document: Json, key: string, targets: Populated, options: FuzzOptions): Promise<PartResult> {
  const base = server.publicUrl
  const random = prng(options.seed)
  const findings: Finding[] = []
  const ordered = [...operations(document)].sort((a, b) => Number(destructive(a)) - Number(destructive(b)))
  // A little over the target: the cases node:http refuses on this side are not counted.
  const share = Math.ceil(((options.requests - RAW_CASES.length) * 1.02) / ordered.length)
  let sent = 0
  let serverErrors = 0
  let notJson = 0
  let dropped = 0
  let cutOversized = 0
  let poisonedAccepted = 0
  const unsent: string[] = []
  const notRefused422: string[] = []
  let poisonedCases = 0
  const statuses = new Map<number, number>()

  const check = (test: Case, reply: Reply | Failure) => {
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
    if ('error' in reply) {
      // A body over the limit is answered 413 and the connection closed before all of it is read.
      if (test.oversized && /EPIPE|ECONNRESET/.test(reply.error)) {
        cutOversized++
        return
      }
      dropped++
      findings.push({ part: 'fuzz', summary: `${test.label}: no answer (${reply.error})`, request: describe(test.request, 200), response: outcome(reply) })
      return
    }
    if (reply.status >= 500) {
      serverErrors++
      findings.push({ part: 'fuzz', summary: `${test.label}: ${reply.status}`, request: describe(test.request, 200), response: outcome(reply) })
    }
    if (reply.status >= 400 && (!reply.contentType.startsWith('application/json') || typeof reply.json?.error !== 'string' || typeof reply.json?.code !== 'string')) {
      notJson++
      findings.push({ part: 'fuzz', summary: `${test.label}: ${reply.status} without the JSON error shape`, request: describe(test.request, 200), response: outcome(reply) })
    }
    // Issue 13: text with a NUL or a lone surrogate in a body or query is a 422 naming the field (path ids: 404).
    // `last_event_id` is a position, not text: anything but a number is a 400 (docs/events.md).
    if (test.poisoned && !test.label.includes(' path ') && !test.label.includes('query last_event_id=') && reply.status !== 422) {
      notRefused422.push(`${reply.status} ${test.label}`)
    }
    if (test.poisoned) poisonedCases++
    if (test.poisoned && reply.status >= 200 && reply.status < 300) {
      poisonedAccepted++
      findings.push({ part: 'fuzz', summary: `${test.label}: NUL or lone surrogate accepted (${reply.status})`, request: describe(test.request, 200), response: outcome(reply) })
    }
  }

  for (const operation of ordered) {
    await ensureTargets(base, key, targets)
    const ids = idsFor(targets, operation.template)
    let cases = casesOf(document, operation, ids, key, random)
    // Each operation gets the same share: trimmed at random (seeded), or topped up with stacked mutations.
    if (cases.length > share) {
      const shuffled = cases.map((test) => [random.next(), test] as const).sort(([a], [b]) => a - b).map(([, test]) => test)
      cases = shuffled.slice(0, share)
    } else {
      const systematic = [...cases]
      while (cases.length < share) cases.push(randomCase(document, operation, random, systematic))
    }
    let next = 0
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (next < cases.length) {
        const test = cases[next++]!
        const reply = await send(base, test.request)
        // Refused by node:http on this side: it never reached the server, so it is not counted.
        if ('error' in reply && reply.error.startsWith('not sent')) {
          unsent.push(test.label)
          continue
        }
        sent++
        check(test, reply)
      }
    }))
  }

  let rawBad = 0
  for (const test of RAW_CASES) {
    sent++
    const { text, closed } = await rawExchange(base, test.bytes(key))
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    const body = text.split('\r\n\r\n').slice(1).join('\r\n\r\n')
    // No answer is acceptable only for CONNECT (Node closes the socket when nothing handles it).
    const bad = status >= 500 || (status >= 400 && !/^\s*(?:[0-9a-f]+\r\n)?\{"error"/.test(body)) || (status === 0 && test.name !== 'CONNECT')
    if (bad) {
      rawBad++
      findings.push({ part: 'fuzz', summary: `raw HTTP, ${test.name}: ${status || 'no status'}${closed ? '' : ', left open'}`, request: String(test.bytes('sk-…')).slice(0, 200), response: text.slice(0, 300) })
    }
    if (status >= 500) serverErrors++
  }

  const alive = server.child.exitCode === null && server.child.signalCode === null && (await send(base, { method: 'GET', path: '/healthz' })).status === 200
  const statusText = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status || 'none'}×${count}`).join(' ')
  return {
    figures: [
      { figure: 'fuzz requests', value: sent, expected: `≥ ${options.requests}`, ok: sent >= options.requests, note: `seed ${options.seed}; ${ordered.length} operations + ${RAW_CASES.length} raw HTTP; answers ${statusText}${unsent.length ? `; ${unsent.length} refused by the client library, not counted` : ''}` },
      { figure: 'fuzz 5xx', value: serverErrors, expected: '0', ok: serverErrors === 0 },
      { figure: 'fuzz errors not in the JSON shape', value: notJson + rawBad, expected: '0', ok: notJson + rawBad === 0 },
      { figure: 'fuzz connections dropped', value: dropped, expected: '0', ok: dropped === 0, note: cutOversized ? `besides ${cutOversized} bodies over the limit cut after the 413` : undefined },
      { figure: 'fuzz NUL / lone surrogate accepted', value: poisonedAccepted, expected: '0', ok: poisonedAccepted === 0, note: `${poisonedCases} requests carried one in a path, query, body or form field` },
      { figure: 'fuzz NUL / lone surrogate in body or query not 422', value: notRefused422.length, expected: '0', ok: notRefused422.length === 0, note: notRefused422.length ? notRefused422.slice(0, 5).join('; ') : undefined },
      { figure: 'server up after the fuzz', value: alive ? 'yes' : 'NO', expected: 'yes', ok: alive },
    ],
    findings,
  }
}

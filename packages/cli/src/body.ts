import fs from 'node:fs'
import { CliError, EXIT } from './exit-codes.ts'

/**
 * The JSON body of a command, from `--data` (JSON text, `@file.json`, or `-`
 * for stdin) with `--set key=value` pairs applied on top. A value is JSON when it
 * parses as JSON (`--set enabled=false`, `--set limit=5`, `--set 'tags=["a"]'`),
 * else a string (`--set name=Sales Bot`); dotted keys make nested objects
 * (`--set ai.model.id=local/echo`).
 */
export async function buildBody(data: string | undefined, sets: string[], stdin: NodeJS.ReadableStream = process.stdin): Promise<Record<string, unknown> | undefined> {
  let body: Record<string, unknown> | undefined
  if (data !== undefined) {
    const text = data === '-' ? await readAll(stdin) : data.startsWith('@') ? readFile(data.slice(1)) : data
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new CliError(`--data is not valid JSON: ${text.length > 60 ? `${text.slice(0, 60)}…` : text}`, EXIT.usage)
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError('--data must be a JSON object', EXIT.usage)
    body = parsed as Record<string, unknown>
  }
  for (const pair of sets) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new CliError(`--set takes key=value, not '${pair}'`, EXIT.usage)
    body ??= {}
    assign(body, pair.slice(0, at).split('.'), parseValue(pair.slice(at + 1)))
  }
  return body
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function assign(target: Record<string, unknown>, keys: string[], value: unknown): void {
  const [key, ...rest] = keys
  if (!key) throw new CliError('--set has an empty key', EXIT.usage)
  if (rest.length === 0) {
    target[key] = value
    return
  }
  const next = target[key]
  const child = next && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {}
  target[key] = child
  assign(child, rest, value)
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`, EXIT.usage)
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = ''
  for await (const chunk of stream) text += chunk.toString()
  return text
}

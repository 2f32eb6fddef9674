import fs from 'node:fs'
import path from 'node:path'
import { Command, Option } from 'commander'
import { OPERATIONS, type OperationId, type OperationSpec, type WorkenClient } from '@worken/sdk'
import { buildBody } from './body.ts'
import { CliError, EXIT } from './exit-codes.ts'
import { print, type Printer } from './output.ts'
import { printStreamEvent } from './stream-output.ts'

export type CommandContext = {
  client(): WorkenClient
  printer(): Printer
  signal: AbortSignal
}

/** Health checks are for load balancers, not people: `worken serve` and `/healthz` cover them. */
const LEFT_OUT = new Set(['health.live', 'health.ready'])

/** `webhookEndpoints` → `webhook-endpoints`: the CLI's spelling of an operationId segment. */
export function kebab(segment: string): string {
  return segment.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
}

/** The command words of an operation: `bots.settings.update` → `bots settings update`. */
export function commandPath(operationId: string): string[] {
  return operationId.split('.').map(kebab)
}

export function exposedOperations(): Array<[string, OperationSpec]> {
  return (Object.entries(OPERATIONS) as Array<[string, OperationSpec]>).filter(([operationId]) => !LEFT_OUT.has(operationId))
}

/**
 * One command per API operation, named by its operationId: path parameters
 * are arguments in path order, query parameters are options, a JSON body comes
 * from `--data`/`--set`, an upload from `--file`. New server endpoints appear
 * here when the SDK is regenerated, with no change to the CLI.
 */
export function addOperationCommands(program: Command, context: CommandContext): void {
  for (const [operationId, spec] of exposedOperations()) {
    const words = commandPath(operationId)
    let parent = program
    for (const word of words.slice(0, -1)) {
      parent = parent.commands.find((command) => command.name() === word) ?? parent.command(word).description(`${word} commands`)
    }
    const command = parent.command(words.at(-1)!).description(`${spec.summary}  [${spec.method} ${spec.path}]`)
    for (const name of spec.pathParams) command.argument(`<${name}>`)
    for (const name of spec.queryParams) {
      if (name === 'token') continue
      command.option(`--${kebab(name).replace(/_/g, '-')} <value>`, `query parameter ${name}`)
    }
    if (spec.requestBody !== 'none') {
      command.option('-d, --data <json>', 'the request body: JSON, @file.json, or - for stdin')
      command.option('--set <key=value>', 'a body field (repeatable; dotted keys nest; JSON values parsed)', (value: string, previous: string[] = []) => [...previous, value])
    }
    if (spec.requestBody === 'multipart') command.addOption(new Option('--file <path>', 'the file to upload').makeOptionMandatory())
    if (spec.response === 'binary') command.option('-o, --output <file>', 'write the content to this file (default: stdout)')
    if (spec.pagination !== 'none') command.option('--all', 'follow the pages and print every item')
    command.action(async (...args: unknown[]) => {
      const self = args.at(-1) as Command
      const options = self.opts<Record<string, unknown>>()
      const params = Object.fromEntries(spec.pathParams.map((name, index) => [name, String(args[index])]))
      const query: Record<string, string> = {}
      for (const name of spec.queryParams) {
        const value = options[camel(name)]
        if (typeof value === 'string') query[name] = value
      }
      let body: unknown = spec.requestBody === 'none' ? undefined : await buildBody(options.data as string | undefined, (options.set as string[] | undefined) ?? [])
      if (spec.requestBody === 'multipart') body = formOf(options.file as string, body as Record<string, unknown> | undefined)
      await runOperation(context, operationId, spec, { params, query, body, all: options.all === true, output: options.output as string | undefined })
    })
  }
}

async function runOperation(
  context: CommandContext,
  operationId: string,
  spec: OperationSpec,
  request: { params: Record<string, string>; query: Record<string, string>; body: unknown; all: boolean; output: string | undefined },
): Promise<void> {
  const client = context.client()
  const printer = context.printer()
  const call = { params: request.params, query: request.query, body: request.body, signal: context.signal }
  if (spec.response === 'sse') {
    const stream = (await client.call(operationId as OperationId, call)) as AsyncIterable<unknown>
    for await (const event of stream) printStreamEvent(printer, event)
    return
  }
  if (spec.response === 'binary') {
    const response = (await client.call(operationId as OperationId, call)) as Response
    const bytes = new Uint8Array(await response.arrayBuffer())
    if (request.output) fs.writeFileSync(request.output, bytes)
    else printer.out.write(bytes)
    return
  }
  if (request.all && spec.pagination !== 'none') {
    const items: unknown[] = []
    for await (const item of (await client.call(operationId as OperationId, call)) as AsyncIterable<unknown>) items.push(item)
    print(printer, items)
    return
  }
  print(printer, await client.call(operationId as OperationId, call))
}

function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase())
}

function formOf(file: string, fields: Record<string, unknown> | undefined): FormData {
  let bytes: Buffer
  try {
    bytes = fs.readFileSync(file)
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`, EXIT.usage)
  }
  const form = new FormData()
  for (const [name, value] of Object.entries(fields ?? {})) form.set(name, typeof value === 'string' ? value : JSON.stringify(value))
  form.set('file', new File([bytes], path.basename(file)))
  return form
}

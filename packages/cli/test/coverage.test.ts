import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { it } from 'node:test'
import type { Command } from 'commander'
import { buildProgram } from '../src/program.ts'
import { commandPath } from '../src/operations.ts'
import { MAIN } from './support.ts'

const document = JSON.parse(fs.readFileSync(new URL('../../../docs/openapi.json', import.meta.url), 'utf8'))
/** Left out on purpose, with the reason in the README: probes for load balancers. */
const LEFT_OUT = ['health.live', 'health.ready']

function find(program: Command, words: string[]): Command | undefined {
  let command: Command | undefined = program
  for (const word of words) command = command?.commands.find((sub) => sub.name() === word)
  return command
}

it('has a command for every operation of the OpenAPI document, named from its operationId', () => {
  const program = buildProgram({ signal: new AbortController().signal })
  const missing: string[] = []
  for (const [route, item] of Object.entries<Record<string, any>>(document.paths)) {
    for (const [method, operation] of Object.entries<any>(item)) {
      if (LEFT_OUT.includes(operation.operationId)) continue
      const command = find(program, commandPath(operation.operationId))
      if (!command) {
        missing.push(`${operation.operationId} (${method.toUpperCase()} ${route})`)
        continue
      }
      const pathParams = (operation.parameters ?? []).filter((parameter: any) => parameter.in === 'path').map((parameter: any) => parameter.name)
      assert.deepEqual(command.registeredArguments.map((argument) => argument.name()), pathParams, operation.operationId)
    }
  }
  assert.deepEqual(missing, [])
})

it('spells operationId segments in kebab case', () => {
  assert.deepEqual(commandPath('webhookEndpoints.deliveries.list'), ['webhook-endpoints', 'deliveries', 'list'])
  assert.deepEqual(commandPath('projects.apiKeys.create'), ['projects', 'api-keys', 'create'])
  assert.deepEqual(commandPath('threads.events.streamThread'), ['threads', 'events', 'stream-thread'])
})

it('runs as `node src/main.ts`, without the source condition flag (the entry adds it)', () => {
  const run = spawnSync(process.execPath, [MAIN, '--version'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } })
  assert.equal(run.status, 0, run.stderr)
  assert.equal(run.stdout.trim(), '0.1.0')
})

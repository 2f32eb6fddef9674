import assert from 'node:assert/strict'
import path from 'node:path'
import { describe, it } from 'node:test'
import { circles, importGraph, layerViolations, type ImportGraph } from '../../scripts/import-graph.ts'

const SRC = path.join(import.meta.dirname, '../../src')

/** A graph from `from: [to, …]` pairs, for checking the rules themselves. */
const graphOf = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]))

describe('architecture (docs/architecture.md)', () => {
  it('has no import circle in the source', () => {
    assert.deepEqual(circles(importGraph(SRC)), [])
  })

  it('keeps the layers: the platform imports no module, modules reach each other only through index.ts', () => {
    assert.deepEqual(layerViolations(importGraph(SRC)), [])
  })

  it('the rules catch what they are for', () => {
    const bad = graphOf({
      'platform/http/auth.ts': ['modules/projects/index.ts'],
      'modules/agent/turn.ts': ['modules/conversations/tables.ts', 'modules/bots/index.ts', 'platform/db/client.ts', 'services.ts'],
      'modules/bots/index.ts': [],
      'modules/conversations/tables.ts': [],
      'platform/db/client.ts': [],
      'services.ts': ['modules/agent/turn.ts'],
    })
    assert.deepEqual(layerViolations(bad), [
      'platform/http/auth.ts → modules/projects/index.ts: the platform imports no module',
      'modules/agent/turn.ts → modules/conversations/tables.ts: another module is reached through modules/conversations/index.ts',
      'modules/agent/turn.ts → services.ts: a module does not import the composition root',
    ])
    assert.deepEqual(circles(bad), [['modules/agent/turn.ts', 'services.ts']])
  })
})

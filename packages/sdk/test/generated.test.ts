import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { test } from 'node:test'
import { hashHeader, renderOperations } from '../scripts/render-operations.ts'

const spec = fs.readFileSync(new URL('../../../docs/openapi.json', import.meta.url))
const sha256 = createHash('sha256').update(spec).digest('hex')
const REGENERATE = 'run `npm run generate -w @worken/sdk` (docs/openapi.json changed since they were generated)'

for (const file of ['api.ts', 'operations.ts']) {
  test(`src/generated/${file} was generated from the current docs/openapi.json`, () => {
    const text = fs.readFileSync(new URL(`../src/generated/${file}`, import.meta.url), 'utf8')
    const recorded = /^\/\/ openapi\.json sha256: ([0-9a-f]{64})$/m.exec(text)?.[1]
    assert.ok(recorded, `src/generated/${file} has no hash header: ${REGENERATE}`)
    assert.equal(recorded, sha256, `src/generated/${file} is stale: ${REGENERATE}`)
  })
}

test('src/generated/operations.ts is exactly what the generator renders (no hand edits)', () => {
  const text = fs.readFileSync(new URL('../src/generated/operations.ts', import.meta.url), 'utf8')
  assert.ok(text.includes(hashHeader(sha256)))
  assert.equal(text, renderOperations(JSON.parse(spec.toString('utf8')), sha256), REGENERATE)
})

test('api.ts declares every operationId of the document', () => {
  const text = fs.readFileSync(new URL('../src/generated/api.ts', import.meta.url), 'utf8')
  const document = JSON.parse(spec.toString('utf8'))
  for (const item of Object.values<Record<string, { operationId?: string }>>(document.paths)) {
    for (const operation of Object.values(item)) {
      if (operation?.operationId) assert.ok(text.includes(`"${operation.operationId}": {`), operation.operationId)
    }
  }
})

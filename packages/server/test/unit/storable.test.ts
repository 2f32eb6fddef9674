import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { storableJson, storableText } from '../../src/platform/db/storable.ts'
import { buildTools } from '../../src/modules/agent/tools.ts'
import { defaultBotSettings } from '../../src/modules/bots/index.ts'
import { AppError } from '../../src/platform/errors.ts'

describe('storable text (what a model writes, made storable instead of refused)', () => {
  it('turns NUL and lone surrogates into U+FFFD and leaves everything else alone', () => {
    assert.equal(storableText('a\u0000b'), 'a\uFFFDb')
    assert.equal(storableText('x \ud800 y'), 'x \uFFFD y')
    assert.equal(storableText('emoji 😀 and ё'), 'emoji 😀 and ё')
    const clean = { a: ['b', { c: 1 }] }
    assert.equal(storableJson(clean), clean, 'the same object when nothing changes')
    assert.deepEqual(storableJson({ 'k\u0000': ['v\ud800', 2, null, { deep: 'x\u0000' }] }), { 'k\uFFFD': ['v\uFFFD', 2, null, { deep: 'x\uFFFD' }] })
  })
})

describe("a tool's failure", () => {
  const settings = defaultBotSettings()
  settings.ai.memory.workingMemory.enabled = true
  const failing = (error: Error) => buildTools(settings, {
    projectId: 'prj_x',
    thread: { handOff: async () => { throw error }, updateWorkingMemory: async () => { throw error } },
  })
  const run = (tools: ReturnType<typeof failing>) => (tools.updateWorkingMemory!.execute as (input: unknown, options: unknown) => Promise<unknown>)({ memory: 'm' }, { toolCallId: 'c', messages: [] })

  it('does not tell the model (or the stream, or the stored tool message) what an unexpected error says', async () => {
    await assert.rejects(run(failing(new Error('Failed query: update "threads" … params: secret,prj_other'))), (error: Error) => {
      assert.equal(error.message, 'The updateWorkingMemory tool failed')
      return true
    })
  })

  it('passes on an AppError, whose message is written for clients', async () => {
    await assert.rejects(run(failing(AppError.notFound('Thread', 't-1'))), /Thread 't-1' not found/)
  })
})

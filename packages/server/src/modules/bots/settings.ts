import { z } from '@hono/zod-openapi'
import { idField, safeText } from '../../platform/http/fields.ts'

const toolPolicy = z.enum(['user_approve', 'operator_approve', 'auto'])
const toolName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'tool names are 1–64 letters, digits, _ or -')

/** Leaf fields, shared by the full schema and the patch schema so they cannot drift. */
const modelFields = {
  id: safeText().regex(/^[a-z0-9][a-z0-9._-]*\/[^\s\u0000]{1,200}$/, 'must look like provider/model, e.g. openai/gpt-4o-mini'),
  temperature: z.number().min(0).max(2),
  max_tokens: z.number().int().min(1).max(1_000_000),
  top_p: z.number().min(0).max(1),
  frequency_penalty: z.number().min(-2).max(2),
  presence_penalty: z.number().min(-2).max(2),
}
const workingMemoryFields = { enabled: z.boolean() }
const memoryFields = {
  lastMessages: z.number().int().min(0).max(100),
  semanticRecall: z.boolean(),
  generateTitle: z.boolean(),
}
const formattingFields = { removeEmojis: z.boolean(), removeMarkdown: z.boolean() }
const instruction = safeText().max(100_000, 'must be at most 100000 characters')

const MAX_KNOWLEDGE_STORES = 10
const vectorStoreIds = z
  .array(idField('a vector store id'))
  .max(MAX_KNOWLEDGE_STORES, `must name at most ${MAX_KNOWLEDGE_STORES} vector stores`)
  .refine((ids) => new Set(ids).size === ids.length, 'must not name a vector store twice')
const maxNumResults = z.number().int().min(1).max(50)

export const BotSettingsSchema = z.strictObject({
  ai: z.strictObject({
    instruction,
    model: z.strictObject(modelFields),
    memory: z.strictObject({ ...memoryFields, workingMemory: z.strictObject(workingMemoryFields) }),
    formatting: z.strictObject(formattingFields),
    tools: z.record(toolName, toolPolicy),
    // Optional: settings stored before it existed lack it, and turns read stored settings as they are.
    knowledge: z.strictObject({
      vector_store_ids: vectorStoreIds.default([]),
      max_num_results: maxNumResults.default(5),
    }).optional().openapi({ description: 'Extension: the vector stores the `file_search` tool searches (docs/bots.md). Absent means none.' }),
  }),
}).openapi('BotSettings', {
  example: {
    ai: {
      instruction: 'You are a sales assistant. Focus on product benefits.',
      model: { id: 'openai/gpt-4o', temperature: 0.7, max_tokens: 1024, top_p: 1, frequency_penalty: 0, presence_penalty: 0 },
      memory: { lastMessages: 10, semanticRecall: false, workingMemory: { enabled: false }, generateTitle: true },
      formatting: { removeEmojis: false, removeMarkdown: false },
      tools: { file_search: 'auto', handoff_to_operator: 'auto' },
      knowledge: { vector_store_ids: ['vs_01jdq3v5k7m9p2r4t6w8y0a2c4'], max_num_results: 5 },
    },
  },
})

export type BotSettings = z.infer<typeof BotSettingsSchema>

/**
 * The body of `POST /bots/:id/settings`: any subset of BotSettings, unknown keys
 * refused at every level. A tool set to `null` is removed from `tools`; arrays
 * (`knowledge.vector_store_ids`) are replaced whole.
 */
export const BotSettingsPatchSchema = z.strictObject({
  ai: z.strictObject({
    instruction,
    model: z.strictObject(modelFields).partial(),
    memory: z.strictObject({ ...memoryFields, workingMemory: z.strictObject(workingMemoryFields).partial() }).partial(),
    formatting: z.strictObject(formattingFields).partial(),
    tools: z.record(toolName, toolPolicy.nullable()),
    // No defaults here: a patch that leaves a field out must not reset it.
    knowledge: z.strictObject({ vector_store_ids: vectorStoreIds, max_num_results: maxNumResults }).partial(),
  }).partial(),
}).partial().openapi('BotSettingsPatch', {
  example: { ai: { instruction: 'You are a sales assistant. Focus on product benefits.', model: { id: 'openai/gpt-4o', temperature: 0.7 } } },
})

export type BotSettingsPatch = z.infer<typeof BotSettingsPatchSchema>

export const DEFAULT_INSTRUCTION = 'You are a helpful assistant.'

/** What a new bot starts with; documented in docs/bots.md. */
export function defaultBotSettings(): BotSettings {
  return {
    ai: {
      instruction: DEFAULT_INSTRUCTION,
      model: {
        id: 'openai/gpt-4o-mini',
        temperature: 0.7,
        max_tokens: 1024,
        top_p: 1,
        frequency_penalty: 0,
        presence_penalty: 0,
      },
      memory: {
        lastMessages: 10,
        semanticRecall: false,
        workingMemory: { enabled: false },
        generateTitle: true,
      },
      formatting: { removeEmojis: false, removeMarkdown: false },
      tools: {},
    },
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/**
 * Deep merge in the manner of JSON Merge Patch (RFC 7396): objects merge key by
 * key, everything else replaces, and `null` removes a key. The caller validates
 * the result as a whole.
 */
export function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const base: { [key: string]: Json } = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key]
    else base[key] = mergePatch(base[key] ?? null, value)
  }
  return base
}

/** Applies a validated patch and validates the merged whole (throws a ZodError if it is not valid). */
export function applySettingsPatch(current: BotSettings, patch: BotSettingsPatch): BotSettings {
  return BotSettingsSchema.parse(mergePatch(current as unknown as Json, patch as unknown as Json))
}

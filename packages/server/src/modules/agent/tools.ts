import { tool, type ToolSet } from 'ai'
import { z } from 'zod'
import type { BotSettings } from '../bots/index.ts'
import type { KnowledgeSearch } from '../knowledge/index.ts'
import type { Logger } from 'pino'
import { AppError } from '../../platform/errors.ts'

/**
 * What tools may do to the conversation they run in. The conversations module
 * implements it (each action is one transaction with its outbox events), so the
 * agent never writes a conversation's rows itself.
 */
export type ThreadActions = {
  /** Hands the thread to a human operator (mode `manual`); a no-op when it already is. */
  handOff(reason: string): Promise<void>
  /** Replaces the thread's working memory document. */
  updateWorkingMemory(markdown: string): Promise<void>
}

export type ToolContext = {
  projectId: string
  thread: ThreadActions
  /** Search over the project's vector stores; without it `file_search` is not offered. */
  knowledge?: KnowledgeSearch | undefined
  /** Where a tool's unexpected failure is recorded (the model only hears that it failed). */
  logger?: Logger | undefined
}

type ToolPolicy = BotSettings['ai']['tools'][string]

/**
 * Built-in tools, by the name a bot's `ai.tools` uses. A tool is offered to the
 * model when the settings enable it and it can work here (a maker answers
 * `null` when it cannot); its policy decides whether it runs at once or waits
 * for a person.
 */
const REGISTRY: Record<string, (context: ToolContext, settings: BotSettings) => ToolSet[string] | null> = {
  handoff_to_operator: (context) =>
    tool({
      description:
        'Hand this conversation to a human operator when the user asks for a person, or when you cannot help. After calling it, tell the user briefly that an operator will reply.',
      inputSchema: z.object({ reason: z.string().describe('Why a human should take over, for the operator') }),
      execute: async ({ reason }) => {
        await context.thread.handOff(reason)
        return { handedOff: true }
      },
    }),
  file_search: fileSearch,
  updateWorkingMemory: (context, settings) => (settings.ai.memory.workingMemory.enabled ? updateWorkingMemory(context) : null),
}

/**
 * Searches the bot's knowledge bases (`ai.knowledge`). Not offered without
 * stores: a tool that can only fail would cost the model a step. The search
 * is scoped to the turn's project, so a store deleted since finds nothing.
 */
function fileSearch(context: ToolContext, settings: BotSettings): ToolSet[string] | null {
  const knowledge = settings.ai.knowledge
  const search = context.knowledge
  if (!search || !knowledge || knowledge.vector_store_ids.length === 0) return null
  return tool({
    description:
      "Search the company's documents (its knowledge base) for passages relevant to a query. Use it to look things up before answering questions about the company, its products or policies, rather than guessing. Base your answer on the passages found and cite the file name of each one you use.",
    inputSchema: z.object({ query: z.string().min(1).max(1000).describe('What to look for, in words likely to appear in the documents') }),
    execute: async ({ query }) => {
      const { results } = await search.search({
        projectId: context.projectId,
        vectorStoreIds: knowledge.vector_store_ids,
        queries: [query],
        maxResults: knowledge.max_num_results,
      })
      // Only what the model needs to answer and cite: no attributes, ids of stores or content parts.
      return {
        results: results.map((result) => ({
          file_id: result.file_id,
          filename: result.filename,
          score: Math.round(result.score * 1000) / 1000,
          text: result.content.map((part) => part.text).join('\n'),
        })),
      }
    },
  })
}


function updateWorkingMemory(context: ToolContext): ToolSet[string] {
  return tool({
    description: 'Replace the working memory document of this conversation with an updated version (the whole Markdown document).',
    inputSchema: z.object({ memory: z.string().describe('The complete updated working memory, in Markdown') }),
    execute: async ({ memory }) => {
      await context.thread.updateWorkingMemory(memory)
      return { success: true }
    },
  })
}

/**
 * Each offered tool's policy: what `ai.tools` says, or `auto` for the tools another
 * setting turns on (`updateWorkingMemory` with working memory). Listing such a tool
 * in `ai.tools` sets its policy, like any other.
 */
export function toolPolicies(settings: BotSettings): Record<string, ToolPolicy> {
  const policies: Record<string, ToolPolicy> = { ...settings.ai.tools }
  if (settings.ai.memory.workingMemory.enabled) policies.updateWorkingMemory ??= 'auto'
  return policies
}

/**
 * The tools of one turn. Every tool, built-in or switched on by another setting,
 * passes this one policy step: nothing is offered without its policy applied.
 */
export function buildTools(settings: BotSettings, context: ToolContext): ToolSet {
  const tools: ToolSet = {}
  for (const [name, policy] of Object.entries(toolPolicies(settings))) {
    const made = REGISTRY[name]?.(context, settings)
    if (!made) continue
    const built = guarded(name, made, context)
    tools[name] = needsApproval(policy) ? { ...built, needsApproval: true } : built
  }
  return tools
}

/**
 * A tool's failure goes to the model (and the stream, and the stored tool message) as its
 * result; an unexpected error's message can carry internals (a failed query with its
 * parameters). So only an `AppError`, whose message is written for clients, is passed on;
 * anything else is logged and becomes a plain "the tool failed".
 */
function guarded(name: string, made: ToolSet[string], context: ToolContext): ToolSet[string] {
  const execute = made.execute
  if (!execute) return made
  return {
    ...made,
    execute: async (input: unknown, options: Parameters<typeof execute>[1]) => {
      try {
        return await execute(input, options)
      } catch (error) {
        if (error instanceof AppError) throw error
        context.logger?.error({ err: error, tool: name, projectId: context.projectId }, 'a tool failed')
        throw new Error(`The ${name} tool failed`)
      }
    },
  } as ToolSet[string]
}

export function needsApproval(policy: ToolPolicy): boolean {
  return policy !== 'auto'
}

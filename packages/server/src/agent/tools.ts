import { tool, type ToolSet } from 'ai'
import { and, eq, sql } from 'drizzle-orm'
import { z } from 'zod'
import type { BotSettings } from '../bots/settings.ts'
import type { Database } from '../db/client.ts'
import { threads } from '../db/schema.ts'
import { appendEvents } from '../events/outbox.ts'

export type ToolContext = {
  db: Database
  projectId: string
  chatId: string
  threadId: string
  onEvents(): void
  /** Resolves once the thread and the user's messages are stored; tools that write to the thread wait for it. */
  ready?: Promise<unknown> | undefined
}

type ToolPolicy = BotSettings['ai']['tools'][string]

/**
 * Built-in tools, by the name a bot's `ai.tools` uses. A tool is offered to the
 * model when the settings enable it; its policy decides whether it runs at once
 * or waits for a person.
 */
const REGISTRY: Record<string, (context: ToolContext) => ToolSet[string]> = {
  handoff_to_operator: (context) =>
    tool({
      description:
        'Hand this conversation to a human operator when the user asks for a person, or when you cannot help. After calling it, tell the user briefly that an operator will reply.',
      inputSchema: z.object({ reason: z.string().describe('Why a human should take over, for the operator') }),
      execute: async ({ reason }) => {
        await context.ready
        await context.db.transaction(async (tx) => {
          const [before] = await tx
            .select({ mode: threads.mode })
            .from(threads)
            .where(and(eq(threads.projectId, context.projectId), eq(threads.id, context.threadId)))
            .for('update')
          if (!before || before.mode === 'manual') return
          await tx.update(threads).set({ mode: 'manual', updatedAt: sql`now()` }).where(and(eq(threads.projectId, context.projectId), eq(threads.id, context.threadId)))
          await appendEvents(tx, context.projectId, [
            { type: 'thread.mode.changed', chatId: context.chatId, threadId: context.threadId, data: { mode: 'manual', previous_mode: before.mode, reason, by: 'bot' } },
          ])
        })
        context.onEvents()
        return { handedOff: true }
      },
    }),
}


function updateWorkingMemory(context: ToolContext): ToolSet[string] {
  return tool({
    description: 'Replace the working memory document of this conversation with an updated version (the whole Markdown document).',
    inputSchema: z.object({ memory: z.string().describe('The complete updated working memory, in Markdown') }),
    execute: async ({ memory }) => {
      await context.ready
      await context.db
        .update(threads)
        .set({ workingMemory: memory, updatedAt: sql`now()` })
        .where(and(eq(threads.projectId, context.projectId), eq(threads.id, context.threadId)))
      return { success: true }
    },
  })
}

/** The tools of one turn: the enabled built-ins with their approval policies, and working memory when on. */
export function buildTools(settings: BotSettings, context: ToolContext): ToolSet {
  const tools: ToolSet = {}
  for (const [name, policy] of Object.entries(settings.ai.tools)) {
    const make = REGISTRY[name]
    if (!make) continue
    const built = make(context)
    tools[name] = needsApproval(policy) ? { ...built, needsApproval: true } : built
  }
  if (settings.ai.memory.workingMemory.enabled) tools.updateWorkingMemory = updateWorkingMemory(context)
  return tools
}

export function needsApproval(policy: ToolPolicy): boolean {
  return policy !== 'auto'
}

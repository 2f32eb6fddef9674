import { and, asc, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm'
import type { Database } from '../../platform/db/client.ts'
import { messageEmbeddings, messages } from './tables.ts'
import type { Recalled } from '../agent/index.ts'
import type { Embedder } from '../knowledge/index.ts'

/** Mastra's defaults: the 4 most similar earlier messages, each with one neighbour on either side (`lag`/`lead` below). */
const TOP_K = 4

/**
 * Embeds the thread's messages that have no embedding yet (text of users and
 * the bot; tool traffic is left out). Runs after a turn, off its path.
 */
export async function embedNewMessages(db: Database, embedder: Embedder, projectId: string, threadId: string): Promise<number> {
  const pending = await db
    .select({ seq: messages.seq, content: messages.content })
    .from(messages)
    .leftJoin(messageEmbeddings, eq(messageEmbeddings.messageSeq, messages.seq))
    .where(and(eq(messages.projectId, projectId), eq(messages.threadId, threadId), ne(messages.content, ''), inArray(messages.role, ['user', 'assistant']), isNull(messageEmbeddings.messageSeq)))
    .orderBy(asc(messages.seq))
    .limit(256)
  if (pending.length === 0) return 0
  const vectors = await embedder.embed(pending.map((row) => row.content))
  await db
    .insert(messageEmbeddings)
    .values(pending.map((row, index) => ({ messageSeq: row.seq, projectId, threadId, model: embedder.id, embedding: vectors[index]! })))
    .onConflictDoNothing()
  return pending.length
}


/**
 * Earlier messages of this thread similar to `query`, from before the history
 * window (`beforeSeq`), with their neighbours, in conversation order.
 */
export async function recallSimilar(db: Database, embedder: Embedder, projectId: string, threadId: string, query: string, beforeSeq: number): Promise<Recalled[]> {
  const [vector] = await embedder.embed([query])
  if (!vector) return []
  const literal = `[${vector.join(',')}]`
  const hits = await db
    .select({ seq: messageEmbeddings.messageSeq })
    .from(messageEmbeddings)
    .where(and(eq(messageEmbeddings.projectId, projectId), eq(messageEmbeddings.threadId, threadId), eq(messageEmbeddings.model, embedder.id), lt(messageEmbeddings.messageSeq, beforeSeq)))
    .orderBy(sql`${messageEmbeddings.embedding} <=> ${literal}::vector`)
    .limit(TOP_K)
  if (hits.length === 0) return []
  // Neighbours are the adjacent messages of the same thread (seq is global, so not ±1).
  const seqs = hits.map((hit) => hit.seq)
  const result = await db.execute(sql`
    select seq, role, content from (
      select seq, role, content, lag(seq) over w as previous, lead(seq) over w as next
      from messages
      where project_id = ${projectId} and thread_id = ${threadId} and seq < ${beforeSeq} and content <> ''
      window w as (order by seq)
    ) around
    where seq in ${seqs} or previous in ${seqs} or next in ${seqs}
    order by seq`)
  return (result as unknown as { rows: Array<{ seq: number | string; role: string; content: string }> }).rows.map((row) => ({ seq: Number(row.seq), role: row.role, content: row.content }))
}

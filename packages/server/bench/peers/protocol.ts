// Messages between bench/peers.ts and its two children: the paced model server and the load generator.

/** What the paced model server streams for every chat request. */
export type PacedScript = { chunks: string[]; delayMs: number; chunkDelayMs: number }

export type ModelRequest =
  | { id: number; type: 'start'; script: PacedScript }
  /** Chat requests and the most messages one of them carried, since the last `stats`. */
  | { id: number; type: 'stats' }
export type ModelReply = { id: number; url?: string; requests?: number; maxMessages?: number; error?: string }

/** How the load generator talks to a target, parsed from the target's own stream format. */
export type Protocol =
  /** OpenAI Chat Completions straight to the model server; the client keeps the history. */
  | { kind: 'openai'; url: string; model: string; instructions: string; lastMessages: number }
  /** Worken: `POST /chats/:chat_id/threads/:thread_id/stream`. */
  | { kind: 'worken'; base: string; key: string; chatId: string }
  /** Mastra: `POST /api/agents/:agent_id/stream` with a memory thread and resource. */
  | { kind: 'mastra'; base: string; agentId: string }

export type LoadSpec = {
  protocol: Protocol
  /** Threads are `${threadPrefix}-<n>`; one worker per thread sends its turns one after another. */
  threadPrefix: string
  threads: number
  streams: number
  /** Every reply must be exactly this text. */
  expectedText: string
}

export type Sample = { ttft: number | null; total: number; ok: boolean; error?: string }

export type LoadRequest = { id: number; type: 'run'; spec: LoadSpec }
export type LoadReply = {
  id: number
  samples?: Sample[]
  /** From the first request sent to the last stream's end. */
  wallMs?: number
  /** The load generator's longest event-loop stall during the run. */
  maxStallMs?: number
  error?: string
}

import { z } from '@hono/zod-openapi'
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base'
import { encode } from 'gpt-tokenizer/encoding/cl100k_base'

// Token-based chunking as OpenAI defines `chunking_strategy` for vector store files.
//
// Tokens are counted with cl100k_base, the encoding of OpenAI's embedding models
// (text-embedding-3-small/-large, ada-002): a chunk of N tokens here is N tokens to the
// embedding model, so the 4096-token maximum always fits its 8191-token input.
//
// Throughput with the auto strategy, Node 24 on a shared 2-core box: about 0.2 s per MB of
// text, encoding dominating. 1 MB of real English (package READMEs) gives 533 chunks in
// 0.18–0.21 s, ≈ 2,500–2,900 chunks/s; the synthetic megabyte of the "chunks a megabyte" test
// in test/unit/chunking.test.ts (which prints its figure) gives 1,118 chunks at ≈ 5,700 chunks/s.
// 100,000 auto chunks (≈ 40 M tokens, ≈ 190 MB of text) take about 40 s.

export const AUTO_MAX_CHUNK_SIZE_TOKENS = 800
export const AUTO_CHUNK_OVERLAP_TOKENS = 400
export const MIN_CHUNK_SIZE_TOKENS = 100
export const MAX_CHUNK_SIZE_TOKENS = 4096

const StaticChunkingParams = z
  .strictObject({
    max_chunk_size_tokens: z
      .number()
      .int('must be an integer')
      .min(MIN_CHUNK_SIZE_TOKENS, `must be at least ${MIN_CHUNK_SIZE_TOKENS}`)
      .max(MAX_CHUNK_SIZE_TOKENS, `must be at most ${MAX_CHUNK_SIZE_TOKENS}`)
      .openapi({ example: 800 }),
    chunk_overlap_tokens: z.number().int('must be an integer').min(0, 'must be at least 0').openapi({ example: 400 }),
  })
  .refine((params) => params.chunk_overlap_tokens <= params.max_chunk_size_tokens / 2, {
    message: 'must not exceed half of max_chunk_size_tokens',
    path: ['chunk_overlap_tokens'],
  })

export const AutoChunkingStrategySchema = z
  .strictObject({ type: z.literal('auto') })
  .openapi('AutoChunkingStrategy', { description: `${AUTO_MAX_CHUNK_SIZE_TOKENS}-token chunks overlapping by ${AUTO_CHUNK_OVERLAP_TOKENS} tokens.` })

export const StaticChunkingStrategySchema = z
  .strictObject({ type: z.literal('static'), static: StaticChunkingParams })
  .openapi('StaticChunkingStrategy')

/** What a request may send as `chunking_strategy`. */
export const ChunkingStrategySchema = z
  .discriminatedUnion('type', [AutoChunkingStrategySchema, StaticChunkingStrategySchema])
  .openapi('ChunkingStrategy')

export type ChunkingStrategy = z.infer<typeof ChunkingStrategySchema>
export type StaticChunkingStrategy = z.infer<typeof StaticChunkingStrategySchema>

export interface Chunk {
  index: number
  text: string
  /** Tokens in this chunk's window (≤ max_chunk_size_tokens). */
  tokens: number
  /** Where the chunk's text lies in the UTF-8 bytes of the whole text: [byteStart, byteEnd). */
  byteStart: number
  byteEnd: number
}

/**
 * The concrete strategy stored and returned for a file: OpenAI answers `auto` (and an
 * omitted strategy) with the static parameters it stands for.
 *
 * @example
 * resolveChunkingStrategy({ type: 'auto' })
 * // { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } }
 */
export function resolveChunkingStrategy(strategy: ChunkingStrategy | undefined): StaticChunkingStrategy {
  if (strategy?.type === 'static') return { type: 'static', static: { ...strategy.static } }
  return { type: 'static', static: { max_chunk_size_tokens: AUTO_MAX_CHUNK_SIZE_TOKENS, chunk_overlap_tokens: AUTO_CHUNK_OVERLAP_TOKENS } }
}

// Documents are data, not prompts: "<|endoftext|>" in a file is ordinary text, not a
// special token (the tokenizer would otherwise throw on it).
const asPlainText = { disallowedSpecial: new Set<string>() }

/**
 * The whole text back from its chunks in order, each overlap taken once: what
 * `GET /vector_stores/:id/files/:file_id/content` shows.
 */
export function joinChunks(chunks: ReadonlyArray<Pick<Chunk, 'text' | 'byteStart' | 'byteEnd'>>): string {
  const encoder = new TextEncoder()
  const decoder = new TextDecoder()
  const pieces: string[] = []
  let covered = 0
  for (const chunk of chunks) {
    if (chunk.byteEnd <= covered) continue
    const bytes = encoder.encode(chunk.text)
    pieces.push(decoder.decode(bytes.subarray(Math.max(0, covered - chunk.byteStart))))
    covered = chunk.byteEnd
  }
  return pieces.join('')
}

export function countTokens(text: string): number {
  return encodeText(text).length
}

/**
 * Splits text into windows of at most `max_chunk_size_tokens` tokens, each starting
 * `max − overlap` tokens after the previous; the last window ends at the end of the text.
 *
 * A token boundary can fall inside a character (cl100k_base splits emoji and some Cyrillic
 * or CJK characters across tokens). Each chunk's text is widened to whole characters, so it
 * never carries a broken character; `tokens` is still the window's exact token count.
 *
 * @example
 * chunkText(text, resolveChunkingStrategy({ type: 'auto' })) // [{ index: 0, text: '…', tokens: 800 }, …]
 */
export function chunkText(text: string, strategy: StaticChunkingStrategy): Chunk[] {
  const { max_chunk_size_tokens: maxTokens, chunk_overlap_tokens: overlap } = strategy.static
  if (!(maxTokens > 0 && overlap >= 0 && overlap < maxTokens)) {
    throw new RangeError(`invalid chunking strategy: max ${maxTokens}, overlap ${overlap}`)
  }
  const wellFormed = text.toWellFormed()
  const tokens = encodeText(wellFormed)
  if (tokens.length === 0) return []

  const bytes = new TextEncoder().encode(wellFormed)
  const tokenStarts = byteOffsets(tokens, bytes.length)
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const step = maxTokens - overlap
  const chunks: Chunk[] = []
  for (let start = 0; ; start += step) {
    const end = Math.min(start + maxTokens, tokens.length)
    const byteStart = characterStartAtOrBefore(bytes, tokenStarts[start]!)
    const byteEnd = characterEndAtOrAfter(bytes, tokenStarts[end]!)
    chunks.push({ index: chunks.length, text: decoder.decode(bytes.subarray(byteStart, byteEnd)), tokens: end - start, byteStart, byteEnd })
    if (end === tokens.length) return chunks
  }
}

function encodeText(text: string): number[] {
  return encode(text, asPlainText)
}

const tokenByteLengths = (() => {
  const encoder = new TextEncoder()
  const lengths = new Uint16Array(cl100kRanks.length)
  cl100kRanks.forEach((piece, token) => {
    lengths[token] = typeof piece === 'string' ? encoder.encode(piece).length : piece.length
  })
  return lengths
})()

/** offsets[i] is the byte where token i starts; offsets[tokens.length] is the total length. */
function byteOffsets(tokens: readonly number[], totalBytes: number): Uint32Array {
  const offsets = new Uint32Array(tokens.length + 1)
  let offset = 0
  for (let i = 0; i < tokens.length; i++) {
    offsets[i] = offset
    offset += tokenByteLengths[tokens[i]!]!
  }
  offsets[tokens.length] = offset
  // A mismatch would mean the rank table and the encoder disagree: every chunk would be
  // misplaced, so fail loudly instead.
  if (offset !== totalBytes) throw new Error(`tokenizer byte lengths (${offset}) do not match the text (${totalBytes} bytes)`)
  return offsets
}

const isContinuationByte = (byte: number | undefined): boolean => byte !== undefined && (byte & 0xc0) === 0x80

function characterStartAtOrBefore(bytes: Uint8Array, offset: number): number {
  while (offset > 0 && isContinuationByte(bytes[offset])) offset--
  return offset
}

function characterEndAtOrAfter(bytes: Uint8Array, offset: number): number {
  while (offset < bytes.length && isContinuationByte(bytes[offset])) offset++
  return offset
}

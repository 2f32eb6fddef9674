import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import cl100kRanks from 'gpt-tokenizer/bpeRanks/cl100k_base'
import { decode, encode } from 'gpt-tokenizer/encoding/cl100k_base'
import {
  ChunkingStrategySchema,
  chunkText,
  countTokens,
  joinChunks,
  resolveChunkingStrategy,
  type Chunk,
  type StaticChunkingStrategy,
} from '../../src/modules/knowledge/vector-stores/chunking.ts'

// The oracle: cl100k_base tokens of the text, straight from the tokenizer.
const tokensOf = (text: string) => encode(text, { disallowedSpecial: new Set() })

/** The UTF-8 bytes a token stands for, from the tokenizer's rank table. */
const tokenByteLength = (token: number) => {
  const piece = cl100kRanks[token]!
  return typeof piece === 'string' ? Buffer.byteLength(piece, 'utf8') : piece.length
}

const staticStrategy = (max: number, overlap: number): StaticChunkingStrategy => ({
  type: 'static',
  static: { max_chunk_size_tokens: max, chunk_overlap_tokens: overlap },
})

/** Deterministic text from a word list (mulberry32 with a fixed seed, so failures reproduce). */
function textOfWords(words: readonly string[], count: number, seed = 42): string {
  let state = seed
  const random = () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  const out: string[] = []
  for (let i = 0; i < count; i++) {
    out.push(words[Math.floor(random() * words.length)]!)
    if (random() < 0.05) out.push('\n\n')
  }
  return out.join(' ')
}

const ENGLISH = 'the vector store indexes each file by splitting its text into overlapping chunks of tokens before embedding them for search'.split(' ')

/** Text of exactly `count` tokens: " one" is a single cl100k token, so each repetition adds one. */
function textOfTokens(count: number): string {
  const text = `word${' one'.repeat(count - 1)}`
  assert.equal(tokensOf(text).length, count)
  return text
}

function expectedChunkCount(tokenCount: number, max: number, overlap: number): number {
  if (tokenCount === 0) return 0
  if (tokenCount <= max) return 1
  return Math.ceil((tokenCount - max) / (max - overlap)) + 1
}

/** For text whose token boundaries are all character boundaries: every window exactly. */
function assertExactWindows(text: string, chunks: Chunk[], max: number, overlap: number): void {
  const tokens = tokensOf(text)
  const step = max - overlap
  assert.equal(chunks.length, expectedChunkCount(tokens.length, max, overlap))
  chunks.forEach((chunk, index) => {
    const start = index * step
    const end = Math.min(start + max, tokens.length)
    assert.equal(chunk.index, index)
    assert.equal(chunk.tokens, end - start)
    assert.ok(chunk.tokens <= max)
    assert.equal(chunk.text, decode(tokens.slice(start, end)), `chunk ${index}`)
  })
  assert.equal(chunks.at(-1)!.text.length > 0 && text.endsWith(chunks.at(-1)!.text), true, 'the last chunk ends at the end of the text')

  // Consecutive chunks share exactly `overlap` tokens, and the parts that are not shared
  // put back together give the text.
  let rebuilt = chunks[0]!.text
  for (let index = 1; index < chunks.length; index++) {
    const shared = decode(tokens.slice(index * step, (index - 1) * step + max))
    assert.equal(tokensOf(shared).length <= overlap, true)
    assert.ok(chunks[index - 1]!.text.endsWith(shared), `chunk ${index - 1} ends with the overlap`)
    assert.ok(chunks[index]!.text.startsWith(shared), `chunk ${index} starts with the overlap`)
    rebuilt += chunks[index]!.text.slice(shared.length)
  }
  assert.equal(rebuilt, text)
}

describe('chunking strategy', () => {
  it('resolves auto and an omitted strategy to 800 tokens overlapping by 400, as OpenAI returns them', () => {
    const auto = { type: 'static', static: { max_chunk_size_tokens: 800, chunk_overlap_tokens: 400 } }
    assert.deepEqual(resolveChunkingStrategy({ type: 'auto' }), auto)
    assert.deepEqual(resolveChunkingStrategy(undefined), auto)
    assert.deepEqual(resolveChunkingStrategy(staticStrategy(300, 0)), staticStrategy(300, 0))
  })

  it('accepts the limits OpenAI allows', () => {
    for (const strategy of [{ type: 'auto' }, staticStrategy(100, 50), staticStrategy(4096, 2048), staticStrategy(801, 400), staticStrategy(100, 0)]) {
      assert.deepEqual(ChunkingStrategySchema.parse(strategy), strategy)
    }
  })

  it('refuses values outside them, naming the field', () => {
    const problems = (input: unknown) => {
      const result = ChunkingStrategySchema.safeParse(input)
      assert.equal(result.success, false, JSON.stringify(input))
      return result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
    }
    assert.deepEqual(problems(staticStrategy(99, 0)), ['static.max_chunk_size_tokens: must be at least 100'])
    assert.deepEqual(problems(staticStrategy(4097, 0)), ['static.max_chunk_size_tokens: must be at most 4096'])
    assert.deepEqual(problems(staticStrategy(800, 401)), ['static.chunk_overlap_tokens: must not exceed half of max_chunk_size_tokens'])
    assert.deepEqual(problems(staticStrategy(101, 51)), ['static.chunk_overlap_tokens: must not exceed half of max_chunk_size_tokens'])
    assert.deepEqual(problems(staticStrategy(800, -1)), ['static.chunk_overlap_tokens: must be at least 0'])
    assert.deepEqual(problems(staticStrategy(800.5, 0)), ['static.max_chunk_size_tokens: must be an integer'])
    assert.equal(problems({ type: 'static' })[0]!.startsWith('static:'), true)
    assert.equal(problems({ type: 'static', static: { max_chunk_size_tokens: 800 } })[0]!.startsWith('static.chunk_overlap_tokens:'), true)
    assert.equal(problems({ type: 'auto', static: {} }).length, 1)
    assert.equal(problems({ type: 'semantic' }).length, 1)
  })
})

describe('countTokens', () => {
  it('counts cl100k_base tokens, treating special-token text as plain text', () => {
    assert.equal(countTokens(''), 0)
    assert.equal(countTokens('hello world'), 2)
    assert.equal(countTokens('<|endoftext|>'), tokensOf('<|endoftext|>').length)
    assert.ok(countTokens('<|endoftext|>') > 1)
  })
})

describe('chunkText', () => {
  it('gives no chunks for empty text', () => {
    assert.deepEqual(chunkText('', resolveChunkingStrategy(undefined)), [])
  })

  it('keeps short text in one chunk', () => {
    assert.deepEqual(chunkText('Short text.', resolveChunkingStrategy(undefined)), [{ index: 0, text: 'Short text.', tokens: 3, byteStart: 0, byteEnd: 11 }])
  })

  it('puts the text back together from its chunks, each overlap once', () => {
    const text = `Заказ №48213 — доставка 🚚 завтра. ${textOfTokens(700)} Конец. 🎉 The end.`
    for (const strategy of [staticStrategy(100, 50), staticStrategy(100, 0), staticStrategy(137, 41), resolveChunkingStrategy(undefined)]) {
      const chunks = chunkText(text, strategy)
      assert.equal(joinChunks(chunks), text, JSON.stringify(strategy))
      for (const chunk of chunks) assert.equal(Buffer.byteLength(chunk.text), chunk.byteEnd - chunk.byteStart)
    }
    assert.equal(joinChunks([]), '')
  })

  it('places window edges exactly at the token counts', () => {
    const strategy = staticStrategy(100, 30)
    for (const [tokenCount, chunkCount] of [[100, 1], [101, 2], [170, 2], [171, 3], [1000, 14]] as const) {
      const chunks = chunkText(textOfTokens(tokenCount), strategy)
      assert.equal(chunks.length, chunkCount, `${tokenCount} tokens`)
      assert.deepEqual(chunks.map((chunk) => chunk.tokens).slice(0, -1), Array(chunkCount - 1).fill(100))
      assert.equal(chunks.at(-1)!.tokens, tokenCount - (chunkCount - 1) * 70)
    }
  })

  it('chunks by auto: 800-token windows every 400 tokens', () => {
    const text = textOfWords(ENGLISH, 3000)
    const chunks = chunkText(text, resolveChunkingStrategy({ type: 'auto' }))
    assert.ok(chunks.length >= 7)
    assertExactWindows(text, chunks, 800, 400)
  })

  it('chunks by static strategies, with and without overlap', () => {
    const text = textOfWords(ENGLISH, 2000, 7)
    for (const [max, overlap] of [[100, 50], [100, 0], [257, 128], [4096, 2048]] as const) {
      assertExactWindows(text, chunkText(text, staticStrategy(max, overlap)), max, overlap)
    }
  })

  it('never breaks a character where a token edge falls inside it (Russian, emoji, CJK)', () => {
    const words = ['Привет', 'мир', 'ёлка', 'съешь', 'же', 'ещё', '😀', '👩‍💻', '🇺🇦', '漢字', 'かな', 'naïve', 'x']
    const text = textOfWords(words, 3000, 3)
    const tokens = tokensOf(text)
    const strategy = staticStrategy(100, 50)
    const chunks = chunkText(text, strategy)

    // The case under test happens: decoding some windows naively would break a character.
    const naive = chunks.map((_, index) => decode(tokens.slice(index * 50, index * 50 + 100)))
    assert.ok(naive.some((window) => window.includes('\uFFFD')), 'some token edge falls inside a character')

    assert.equal(chunks.length, expectedChunkCount(tokens.length, 100, 50))
    let previousStart = -1
    let previousEnd = 0
    chunks.forEach((chunk, index) => {
      assert.ok(!chunk.text.includes('\uFFFD'), `chunk ${index} has no broken character`)
      assert.ok(chunk.text.isWellFormed(), `chunk ${index} has no lone surrogate`)
      assert.ok(chunk.tokens <= 100)
      // Widened to whole characters: at most one partial character (≤ 3 extra bytes) at each edge.
      const windowBytes = tokens.slice(index * 50, index * 50 + 100).reduce((sum, token) => sum + tokenByteLength(token), 0)
      const chunkBytes = Buffer.byteLength(chunk.text, 'utf8')
      assert.ok(chunkBytes >= windowBytes && chunkBytes <= windowBytes + 6, `chunk ${index} is its window widened`)
      // It is a piece of the text, after the previous chunk's start, leaving no gap.
      const start = text.indexOf(chunk.text, previousStart + 1)
      assert.ok(start > previousStart && start <= previousEnd, `chunk ${index} follows on`)
      previousStart = start
      previousEnd = start + chunk.text.length
    })
    assert.equal(chunks[0] && text.startsWith(chunks[0].text), true)
    assert.equal(previousEnd, text.length)
  })

  it('replaces lone surrogates instead of failing', () => {
    assert.deepEqual(chunkText('a\uD800b', staticStrategy(100, 0)).map((chunk) => chunk.text), ['a\uFFFDb'])
  })

  it('chunks a megabyte of text quickly', (t) => {
    // Made-up words from syllables: varied enough that the tokenizer's merge cache does not
    // flatter the figure the way repeated words would.
    const syllables = ['ka', 'lo', 'mi', 'ter', 'vos', 'an', 'pre', 'ul', 'dri', 'sen', 'qu', 'ex', 'bo', 'rat', 'ni', 'gel', 'фа', 'ро', 'шу', 'ле']
    const words = Array.from({ length: 60_000 }, (_, i) => syllables[i % 20]! + syllables[Math.floor(i / 20) % 20]! + syllables[Math.floor(i / 400) % 20]! + (i % 7 === 0 ? '.' : ''))
    const text = textOfWords(words, 200_000, 11).slice(0, 1_000_000)
    const started = performance.now()
    const chunks = chunkText(text, resolveChunkingStrategy(undefined))
    const seconds = (performance.now() - started) / 1000
    t.diagnostic(`${chunks.length} chunks from ${text.length} characters in ${seconds.toFixed(2)} s = ${Math.round(chunks.length / seconds)} chunks/s`)
    assert.ok(seconds < 10, `took ${seconds} s`)
  })
})

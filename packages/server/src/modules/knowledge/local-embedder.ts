import { setImmediate as nextTurn } from 'node:timers/promises'

/**
 * Turns texts into fixed-length, L2-normalised vectors for cosine search (pgvector `<=>`).
 * `id` names the vector space: only vectors with the same id are comparable, so store it with them.
 */
export type Embedder = {
  id: string
  dimensions: number
  /** `abortSignal` stops a call to a remote model (a provider that never answers must not hold a worker forever). */
  embed(texts: string[], options?: { abortSignal?: AbortSignal }): Promise<number[][]>
}

/**
 * Hash collisions add noise to the cosine of two short messages. Measured against unhashed
 * features (RMS / 99.9th percentile): 256 → 0.063 / 0.21, 512 → 0.045 / 0.16, 1024 → 0.031 / 0.11.
 * 512 keeps that well below the 0.3–0.8 of messages sharing a word, at 2 KB per `vector(512)`;
 * 1024 would double storage and HNSW work for a modest gain.
 */
export const LOCAL_EMBEDDER_DIMENSIONS = 512
/** pgvector's HNSW index takes `vector` columns of at most this many dimensions. */
const MAX_DIMENSIONS = 2000
/** Bump when anything below changes the vectors: stored ones must then be recomputed. */
const LOCAL_EMBEDDER_ID = 'local/lexical-v1'

/** Weights of the feature kinds, relative to a content word. */
const STOP_WORD_WEIGHT = 0.15
const TRIGRAM_WEIGHT = 0.4
/** Distinct seeds keep the kinds apart: the stop word `on` is not the stem `on` (of `one`). */
const WORD_SEED = 0x811c9dc5
const STOP_WORD_SEED = 0x1b873593
const TRIGRAM_SEED = 0x85ebca6b
/** Large batches yield to the event loop between chunks so a server keeps answering. */
const CHUNK_SIZE = 500

/**
 * The embedded default: lexical-grade, no network, no download. Texts are close when they share
 * words, word forms (a light Russian and English stemmer) and spelling (character trigrams), not
 * when they mean the same thing in other words.
 *
 * @example
 * const embedder = createLocalEmbedder()
 * const [query, message] = await embedder.embed(['статус заказа', 'Где мой заказ?'])
 */
export function createLocalEmbedder(options: { dimensions?: number } = {}): Embedder {
  const dimensions = options.dimensions ?? LOCAL_EMBEDDER_DIMENSIONS
  if (!Number.isInteger(dimensions) || dimensions < 16 || dimensions > MAX_DIMENSIONS) {
    throw new RangeError(`dimensions must be an integer from 16 to ${MAX_DIMENSIONS}, got ${dimensions}`)
  }
  return {
    id: dimensions === LOCAL_EMBEDDER_DIMENSIONS ? LOCAL_EMBEDDER_ID : `${LOCAL_EMBEDDER_ID}@${dimensions}`,
    dimensions,
    async embed(texts) {
      const vectors: number[][] = []
      for (let start = 0; start < texts.length; start += CHUNK_SIZE) {
        if (start > 0) await nextTurn()
        for (const text of texts.slice(start, start + CHUNK_SIZE)) vectors.push(embedText(text, dimensions))
      }
      return vectors
    },
  }
}

/**
 * Feature hashing into the first `dimensions - 1` slots. The last slot is reserved for texts
 * without any word: they get a unit vector orthogonal to every other text (distance 1, never
 * a match) and identical to each other, where a zero vector would give pgvector a NaN distance.
 */
function embedText(text: string, dimensions: number): number[] {
  const words = new Map<number, number>()
  const stopWords = new Map<number, number>()
  const trigrams = new Map<number, number>()
  for (const token of tokenize(text)) {
    if (STOP_WORDS.has(token)) {
      count(stopWords, hashRange(token, 0, token.length, STOP_WORD_SEED))
      continue
    }
    const lettersOnly = LETTERS_ONLY.test(token)
    const stem = lettersOnly ? stemWord(token) : token
    count(words, hashRange(stem, 0, stem.length, WORD_SEED))
    if (lettersOnly && token.length >= 3) {
      const padded = ` ${token} `
      for (let i = 0; i + 3 <= padded.length; i++) count(trigrams, hashRange(padded, i, i + 3, TRIGRAM_SEED))
    }
  }
  const sums = new Float64Array(dimensions)
  const slots = dimensions - 1
  project(sums, slots, words, 1)
  project(sums, slots, stopWords, STOP_WORD_WEIGHT)
  project(sums, slots, trigrams, TRIGRAM_WEIGHT)
  let squares = 0
  for (const value of sums) squares += value * value
  if (squares === 0) sums[slots] = 1
  const norm = squares === 0 ? 1 : Math.sqrt(squares)
  const vector = new Array<number>(dimensions)
  for (let i = 0; i < dimensions; i++) vector[i] = sums[i]! / norm
  return vector
}

function count(features: Map<number, number>, hash: number): void {
  features.set(hash, (features.get(hash) ?? 0) + 1)
}

/**
 * Sublinear term frequency (1 + ln tf). Each feature goes to two slots with random signs, at
 * weight/√2 each: signs make collisions cancel out on average, two slots halve the damage of
 * the worst ones (at 512, pairs of messages off by more than 0.2 went from 0.03% to 0.003%).
 */
function project(sums: Float64Array, slots: number, features: Map<number, number>, weight: number): void {
  for (const [hash, tf] of features) {
    const value = weight * (1 + Math.log(tf)) * Math.SQRT1_2
    let mixed = hash
    for (let k = 0; k < 2; k++) {
      mixed = fmix32(mixed ^ 0x9e3779b9)
      const sign = mixed & 0x80000000 ? -1 : 1
      const slot = (mixed & 0x7fffffff) % slots
      sums[slot] = sums[slot]! + sign * value
    }
  }
}

/** FNV-1a over the UTF-8 bytes of `text.slice(start, end)` (a lone surrogate counts as 3 bytes). */
function hashRange(text: string, start: number, end: number, seed: number): number {
  let hash = seed
  for (let i = start; i < end; i++) {
    let code = text.charCodeAt(i)
    if (code >= 0xd800 && code < 0xdc00 && i + 1 < end) {
      const low = text.charCodeAt(i + 1)
      if (low >= 0xdc00 && low < 0xe000) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
        i++
      }
    }
    if (code < 0x80) {
      hash = Math.imul(hash ^ code, 0x01000193)
    } else if (code < 0x800) {
      hash = Math.imul(hash ^ (0xc0 | (code >> 6)), 0x01000193)
      hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193)
    } else if (code < 0x10000) {
      hash = Math.imul(hash ^ (0xe0 | (code >> 12)), 0x01000193)
      hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193)
      hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193)
    } else {
      hash = Math.imul(hash ^ (0xf0 | (code >> 18)), 0x01000193)
      hash = Math.imul(hash ^ (0x80 | ((code >> 12) & 0x3f)), 0x01000193)
      hash = Math.imul(hash ^ (0x80 | ((code >> 6) & 0x3f)), 0x01000193)
      hash = Math.imul(hash ^ (0x80 | (code & 0x3f)), 0x01000193)
    }
  }
  return hash >>> 0
}

/** MurmurHash3's finaliser: FNV-1a alone leaves the low bits, which pick the slot, poorly mixed. */
function fmix32(hash: number): number {
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

const COMPOUND = /[\p{L}\p{N}\p{M}'’]+(?:[-_/.][\p{L}\p{N}\p{M}'’]+)*/gu
const LETTERS_ONLY = /^[\p{L}\p{M}]+$/u
const LETTERS_AND_DIGITS = /\p{L}+|\p{N}+/gu
const HAS_LETTER_AND_DIGIT = /^(?=.*\p{L})(?=.*\p{N})/u

/**
 * Lowercased NFKC words with `ё` as `е` and stress marks and apostrophes dropped. A compound such
 * as `XJ-4410` or `xj4410` also yields its parts (`xj`, `4410`) and its joined form (`xj4410`),
 * so a product code matches however it is written.
 */
export function tokenize(text: string): string[] {
  const normalised = text.normalize('NFKC').toLowerCase().replaceAll('ё', 'е').replace(/[\u0300-\u036f]/g, '')
  const tokens: string[] = []
  for (const [compound] of normalised.matchAll(COMPOUND)) {
    const parts = compound.replace(/['’]/g, '').split(/[-_/.]/).filter((part) => part !== '')
    for (const part of parts) {
      tokens.push(part)
      if (HAS_LETTER_AND_DIGIT.test(part)) for (const [run] of part.matchAll(LETTERS_AND_DIGITS)) tokens.push(run)
    }
    if (parts.length > 1) tokens.push(parts.join(''))
  }
  return tokens
}

const STOP_WORDS = new Set(
  (
    'a an the and or but if of to in on at by for with from as is are was were be been am do does did ' +
    'have has had i me my we our you your he she it its they them their this that these those there here ' +
    'what which who how when where why not no so than too very can will just would should could about ' +
    'into over also any all some only then up out ' +
    'а без бы был была были было быть в вам вас во вот все вы где да для до его ее ей если есть еще же ' +
    'за и из или им их к как ко кто ли меня мне мой моя мое мои мы на над нам нас не нет ни но ну о об ' +
    'он она они оно от по под при про с со так там то тот ты у уже чем что чтобы это этот эта эти я'
  ).split(' '),
)

/** Light inflectional stemming by script; anything that is not plain Russian or English is kept. */
export function stemWord(word: string): string {
  if (/^[а-яё]+$/.test(word)) return stemRussian(word.replaceAll('ё', 'е'))
  if (/^[a-z]+$/.test(word)) return stemEnglish(word)
  return word
}

/** English plural, third person, -ed and -ing, final -e and -y: `orders`, `ordered`, `ordering` → `order`. */
function stemEnglish(word: string): string {
  if (word.length <= 2) return word
  let stem = word
  // Three letters are too few to tell a plural: `yes`, `bus`, `gas`.
  if (stem.length > 3) {
    if (stem.endsWith('sses')) stem = stem.slice(0, -2)
    else if (stem.endsWith('ies')) stem = `${stem.slice(0, -3)}i`
    else if (/(?:ch|sh|x|z)es$/.test(stem)) stem = stem.slice(0, -2)
    else if (/[^sui]s$/.test(stem)) stem = stem.slice(0, -1)
  }
  const suffix = /ed$|ing$/.exec(stem)
  const shortEed = stem.length <= 5 && stem.endsWith('eed') // `need`, `speed`; but `agreed`
  if (suffix !== null && !shortEed && suffix.index >= 2 && /[aeiouy]/.test(stem.slice(0, suffix.index))) {
    stem = stem.slice(0, suffix.index)
    if (/([^aeiouylsz])\1$/.test(stem) && stem.length > 3) stem = stem.slice(0, -1)
    else if (stem.endsWith('ee')) stem = stem.slice(0, -1)
  } else if (stem.endsWith('e')) {
    stem = stem.slice(0, -1)
  }
  if (/[^aeiou]y$/.test(stem)) stem = `${stem.slice(0, -1)}i`
  return stem
}

type Suffixes = readonly (readonly [suffix: string, afterAOrYa: boolean])[]

/** Longest first; `afterAOrYa` endings only count after `а` or `я`, which stays. */
function suffixes(afterAOrYa: string, anywhere: string): Suffixes {
  const list = [
    ...afterAOrYa.split(' ').filter(Boolean).map((suffix) => [suffix, true] as const),
    ...anywhere.split(' ').map((suffix) => [suffix, false] as const),
  ]
  return list.sort((a, b) => b[0].length - a[0].length)
}

// The Snowball Russian stemmer's ending classes (snowballstem.org/algorithms/russian).
const PERFECTIVE_GERUND = suffixes('в вши вшись', 'ив ивши ившись ыв ывши ывшись')
const REFLEXIVE = suffixes('', 'ся сь')
const ADJECTIVE = suffixes('', 'ее ие ые ое ими ыми ей ий ый ой ем им ым ом его ого ему ому их ых ую юю ая яя ою ею')
const PARTICIPLE = suffixes('ем нн вш ющ щ', 'ивш ывш ующ')
const VERB = suffixes(
  'ла на ете йте ли й л ем н ло но ет ют ны ть ешь нно',
  'ила ыла ена ейте уйте ите или ыли ей уй ил ыл им ым ен ило ыло ено ят ует уют ит ыт ены ить ыть ишь ую ю',
)
const NOUN = suffixes('', 'а ев ов ие ье е иями ями ами еи ии и ией ей ой ий й иям ям ием ем ам ом о у ах иях ях ы ь ию ью ю ия ья я')
const SUPERLATIVE = suffixes('', 'ейш ейше')
const DERIVATIONAL = suffixes('', 'ост ость')
const RUSSIAN_VOWEL = /[аеиоуыэюя]/

/** Where `word.slice(0, end)` would end without its longest ending from `list` inside `[from, end)`, or -1. */
function cut(word: string, end: number, from: number, list: Suffixes): number {
  for (const [suffix, afterAOrYa] of list) {
    const start = end - suffix.length
    if (start < from || !word.endsWith(suffix, end)) continue
    if (afterAOrYa && (start - 1 < from || (word[start - 1] !== 'а' && word[start - 1] !== 'я'))) continue
    return start
  }
  return -1
}

/** Start of the region after the first consonant that follows a vowel, from `from` on. */
function regionAfter(word: string, from: number): number {
  for (let i = from + 1; i < word.length; i++) {
    if (!RUSSIAN_VOWEL.test(word[i]!) && RUSSIAN_VOWEL.test(word[i - 1]!)) return i + 1
  }
  return word.length
}

/** A compact Snowball Russian stemmer: `заказ`, `заказа`, `заказы`, `заказов` → `заказ`. */
function stemRussian(word: string): string {
  const firstVowel = word.search(RUSSIAN_VOWEL)
  if (firstVowel < 0) return word
  const rv = firstVowel + 1
  const r2 = regionAfter(word, regionAfter(word, 0))
  let end = word.length
  let start = cut(word, end, rv, PERFECTIVE_GERUND)
  if (start >= 0) {
    end = start
  } else {
    start = cut(word, end, rv, REFLEXIVE)
    if (start >= 0) end = start
    start = cut(word, end, rv, ADJECTIVE)
    if (start >= 0) {
      end = start
      start = cut(word, end, rv, PARTICIPLE)
      if (start >= 0) end = start
    } else {
      start = cut(word, end, rv, VERB)
      if (start < 0) start = cut(word, end, rv, NOUN)
      if (start >= 0) end = start
    }
  }
  if (end - 1 >= rv && word[end - 1] === 'и') end--
  start = cut(word, end, r2, DERIVATIONAL)
  if (start >= 0) end = start
  start = cut(word, end, rv, SUPERLATIVE)
  if (start >= 0) end = start
  if (end - 2 >= rv && word.endsWith('нн', end)) end--
  else if (start < 0 && end - 1 >= rv && word[end - 1] === 'ь') end--
  return word.slice(0, end)
}

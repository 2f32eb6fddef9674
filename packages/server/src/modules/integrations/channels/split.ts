/**
 * Splits a message that is too long for a channel into parts each within the channel's limit,
 * cutting where a reader would: at a paragraph break, else a line break, else a sentence's end,
 * else between words, and only failing all of those in the middle of a word (never inside a
 * surrogate pair, and at a grapheme boundary when one is near).
 *
 * Vendor-neutral: the limit is counted the way the vendor counts (`count`):
 * - `utf16` (the default): UTF-16 code units, i.e. JavaScript's `string.length`. Telegram counts
 *   the text "after entities parsing" (the visible text, markup removed) and its entity offsets are
 *   UTF-16 code units; where a vendor counts code points instead, UTF-16 over-counts (an emoji
 *   outside the BMP is 2), so this is the safe side.
 * - `codePoints`: Unicode code points (`[...text].length`).
 * - `utf8`: UTF-8 bytes, for vendors whose limit is in bytes.
 *
 * What is kept: parts are in order, each holds something other than whitespace and none ends with
 * whitespace, and the text between two consecutive parts (and before the first, after the last) is
 * whitespace only, so that joining the parts with the whitespace at the cut points gives the text
 * back. At a cut on a line break the next part keeps the indentation of its first line (code and
 * nested lists stay intact) when that indentation is under a quarter of the limit; otherwise the
 * whitespace at a cut is dropped. A cut mid-word drops nothing.
 */

export type SplitCount = 'utf16' | 'codePoints' | 'utf8'

/** A half-open range `[start, end)` of UTF-16 indices into the text. */
export type TextRange = { start: number; end: number }

export type SplitOptions = {
  /** How the limit is counted; `utf16` by default. */
  count?: SplitCount
  /**
   * Ranges not to cut inside when that can be avoided, i.e. when the range fits within the limit
   * on its own (a code block, a link with its address). A longer range is cut like any text.
   */
  keepTogether?: TextRange[]
  /**
   * Treat Markdown fenced code blocks (``` or ~~~) in the text as `keepTogether` ranges. On by
   * default; turn it off when the text is not Markdown (an already rendered message).
   */
  markdownFences?: boolean
}

/** The smallest limit accepted: one code point always fits (4 UTF-8 bytes, 2 UTF-16 code units). */
export const MIN_SPLIT_LIMIT = 4

/** `text` cut into parts each at most `limit` (as counted by `options.count`); no parts for blank text. */
export function splitText(text: string, limit: number, options: SplitOptions = {}): string[] {
  return splitRanges(text, limit, options).map(({ start, end }) => text.slice(start, end))
}

/** As `splitText`, but the parts as ranges of `text` (for a caller that maps them onto markup). */
export function splitRanges(text: string, limit: number, options: SplitOptions = {}): TextRange[] {
  if (!Number.isInteger(limit) || limit < MIN_SPLIT_LIMIT) throw new RangeError(`limit must be an integer ≥ ${MIN_SPLIT_LIMIT}, got ${limit}`)
  const cost = prefixCosts(text, options.count ?? 'utf16')
  const keep = [...(options.keepTogether ?? []), ...(options.markdownFences === false ? [] : markdownFenceRanges(text))]
    .filter((range) => range.end > range.start && cost[range.end]! - cost[range.start]! <= limit)
  const between = (from: number, to: number) => cost[to]! - cost[from]!

  const parts: TextRange[] = []
  let start = skipWhitespace(text, 0)
  const end = trimEnd(text, start, text.length)
  while (start < end) {
    if (between(start, end) <= limit) {
      parts.push({ start, end })
      break
    }
    const maxEnd = lastFitting(cost, start, end, limit)
    const cut = chooseCut(text, start, maxEnd, limit, between, keep)
    const partEnd = trimEnd(text, start, cut)
    parts.push({ start, end: partEnd })
    start = nextStart(text, cut, end, limit, between)
  }
  return parts
}

/** `cost[i]` is the count of `text.slice(0, i)`; a low surrogate adds nothing beyond its high one's. */
function prefixCosts(text: string, count: SplitCount): Float64Array {
  const cost = new Float64Array(text.length + 1)
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    let add: number
    if (count === 'utf16') add = 1
    else if (isLowSurrogate(unit) && i > 0 && isHighSurrogate(text.charCodeAt(i - 1))) add = count === 'codePoints' ? 0 : 2
    else if (count === 'codePoints') add = 1
    else if (isHighSurrogate(unit) && i + 1 < text.length && isLowSurrogate(text.charCodeAt(i + 1))) add = 2
    else add = unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3
    cost[i + 1] = cost[i]! + add
  }
  return cost
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff
}

/** Whether `index` falls between the two halves of a surrogate pair. */
function insidePair(text: string, index: number): boolean {
  return index > 0 && index < text.length && isLowSurrogate(text.charCodeAt(index)) && isHighSurrogate(text.charCodeAt(index - 1))
}

const WHITESPACE = /\s/

function isWhitespace(text: string, index: number): boolean {
  return WHITESPACE.test(text[index]!)
}

function skipWhitespace(text: string, from: number): number {
  let at = from
  while (at < text.length && isWhitespace(text, at)) at++
  return at
}

function trimEnd(text: string, start: number, end: number): number {
  let at = end
  while (at > start && isWhitespace(text, at - 1)) at--
  return at
}

/**
 * Where the part after a cut at `cut` starts: past the whitespace there, but keeping the
 * indentation of the line if that whitespace holds a line break (and the indentation is short).
 */
function nextStart(text: string, cut: number, end: number, limit: number, between: (from: number, to: number) => number): number {
  const after = Math.min(skipWhitespace(text, cut), end)
  let lastBreak = after - 1
  while (lastBreak >= cut && text[lastBreak] !== '\n') lastBreak--
  return lastBreak >= cut && between(lastBreak + 1, after) * 4 < limit ? lastBreak + 1 : after
}

/** The largest `i` in `(start, end]` with `cost(start, i) <= limit`, not inside a surrogate pair. */
function lastFitting(cost: Float64Array, start: number, end: number, limit: number): number {
  let low = start + 1
  let high = end
  while (low < high) {
    const middle = (low + high + 1) >> 1
    if (cost[middle]! - cost[start]! <= limit) low = middle
    else high = middle - 1
  }
  return low
}

type Level = 'paragraph' | 'line' | 'sentence' | 'word'

const SENTENCE_END = /[.!?…。！？;；]['"’”»)\]]*$/u
const CJK_SENTENCE_END = /[。！？]/u

/**
 * The cut: the end of the part's text (whitespace before it is trimmed by the caller). Each
 * whitespace run in the window is a candidate; its level is `paragraph` with two line breaks or
 * more, `line` with one, `sentence` after a sentence's end, else `word`. The last paragraph, else
 * line, else sentence candidate that fills the part at least half is taken; failing those the last
 * candidate of any level; failing any, a cut mid-word at the limit.
 */
function chooseCut(text: string, start: number, maxEnd: number, limit: number, between: (from: number, to: number) => number, keep: TextRange[]): number {
  const last: Partial<Record<Level, number>> = {}
  const lastHalf: Partial<Record<Level, number>> = {}
  let lastAny: number | undefined
  const near = keep.filter((range) => range.start < maxEnd && range.end > start)
  const insideKept = (at: number) => near.some((range) => range.start < at && at < range.end)
  const consider = (at: number, level: Level) => {
    if (at <= start || insideKept(at) || trimEnd(text, start, at) === start) return
    last[level] = at
    lastAny = at
    if (between(start, at) * 2 >= limit) lastHalf[level] = at
  }
  for (let at = start + 1; at <= maxEnd; at++) {
    const here = at < text.length && isWhitespace(text, at)
    if (here && !isWhitespace(text, at - 1)) {
      let breaks = 0
      for (let scan = at; scan < text.length && isWhitespace(text, scan); scan++) if (text[scan] === '\n') breaks++
      const level: Level = breaks >= 2 ? 'paragraph' : breaks === 1 ? 'line' : SENTENCE_END.test(text.slice(Math.max(start, at - 8), at)) ? 'sentence' : 'word'
      consider(at, level)
    } else if (!here && at < text.length && !isWhitespace(text, at - 1) && CJK_SENTENCE_END.test(text[at - 1]!)) {
      consider(at, 'sentence')
    }
  }
  for (const level of ['paragraph', 'line', 'sentence'] as const) if (lastHalf[level] !== undefined) return lastHalf[level]
  if (lastAny !== undefined) return lastAny
  return hardCut(text, start, maxEnd)
}

let graphemes: Intl.Segmenter | undefined

/**
 * A cut mid-word at `maxEnd` or just before it: at the last grapheme boundary within 32 code units
 * (an emoji with its modifiers stays whole), never inside a surrogate pair.
 */
function hardCut(text: string, start: number, maxEnd: number): number {
  graphemes ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  const from = Math.max(start, maxEnd - 32)
  const content = skipWhitespace(text, start)
  let cut = maxEnd
  let best: number | undefined
  for (const { index } of graphemes.segment(text.slice(from, Math.min(text.length, maxEnd + 32)))) {
    const at = from + index
    if (at > maxEnd) break
    if (at > content) best = at
  }
  if (best !== undefined) cut = best
  if (insidePair(text, cut)) cut--
  return cut
}

const FENCE_OPEN = /^ {0,3}(`{3,}|~{3,})/

/** Ranges of Markdown fenced code blocks: from the opening fence's line to the end of the closing one (or of the text). */
export function markdownFenceRanges(text: string): TextRange[] {
  const ranges: TextRange[] = []
  let open: { start: number; char: string; length: number } | undefined
  let lineStart = 0
  while (lineStart <= text.length) {
    const newline = text.indexOf('\n', lineStart)
    const lineEnd = newline === -1 ? text.length : newline
    const line = text.slice(lineStart, lineEnd)
    const fence = FENCE_OPEN.exec(line)
    if (open === undefined) {
      if (fence && !(fence[1]![0] === '`' && line.slice(fence[0].length).includes('`'))) open = { start: lineStart, char: fence[1]![0]!, length: fence[1]!.length }
    } else if (fence && fence[1]![0] === open.char && fence[1]!.length >= open.length && line.slice(fence[0].length).trim() === '') {
      ranges.push({ start: open.start, end: lineEnd })
      open = undefined
    }
    if (newline === -1) break
    lineStart = newline + 1
  }
  if (open !== undefined) ranges.push({ start: open.start, end: text.length })
  return ranges
}

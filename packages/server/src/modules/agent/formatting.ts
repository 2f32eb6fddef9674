/**
 * Cleans a bot's reply for plain-text channels (Telegram, WhatsApp) when `ai.formatting.removeMarkdown` or
 * `ai.formatting.removeEmojis` is set: in one go (`formatReply`, for the stored message) or delta by delta
 * (`createReplyFormatter`, for the stream). The rules, with examples: docs/formatting.md.
 *
 * Stream and batch agree by construction: `formatReply` is the streaming formatter run over the whole text, and the
 * streaming formatter commits a piece of output only once no continuation of the text can change it. It holds back
 * just the undecided suffix: an unclosed `**`, `[…]`, backtick or `<` (up to the end of its line, at most MAX_SPAN
 * characters), a trailing `!` or `\`, a marker or indentation at the start of a line, a text-style pictograph that a
 * U+FE0F may still turn into an emoji, half a surrogate pair. Other text passes straight through. With both options
 * off the formatter is the identity.
 *
 * removeMarkdown. Inline constructs never span lines; only fenced code blocks do.
 * - fences: a line of 3+ backticks (with an info string free of backticks) or 3+ tildes opens a block, at any
 *   indentation; the fence lines go with their line breaks, the code stays verbatim; a line of at least as many of
 *   the same character closes it.
 * - at the start of a line, after any indentation: `#`–`######` + blank → dropped; `>` (and one blank after it) →
 *   dropped, repeatedly; `- `, `* `, `+ ` → `• ` (indentation kept); a line of only `---`, `***` or `___` (3+) goes,
 *   and a blank line after it too when a blank line came before; a table separator row (`|`, `-`, `:` only) goes.
 *   Numbered lists, table rows and every other line stay.
 * - emphasis `*x*`, `**x**`, `***x***`, `_x_`, `__x__`, `___x___`, `~~x~~` → x. A delimiter run opens when it is not
 *   preceded by a letter or digit and not followed by whitespace; it closes at a later run of the same character and
 *   length on the line that follows a non-blank and is not followed by a letter or digit, the nearest opener taking
 *   it. So `snake_case`, `2*3*4`, `a * b` and an unclosed `**kwargs` stay (`__init__` is bold in Markdown: → init).
 *   In a word containing `://` (a bare URL) delimiters are text.
 * - inline code: a backtick run closed by an equal run on the line → the code verbatim (one space trimmed each side
 *   when both are there).
 * - `[text](url "title")` → `text (url)`; just `text` when it equals the URL or its `mailto:`; just the URL when the
 *   text is empty. Images `![alt](url)` likewise: on a text channel the URL is the only way to the image.
 *   `<scheme:…>` autolinks → the URL.
 * - `\` before one of `` ` * _ ~ # > | `` → that character as text; other backslashes stay. HTML stays as it is.
 *
 * removeEmojis, applied after removeMarkdown (so `**😀 x**` pairs up and `[😀](url)` counts as an empty label):
 * - removed: Emoji_Presentation characters (incl. regional indicators, i.e. flags, and skin-tone modifiers), every
 *   Extended_Pictographic character from U+1F000 up, a text-style pictograph (❤ ☀ ☝ ©) followed by U+FE0F, a skin
 *   tone or U+200D; within an emoji sequence also U+200D with what it joins, tag characters and modifiers.
 * - U+FE0F and the keycap mark U+20E3 go everywhere: `1️⃣` → `1`. Bare © ® ™ ✔ ❤ ↔ and U+200D in scripts stay.
 * - spacing: an emoji at the start of a line or after whitespace takes the blanks after it along ("Hi 😀 there" →
 *   "Hi there", "😀 Hi" → "Hi"); a line left empty by removal goes with its line break, and a blank line after it
 *   when a blank line came before. A blank already sent before an emoji that ends a line stays ("Hi 😀" → "Hi ").
 */

export interface FormattingOptions {
  removeEmojis: boolean
  removeMarkdown: boolean
}

export interface ReplyFormatter {
  /** Takes the next delta of the model's text; answers the cleaned text that is now certain (maybe ''). */
  push(delta: string): string
  /** Ends the text; answers whatever was held back, cleaned. */
  flush(): string
}

/**
 * @example formatReply('**Done** 🎉 see [docs](https://x.dev)', { removeEmojis: true, removeMarkdown: true })
 * // 'Done see docs (https://x.dev)'
 */
export function formatReply(text: string, options: FormattingOptions): string {
  const formatter = createReplyFormatter(options)
  return formatter.push(text) + formatter.flush()
}

/**
 * @example
 * const formatter = createReplyFormatter({ removeEmojis: false, removeMarkdown: true })
 * formatter.push('Hello **wor') // 'Hello '
 * formatter.push('ld** again')  // 'world again'
 * formatter.flush()             // ''
 */
export function createReplyFormatter(options: FormattingOptions): ReplyFormatter {
  const stages: ReplyFormatter[] = []
  const cleanLabel = options.removeEmojis ? (label: string) => formatReply(label, { removeEmojis: true, removeMarkdown: false }) : (label: string) => label
  if (options.removeMarkdown) stages.push(markdownStripper(true, cleanLabel))
  if (options.removeEmojis) stages.push(emojiStripper())
  if (stages.length === 0) return { push: (delta) => delta, flush: () => '' }
  // Stages only ever see whole code points.
  let highSurrogate = ''
  return {
    push(delta) {
      let text = highSurrogate + delta
      highSurrogate = ''
      const last = text.charCodeAt(text.length - 1)
      if (last >= 0xd800 && last <= 0xdbff) {
        highSurrogate = text.slice(-1)
        text = text.slice(0, -1)
      }
      for (const stage of stages) text = stage.push(text)
      return text
    },
    flush() {
      let text = highSurrogate
      highSurrogate = ''
      for (const stage of stages) text = stage.push(text) + stage.flush()
      return text
    },
  }
}

interface Step { length: number; output: string }
/**
 * Decides the text at `at`: how much of it is consumed and what it becomes. Answers undefined when that depends on
 * text not seen yet (never when `final`). A decision must hold for every continuation of `text`; that is what makes
 * any split of the input give the same output.
 */
type Stepper = (text: string, at: number, final: boolean) => Step | undefined

function fromStepper(step: Stepper): ReplyFormatter {
  let buffer = ''
  const drain = (final: boolean): string => {
    let output = ''
    let at = 0
    while (at < buffer.length) {
      const decided = step(buffer, at, final)
      if (!decided) break
      output += decided.output
      at += decided.length
    }
    buffer = buffer.slice(at)
    return output
  }
  return { push: (delta) => { buffer += delta; return drain(false) }, flush: () => drain(true) }
}

const INLINE_SPECIAL = /[\n*_~`[!<\\]/g
/**
 * An inline construct (emphasis, code span, link label or URL, autolink, fence info string) must close within this
 * many characters, else it is plain text. It bounds what the stream holds back and the rescanning of held text.
 */
const MAX_SPAN = 2000
const ESCAPABLE = new Set('`*_~#>|')

/** `cleanLabel` is the emoji pass, when on: whether a link's label is empty is decided after it. */
function markdownStripper(startsAtLineStart: boolean, cleanLabel: (label: string) => string): ReplyFormatter {
  let atLineStart = startsAtLineStart
  let fence: { marker: string; length: number } | undefined
  let position = 0 // absolute offset of the text at `at`, for emphasis closers found ahead
  const closers = new Set<number>()
  let previous = '' // the last input character consumed, for the flanking rules
  let outputTail = '' // the last two output characters
  let swallowBlankLine = false
  let wordTail = ''
  let inUrl = false

  const decide = (text: string, at: number, length: number, output: string): Step => {
    const consumed = text.slice(at, at + length)
    if (consumed) {
      let wordStart = consumed.length
      while (wordStart > 0 && !isWhitespace(consumed[wordStart - 1]!)) wordStart--
      if (wordStart > 0) {
        wordTail = ''
        inUrl = false
      }
      const word = wordTail + consumed.slice(wordStart)
      if (word.includes('://')) inUrl = true
      wordTail = word.slice(-3)
      previous = consumed.slice(isLowSurrogate(consumed.charCodeAt(length - 1)) ? -2 : -1)
    }
    position += length
    outputTail = (outputTail + output).slice(-2)
    swallowBlankLine = false
    return { length, output }
  }
  const toLineEnd = (text: string, end: number) => Math.min(end + 1, text.length)
  const enterBody = (text: string, at: number, indentEnd: number): Step => {
    atLineStart = false
    return decide(text, at, indentEnd - at, text.slice(at, indentEnd))
  }

  const lineStartStep: Stepper = (text, at, final) => {
    const i = skipBlanks(text, at)
    if (i === text.length) return final ? enterBody(text, at, i) : undefined
    const char = text[i]!
    if (fence) {
      if (char !== fence.marker) return enterBody(text, at, i)
      const runTo = runEnd(text, i)
      if (runTo === text.length && !final) return undefined
      if (runTo - i < fence.length) return enterBody(text, at, i)
      const end = skipBlanks(text, runTo)
      if (end === text.length && !final) return undefined
      if (end < text.length && text[end] !== '\n') return enterBody(text, at, i)
      fence = undefined
      return decide(text, at, toLineEnd(text, end) - at, '')
    }
    if (char === '\n' && swallowBlankLine) return decide(text, at, i + 1 - at, '')
    if (char === '`' || char === '~') {
      const runTo = runEnd(text, i)
      if (runTo === text.length && !final) return undefined
      if (runTo - i < 3) return enterBody(text, at, i)
      const end = lineEnd(text, runTo)
      if (char === '`' && text.slice(runTo, end).includes('`')) return enterBody(text, at, i)
      if (end - runTo > MAX_SPAN) return enterBody(text, at, i)
      if (end === text.length && !final) return undefined
      fence = { marker: char, length: runTo - i }
      return decide(text, at, toLineEnd(text, end) - at, '')
    }
    if (char === '#') {
      const runTo = runEnd(text, i)
      if (runTo === text.length && !final) return undefined
      if (runTo - i > 6 || !isBlank(text[runTo])) return enterBody(text, at, i)
      const end = skipBlanks(text, runTo)
      if (end === text.length && !final) return undefined
      atLineStart = false
      return decide(text, at, end - at, '')
    }
    if (char === '>') {
      if (i + 1 === text.length && !final) return undefined
      return decide(text, at, i + 1 - at + (isBlank(text[i + 1]) ? 1 : 0), '')
    }
    if (char === '-' || char === '*' || char === '_' || char === '+') {
      const runTo = runEnd(text, i)
      if (runTo === text.length && !final) return undefined
      if (runTo - i >= 3 && char !== '+') {
        const end = skipBlanks(text, runTo)
        if (end === text.length && !final) return undefined
        if (end === text.length || text[end] === '\n') {
          const afterBlankLine = outputTail === '' || outputTail === '\n' || outputTail === '\n\n'
          const step = decide(text, at, toLineEnd(text, end) - at, '')
          swallowBlankLine = afterBlankLine
          return step
        }
      }
      if (runTo - i === 1 && char !== '_' && isBlank(text[runTo])) {
        atLineStart = false
        return decide(text, at, runTo - at, `${text.slice(at, i)}•`)
      }
      return enterBody(text, at, i)
    }
    if (char === '|') {
      let end = i
      while (end < text.length && '|-: \t'.includes(text[end]!)) end++
      if (end === text.length && !final) return undefined
      const separatorRow = (end === text.length || text[end] === '\n') && text.slice(i, end).includes('-')
      return separatorRow ? decide(text, at, toLineEnd(text, end) - at, '') : enterBody(text, at, i)
    }
    return enterBody(text, at, i)
  }

  const delimiterStep: Stepper = (text, at, final) => {
    const runTo = runEnd(text, at)
    if (runTo === text.length && !final) return undefined
    const length = runTo - at
    if (closers.delete(position)) return decide(text, at, length, '')
    const origin = position - at
    const literal = () => decide(text, at, length, text.slice(at, runTo))
    const char = text[at]!
    const delimiter = char === '~' ? length === 2 : length <= 3
    if (inUrl || !delimiter || isWordChar(previous) || runTo === text.length || isWhitespace(text[runTo]!)) return literal()
    let nested = 0
    for (let k = runTo; k < text.length;) {
      const scanned = text[k]!
      if (scanned === '\n' || k - at > MAX_SPAN) return literal()
      if (scanned === '\\') {
        k += ESCAPABLE.has(text[k + 1] ?? '') ? 2 : 1
      } else if (scanned === '`') {
        const after = skipCodeSpan(text, k, final)
        if (after === undefined) return undefined
        k = after
      } else if (scanned === char) {
        const end = runEnd(text, k)
        if (end === text.length && !final) return undefined
        if (end - k === length && !closers.has(origin + k)) {
          // A closer belongs to the nearest opener before it, as in CommonMark.
          if (!isWhitespace(text[k - 1]!) && !isWordChar(text.slice(end, end + 2))) {
            if (nested-- === 0) {
              closers.add(origin + k)
              return decide(text, at, length, '')
            }
          } else if (!isWordChar(text[k - 1]!) && end < text.length && !isWhitespace(text[end]!)) {
            nested++
          }
        }
        k = end
      } else {
        k++
      }
    }
    return final ? literal() : undefined
  }

  const codeSpanStep: Stepper = (text, at, final) => {
    const runTo = runEnd(text, at)
    if (runTo === text.length && !final) return undefined
    const close = findCodeClose(text, runTo, runTo - at, final)
    if (close === undefined) return undefined
    if (close === null) return decide(text, at, runTo - at, text.slice(at, runTo))
    let code = text.slice(runTo, close)
    if (code.length >= 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1)
    return decide(text, at, close + runTo - at - at, code)
  }

  /** `[` at `open`, with `at` on a `!` before it for an image. */
  const linkStep = (text: string, at: number, open: number, final: boolean): Step | undefined => {
    const literal = () => decide(text, at, open + 1 - at, text.slice(at, open + 1))
    const close = findBracketClose(text, open + 1, final)
    if (close === undefined) return undefined
    if (close === null) return literal()
    if (close + 1 === text.length) return final ? literal() : undefined
    if (text[close + 1] !== '(') return literal()
    const destination = parseDestination(text, close + 2, final)
    if (destination === undefined) return undefined
    if (destination === null) return literal()
    const label = cleanLabel(stripInline(text.slice(open + 1, close), cleanLabel))
    return decide(text, at, destination.end - at, linkText(label, destination.url))
  }

  const autolinkStep: Stepper = (text, at, final) => {
    const literal = () => decide(text, at, 1, '<')
    const window = text.slice(at, at + MAX_SPAN)
    const match = /^<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)(>?)/.exec(window)
    if (match?.[2]) return decide(text, at, match[0].length, match[1]!)
    if (window.length === MAX_SPAN) return literal()
    // Undecided while everything after `<` could still be the start of an autolink.
    const prefix = window.slice(1)
    const couldContinue = /^[A-Za-z][A-Za-z0-9+.-]{0,31}$|^[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*$/.test(prefix)
    return !final && (prefix === '' || couldContinue) ? undefined : literal()
  }

  const bodyStep: Stepper = (text, at, final) => {
    const char = text[at]!
    if (char === '\n') {
      atLineStart = true
      closers.clear()
      return decide(text, at, 1, '\n')
    }
    if (fence) {
      const end = lineEnd(text, at)
      return decide(text, at, end - at, text.slice(at, end))
    }
    if (char === '*' || char === '_' || char === '~') return delimiterStep(text, at, final)
    if ('`[!<\\'.includes(char)) {
      const literal = () => decide(text, at, 1, char)
      if (inUrl) return literal()
      if (char === '`') return codeSpanStep(text, at, final)
      if (char === '[') return linkStep(text, at, at, final)
      if (char === '<') return autolinkStep(text, at, final)
      if (at + 1 === text.length) return final ? literal() : undefined
      const next = text[at + 1]!
      if (char === '!') return next === '[' ? linkStep(text, at, at + 1, final) : literal()
      return ESCAPABLE.has(next) ? decide(text, at, 2, next) : literal()
    }
    INLINE_SPECIAL.lastIndex = at
    const end = INLINE_SPECIAL.exec(text)?.index ?? text.length
    return decide(text, at, end - at, text.slice(at, end))
  }

  return fromStepper((text, at, final) => (atLineStart ? lineStartStep : bodyStep)(text, at, final))
}

function stripInline(text: string, cleanLabel: (label: string) => string): string {
  const stripper = markdownStripper(false, cleanLabel)
  return stripper.push(text) + stripper.flush()
}

function linkText(rawLabel: string, url: string): string {
  const label = rawLabel.trim()
  if (!url) return label
  if (!label) return url
  if (label === url || `mailto:${label}` === url) return label
  return `${label} (${url})`
}

/** `(url "title")` from just after `](`: the URL and the end of the link, null if it is not one, undefined if unsure. */
function parseDestination(text: string, from: number, final: boolean): { url: string; end: number } | null | undefined {
  const unsure = final ? null : undefined
  let k = skipBlanks(text, from)
  if (k === text.length) return unsure
  let url: string
  if (text[k] === '<') {
    const start = k + 1
    for (k = start; k < text.length && !'<>\n'.includes(text[k]!); k++);
    if (k - start > MAX_SPAN) return null
    if (k === text.length) return unsure
    if (text[k] !== '>') return null
    url = text.slice(start, k++)
  } else {
    const start = k
    for (let depth = 0; k < text.length && !isWhitespace(text[k]!); k++) {
      if (text[k] === '(') depth++
      else if (text[k] === ')' && depth-- === 0) break
    }
    if (k - start > MAX_SPAN) return null
    if (k === text.length) return unsure
    url = text.slice(start, k)
  }
  const afterUrl = k
  k = skipBlanks(text, k)
  if (k === text.length) return unsure
  const quote = text[k]!
  if (k > afterUrl && (quote === '"' || quote === "'")) {
    const closing = text.indexOf(quote, k + 1)
    const newline = text.indexOf('\n', k + 1)
    if (newline >= 0 && (closing < 0 || newline < closing)) return null
    if ((closing < 0 ? text.length : closing) - k > MAX_SPAN) return null
    if (closing < 0) return unsure
    k = skipBlanks(text, closing + 1)
    if (k === text.length) return unsure
  }
  return text[k] === ')' ? { url, end: k + 1 } : null
}

/** The `]` closing a link label started before `from`, null if the line has none, undefined if unsure. */
function findBracketClose(text: string, from: number, final: boolean): number | null | undefined {
  let depth = 0
  for (let k = from; k < text.length;) {
    const char = text[k]!
    if (char === '\n' || k - from > MAX_SPAN) return null
    if (char === '\\') {
      k += ESCAPABLE.has(text[k + 1] ?? '') ? 2 : 1
      continue
    }
    if (char === '`') {
      const after = skipCodeSpan(text, k, final)
      if (after === undefined) return undefined
      k = after
      continue
    }
    if (char === ']' && depth-- === 0) return k
    if (char === '[') depth++
    k++
  }
  return final ? null : undefined
}

/** Past the code span whose backticks start at `at` (or past the backticks when it is not closed on the line). */
function skipCodeSpan(text: string, at: number, final: boolean): number | undefined {
  const runTo = runEnd(text, at)
  if (runTo === text.length && !final) return undefined
  const close = findCodeClose(text, runTo, runTo - at, final)
  if (close === undefined) return undefined
  return close === null ? runTo : close + runTo - at
}

/** Start of the next run of exactly `length` backticks on the line, null if none, undefined if unsure. */
function findCodeClose(text: string, from: number, length: number, final: boolean): number | null | undefined {
  for (let k = from; k < text.length;) {
    if (text[k] === '\n' || k - from > MAX_SPAN) return null
    if (text[k] !== '`') {
      k++
      continue
    }
    const end = runEnd(text, k)
    if (end === text.length && !final) return undefined
    if (end - k === length) return k
    k = end
  }
  return final ? null : undefined
}

const runEnd = (text: string, at: number): number => {
  let end = at
  while (end < text.length && text[end] === text[at]) end++
  return end
}
const lineEnd = (text: string, at: number): number => {
  const newline = text.indexOf('\n', at)
  return newline < 0 ? text.length : newline
}
const skipBlanks = (text: string, at: number): number => {
  let end = at
  while (isBlank(text[end])) end++
  return end
}
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff
const isBlank = (char: string | undefined) => char === ' ' || char === '\t'
const isWhitespace = (char: string) => /^\s/u.test(char)
const isWordChar = (char: string) => /^[\p{L}\p{N}]/u.test(char)

/** Characters that are neither pictographs nor part of an emoji sequence (those start at © U+00A9). */
const NOT_EMOJI_RUN = /[\u0000-\u0009\u000b-\u00a8\u00aa-\u00ad\u00af-\u200c]+/y
const PICTOGRAPH = /^\p{Extended_Pictographic}/u
const EMOJI_PRESENTATION = /^\p{Emoji_Presentation}/u
const ZWJ = 0x200d
const VS16 = 0xfe0f
const KEYCAP = 0x20e3
const isSkinTone = (codePoint: number) => codePoint >= 0x1f3fb && codePoint <= 0x1f3ff
const isTag = (codePoint: number) => codePoint >= 0xe0020 && codePoint <= 0xe007f

function emojiStripper(): ReplyFormatter {
  let sequence: 'none' | 'emoji' | 'joined' = 'none'
  let dropBlanks = false
  let outputTail = '' // the last two output characters
  let lineHasText = false
  let lineHadEmoji = false
  let swallowBlankLine = false

  const keep = (kept: string): Step => {
    dropBlanks = false
    lineHasText = true
    swallowBlankLine = false
    outputTail = (outputTail + kept).slice(-2)
    return { length: kept.length, output: kept }
  }
  const remove = (char: string): Step => ({ length: char.length, output: '' })
  const removeEmoji = (char: string): Step => {
    const last = outputTail.slice(-1)
    if (last === '' || isWhitespace(last)) dropBlanks = true
    lineHadEmoji = true
    sequence = 'emoji'
    return remove(char)
  }
  const lineBreak = (): Step => {
    dropBlanks = false
    const emptied = !lineHasText && lineHadEmoji
    const swallowed = !lineHasText && !lineHadEmoji && swallowBlankLine
    const step = emptied || swallowed ? remove('\n') : keep('\n')
    swallowBlankLine = emptied && (outputTail === '' || outputTail === '\n' || outputTail === '\n\n')
    lineHasText = false
    lineHadEmoji = false
    return step
  }

  return fromStepper((text, at, final) => {
    NOT_EMOJI_RUN.lastIndex = at
    const run = NOT_EMOJI_RUN.exec(text)?.[0]
    if (run && !(dropBlanks && isBlank(run[0]))) {
      sequence = 'none'
      return keep(run)
    }
    const codePoint = text.codePointAt(at)!
    const char = String.fromCodePoint(codePoint)
    if (sequence !== 'none') {
      if (codePoint === ZWJ) {
        sequence = 'joined'
        return remove(char)
      }
      if (codePoint === VS16 || codePoint === KEYCAP || isSkinTone(codePoint) || isTag(codePoint)) return remove(char)
      if (sequence === 'joined' && PICTOGRAPH.test(char)) {
        sequence = 'emoji'
        return remove(char)
      }
      sequence = 'none'
    }
    if (codePoint === VS16 || codePoint === KEYCAP) return remove(char)
    if (EMOJI_PRESENTATION.test(char) || (codePoint >= 0x1f000 && PICTOGRAPH.test(char))) return removeEmoji(char)
    if (PICTOGRAPH.test(char)) {
      const next = text.codePointAt(at + char.length)
      if (next === undefined) return final ? keep(char) : undefined
      return next === VS16 || next === ZWJ || isSkinTone(next) ? removeEmoji(char) : keep(char)
    }
    if (char === '\n') return lineBreak()
    if (dropBlanks && isBlank(char)) return remove(char)
    return keep(char)
  })
}

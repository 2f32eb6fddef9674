import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { markdownFenceRanges, splitRanges, splitText, type SplitCount, type SplitOptions } from '../../src/modules/integrations/channels/split.ts'
import { random } from '../support/random.ts'

function measure(text: string, count: SplitCount): number {
  if (count === 'utf16') return text.length
  if (count === 'codePoints') return [...text].length
  return Buffer.byteLength(text, 'utf8')
}

const PIECES = [
  'word', 'слово', 'a', 'longerword', 'x'.repeat(40), 'https://example.com/a/very/long/path?with=query&and=more',
  '😀', '👨‍👩‍👧‍👦', '🇷🇺', 'e\u0301', '漢字', '中文句子。', 'Привет!', 'end.', 'why?', 'wow!', '"quoted."', '(aside)',
  ' ', ' ', ' ', ' ', '  ', '\n', '\n\n', '\n\n\n', '\t', ' \n ', '\u00a0', '    indented', '- item', '1. item',
  '\n```ts\nconst a = 1 < 2 && b > c\n  nested()\n```\n', '\n~~~\nplain fence\n~~~\n', '`inline`', '**bold**',
]

function randomText(next: () => number): string {
  const length = Math.floor(next() * 400)
  let text = ''
  for (let i = 0; i < length; i++) text += PIECES[Math.floor(next() * PIECES.length)]!
  return text
}

/** The properties every split keeps; returns the parts for further checks. */
function checkSplit(text: string, limit: number, options: SplitOptions = {}, label = ''): string[] {
  const count = options.count ?? 'utf16'
  const ranges = splitRanges(text, limit, options)
  const parts = ranges.map(({ start, end }) => text.slice(start, end))
  assert.deepEqual(splitText(text, limit, options), parts, label)
  let at = 0
  for (const [index, { start, end }] of ranges.entries()) {
    const part = parts[index]!
    assert.ok(start >= at && end > start, `${label}: part ${index} out of order`)
    assert.match(text.slice(at, start), /^\s*$/u, `${label}: only whitespace is dropped before part ${index}`)
    assert.ok(measure(part, count) <= limit, `${label}: part ${index} is ${measure(part, count)} > ${limit}`)
    assert.match(part, /\S/u, `${label}: part ${index} is blank`)
    assert.doesNotMatch(part, /\s$/u, `${label}: part ${index} ends with whitespace`)
    assert.ok(!/^[\udc00-\udfff]/.test(part) && !/[\ud800-\udbff]$/.test(part), `${label}: part ${index} splits a surrogate pair`)
    at = end
  }
  assert.match(text.slice(at), /^\s*$/u, `${label}: only whitespace is dropped at the end`)
  // Nothing but whitespace is lost.
  const squash = (value: string) => value.replace(/\s+/gu, '')
  assert.equal(squash(parts.join('')), squash(text), `${label}: nothing lost`)
  return parts
}

describe('splitText', () => {
  it('keeps every property on random texts, for every way of counting', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = random(seed)
      const text = randomText(next)
      const limit = 4 + Math.floor(next() * 300)
      const count = (['utf16', 'codePoints', 'utf8'] as const)[seed % 3]!
      checkSplit(text, limit, { count }, `seed ${seed} limit ${limit} ${count}`)
    }
  })

  it('keeps the properties at the smallest limits', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const text = randomText(random(seed))
      for (const count of ['utf16', 'codePoints', 'utf8'] as const) checkSplit(text, 4 + (seed % 3), { count }, `seed ${seed} ${count}`)
    }
  })

  it('returns the text whole when it fits, trimmed, and nothing for blank text', () => {
    assert.deepEqual(splitText('  hello world \n', 20), ['hello world'])
    assert.deepEqual(splitText(' \n\t ', 20), [])
    assert.deepEqual(splitText('', 20), [])
    assert.deepEqual(splitText('x'.repeat(20), 20), ['x'.repeat(20)])
  })

  it('refuses a limit below one code point', () => {
    assert.throws(() => splitText('abc', 3), RangeError)
    assert.throws(() => splitText('abc', 4.5), RangeError)
  })

  it('prefers a paragraph break, then a line break, then a sentence end, then a space', () => {
    const paragraph = 'First paragraph here, it goes on.\n\nSecond one. Has two sentences and more words here.'
    assert.deepEqual(splitText(paragraph, 60), ['First paragraph here, it goes on.', 'Second one. Has two sentences and more words here.'])
    const lines = 'Line one is here and long enough\nline two is here too, also long'
    assert.deepEqual(splitText(lines, 40), ['Line one is here and long enough', 'line two is here too, also long'])
    const sentences = 'One sentence goes here. Another sentence goes right after it'
    assert.deepEqual(splitText(sentences, 40), ['One sentence goes here.', 'Another sentence goes right after it'])
    const words = 'many small words without any sentence end at all in here'
    assert.deepEqual(splitText(words, 20), ['many small words', 'without any sentence', 'end at all in here'])
  })

  it('takes a later line break over an early paragraph break that would leave the part under half full', () => {
    const text = 'Short.\n\n' + 'a'.repeat(30) + '\n' + 'b'.repeat(30)
    assert.deepEqual(splitText(text, 50), ['Short.\n\n' + 'a'.repeat(30), 'b'.repeat(30)])
  })

  it('recognises sentence ends in other scripts and before closing quotes', () => {
    assert.deepEqual(splitText('Это первое предложение. Это второе, тоже длинное', 30), ['Это первое предложение.', 'Это второе, тоже длинное'])
    assert.deepEqual(splitText('He said "stop." and then he went away', 24), ['He said "stop."', 'and then he went away'])
    assert.deepEqual(splitText('这是第一个句子。这是第二个句子，比较长一些。', 14), ['这是第一个句子。', '这是第二个句子，比较长一些。'])
  })

  it('cuts a word only when it must, and never inside a surrogate pair or an emoji sequence', () => {
    assert.deepEqual(splitText('x'.repeat(25), 10), ['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)])
    const emoji = '😀'.repeat(5) // 10 code units
    assert.deepEqual(splitText(emoji, 5), ['😀😀', '😀😀', '😀'])
    assert.deepEqual(splitText(emoji, 5, { count: 'codePoints' }), ['😀😀😀😀😀'])
    const family = '👨‍👩‍👧‍👦' // 11 code units, one grapheme
    assert.deepEqual(splitText(`ab${family}${family}`, 16), [`ab${family}`, family])
  })

  it('counts UTF-8 bytes when asked', () => {
    assert.deepEqual(splitText('ыыыыы', 4, { count: 'utf8' }), ['ыы', 'ыы', 'ы'])
    assert.deepEqual(splitText('ыыыыы', 5), ['ыыыыы'])
  })

  it('does not cut inside a fenced code block that fits in a part', () => {
    const code = '```js\nconst a = 1\nconst b = 2\n```'
    const text = `Intro text that is here.\n\n${code}\n\nAfter.`
    const parts = checkSplit(text, 45)
    assert.ok(parts.some((part) => part.includes(code)), JSON.stringify(parts))
    assert.deepEqual(splitText(`Intro text that is here.\n\n${code}`, 40), ['Intro text that is here.', code])
  })

  it('cuts a code block longer than the limit at its lines, keeping their indentation', () => {
    const lines = Array.from({ length: 20 }, (_, i) => `    line(${i})`)
    const text = '```\n' + lines.join('\n') + '\n```'
    const parts = checkSplit(text, 60)
    assert.ok(parts.length > 1)
    for (const part of parts.slice(1)) assert.ok(part.startsWith('    line(') || part === '```', JSON.stringify(part))
  })

  it('keeps caller-given ranges together when they fit', () => {
    const text = 'see the link text (https://example.com/path) for more'
    const start = text.indexOf(' (')
    const end = text.indexOf(')') + 1
    assert.deepEqual(splitText(text, 40, { keepTogether: [{ start, end }] }), ['see the link text', '(https://example.com/path) for more'])
  })

  it('finds Markdown fences, with unclosed ones running to the end', () => {
    const text = 'a\n```ts\nx\n```\nb\n~~~~\ny\n~~~\n~~~~\n``` not `a fence`\n```\nopen'
    const ranges = markdownFenceRanges(text).map(({ start, end }) => text.slice(start, end))
    assert.deepEqual(ranges, ['```ts\nx\n```', '~~~~\ny\n~~~\n~~~~', '```\nopen'])
  })

  it('splits a long text fast', () => {
    const text = Array.from({ length: 2000 }, (_, i) => `Sentence number ${i} is here.${i % 7 === 0 ? '\n\n' : ' '}`).join('')
    const started = performance.now()
    checkSplit(text, 4096)
    assert.ok(performance.now() - started < 1000)
  })
})

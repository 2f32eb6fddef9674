import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createReplyFormatter, formatReply, type FormattingOptions } from '../../src/modules/agent/formatting.ts'
import { random } from '../support/random.ts'

const markdown: FormattingOptions = { removeEmojis: false, removeMarkdown: true }
const emojis: FormattingOptions = { removeEmojis: true, removeMarkdown: false }
const both: FormattingOptions = { removeEmojis: true, removeMarkdown: true }
const neither: FormattingOptions = { removeEmojis: false, removeMarkdown: false }
const allOptions = [neither, markdown, emojis, both]

function expectFormats(options: FormattingOptions, cases: [input: string, expected: string][]) {
  for (const [input, expected] of cases) assert.equal(formatReply(input, options), expected, JSON.stringify(input))
}

function streamed(chunks: string[], options: FormattingOptions): string[] {
  const formatter = createReplyFormatter(options)
  return [...chunks.map((chunk) => formatter.push(chunk)), formatter.flush()]
}

function splitAt(text: string, next: () => number, averageLength: number): string[] {
  const chunks: string[] = []
  for (let at = 0; at < text.length;) {
    const length = 1 + Math.floor(next() * averageLength * 2)
    chunks.push(text.slice(at, at + length))
    at += length
  }
  return chunks
}

describe('removeMarkdown', () => {
  it('drops emphasis and strikethrough markers, conservatively', () => {
    expectFormats(markdown, [
      ['**bold**, *it*, ***both***, __b__, _i_, ~~gone~~.', 'bold, it, both, b, i, gone.'],
      ['**bold *nested* here** and *it **nested** too*', 'bold nested here and it nested too'],
      ['**Жирный** и _курсив_', 'Жирный и курсив'],
      ['snake_case_name, my_var_ and _private_thing', 'snake_case_name, my_var_ and _private_thing'],
      ['2*3*4, a * b * c, 5 ** 2, x**2**y', '2*3*4, a * b * c, 5 ** 2, x**2**y'],
      ['*args and **kwargs', '*args and **kwargs'],
      ['**unclosed on this line\nbold**', '**unclosed on this line\nbold**'],
      ['~5 minutes, ~~~ and ~~ spaced ~~', '~5 minutes, ~~~ and ~~ spaced ~~'],
      ['**Note:**text stays, **Note:** text goes', '**Note:**text stays, Note: text goes'],
      ['**a **b** c**', 'a b c'],
      ['see https://x.com/a_b_ and https://x.com/*star*', 'see https://x.com/a_b_ and https://x.com/*star*'],
      ['**https://x.com**', 'https://x.com'],
    ])
  })

  it('keeps inline code and drops its backticks', () => {
    expectFormats(markdown, [
      ['run `npm **test**` now', 'run npm **test** now'],
      ['``a ` b`` and `` `x` ``', 'a ` b and `x`'],
      ['an `unclosed **tick**', 'an `unclosed tick'],
      ['**bold `code**` still**', 'bold code** still'],
    ])
  })

  it('keeps fenced code verbatim and drops the fences', () => {
    expectFormats(markdown, [
      ['Here:\n\n```python\nprint("**hi**")  # done\n```\n\nDone', 'Here:\n\nprint("**hi**")  # done\n\nDone'],
      ['~~~\n- a\n~~~~\n- b', '- a\n• b'],
      ['````md\n```\ninner\n```\n````\nafter', '```\ninner\n```\nafter'],
      ['1. Run:\n   ```sh\n   npm i\n   ```\n2. Go', '1. Run:\n   npm i\n2. Go'],
      ['```unclosed\ncode **x**', 'code **x**'],
      ['```inline```', 'inline'],
    ])
  })

  it('handles the line-start constructs', () => {
    expectFormats(markdown, [
      ['# Title\n## **Sub**\n###### six\n####### seven\n#hashtag', 'Title\nSub\nsix\n####### seven\n#hashtag'],
      ['> quoted\n> > nested\n>- item', 'quoted\nnested\n• item'],
      ['- a\n* b\n+ c\n  - nested\n-1 degrees\n1. one\n2) two', '• a\n• b\n• c\n  • nested\n-1 degrees\n1. one\n2) two'],
      ['Text\n\n---\n\nMore\n***\n___\nEnd', 'Text\n\nMore\nEnd'],
      ['Title\n---\nBody', 'Title\nBody'],
      ['---\n\nStart', 'Start'],
      ['--- not a rule', '--- not a rule'],
      ['| a | b |\n|---|:--:|\n| 1 | 2 |', '| a | b |\n| 1 | 2 |'],
    ])
  })

  it('turns links, images and autolinks into text', () => {
    expectFormats(markdown, [
      ['see [the docs](https://x.dev/a_(b)) now', 'see the docs (https://x.dev/a_(b)) now'],
      ['[https://x.dev](https://x.dev) and [me@x.dev](mailto:me@x.dev)', 'https://x.dev and me@x.dev'],
      ['[**bold** link](<https://x.dev/a b> "Title")', 'bold link (https://x.dev/a b)'],
      ['![logo](a.png) ![](b.png) [](c)', 'logo (a.png) b.png c'],
      ['[1] and [x]: y and [a] (b)', '[1] and [x]: y and [a] (b)'],
      ['<https://y.z/q?a=1> <b>bold</b> a < b', 'https://y.z/q?a=1 <b>bold</b> a < b'],
    ])
  })

  it('unescapes only Markdown punctuation', () => {
    expectFormats(markdown, [['\\*not\\* \\_em\\_ \\# \\| C:\\path \\(x\\)', '*not* _em_ # | C:\\path \\(x\\)']])
  })
})

describe('removeEmojis', () => {
  it('removes emoji and emoji sequences', () => {
    expectFormats(emojis, [
      ['ok👍🏽 family👨‍👩‍👧‍👦 flag🇺🇸 scotland🏴󠁧󠁢󠁳󠁣󠁴󠁿 coder👩🏿‍💻 pride🏳️‍🌈 done✅', 'ok family flag scotland coder pride done'],
      ['love❤️ heart❤‍🔥 point☝🏻 hot🌡 end', 'love heart point hot end'],
      ['1️⃣ one, #️⃣ hash', '1 one, # hash'],
    ])
  })

  it('keeps text symbols and joiners outside emoji', () => {
    expectFormats(emojis, [['© 2026 Acme™ ✔ ❤ ↔ ★ क्‍ष ❤︎', '© 2026 Acme™ ✔ ❤ ↔ ★ क्‍ष ❤︎']])
  })

  it('tidies the space and lines an emoji leaves behind', () => {
    expectFormats(emojis, [
      ['Hi 😀 there', 'Hi there'],
      ['Hi 😀😀  there', 'Hi there'],
      ['😀 Hi', 'Hi'],
      ['Hi😀 there', 'Hi there'],
      ['Hi 😀\nthere', 'Hi \nthere'],
      ['A\n🎉\nB', 'A\nB'],
      ['A\n\n🎉 🎉\n\nB', 'A\n\nB'],
      ['🎉\n\nB', 'B'],
    ])
  })
})

describe('both options', () => {
  it('strips Markdown first, then emojis', () => {
    expectFormats(both, [
      ['## 🚀 Launch\n- ✅ done\n**🎉 Party** time', 'Launch\n• done\nParty time'],
      ['[😀](https://x.dev) and #️⃣ tag', 'https://x.dev and # tag'],
    ])
  })
})

describe('streaming', () => {
  it('is the identity with no holdback when both options are off', () => {
    const text = '**a** 😀\n# b\ud83d'
    for (const chunks of [[...text], ['**a', '** \ud83d', '\ude00\n# b\ud83d']]) {
      const out = streamed(chunks, neither)
      assert.deepEqual(out, [...chunks, ''])
    }
  })

  it('holds back only what could still be a construct', () => {
    const formatter = createReplyFormatter(both)
    assert.equal(formatter.push('Hello **wor'), 'Hello ')
    assert.equal(formatter.push('ld** and '), 'world and ')
    assert.equal(formatter.push('[docs]('), '')
    assert.equal(formatter.push('https://x.dev) '), 'docs (https://x.dev) ')
    assert.equal(formatter.push('ok \ud83d'), 'ok ')
    assert.equal(formatter.push('\ude00 bye\n-'), 'bye\n')
    assert.equal(formatter.push(' item ❤'), '• item ')
    assert.equal(formatter.push('\ufe0f!'), '')
    assert.equal(formatter.flush(), '!')
  })

  it('passes plain text through at once', () => {
    const next = random(7)
    const words = ['Hello', 'world,', 'this', 'is', 'plain', 'text.', 'Привет', 'мир?', '42', '(ok)', 'a-b', "it's", 'x=1;', 'déjà', '"q"']
    for (let round = 0; round < 200; round++) {
      let text = ''
      for (let count = 0; count < 30; count++) text += words[Math.floor(next() * words.length)] + (next() < 0.2 ? '\n' : ' ')
      const chunks = splitAt(text, next, 4)
      for (const options of allOptions) assert.deepEqual(streamed(chunks, options), [...chunks, ''], JSON.stringify({ text, options }))
    }
  })

  it('gives up on inline constructs longer than 2000 characters, in stream and batch alike', () => {
    const next = random(11)
    const constructs = [(filler: string) => `**a ${filler}x** y`, (filler: string) => `\`${filler}\` y`, (filler: string) => `[${filler}](u) y`, (filler: string) => `[x](https://${filler}) y`, (filler: string) => `<https://${filler}> y`]
    for (const construct of constructs) {
      const kept = new Set<boolean>()
      for (let length = 1988; length <= 2004; length++) {
        const text = construct('a'.repeat(length))
        const expected = formatReply(text, markdown)
        kept.add(expected === text)
        for (let round = 0; round < 2; round++) assert.equal(streamed(splitAt(text, next, 40), markdown).join(''), expected)
      }
      assert.deepEqual(kept, new Set([true, false]), construct('…'))
    }
  })

  it('equals the batch result for any split (property)', () => {
    const pieces = [
      'word', 'Привет', 'мир', '42', 'snake_case', '2*3*4', ' ', ' ', ' ', '  ', '\t', '\n', '\n', '\n\n', '\\', '\\*', '!',
      '**', '*', '***', '__', '_', '~~', '~', '`', '``', '```', '```js\n', '~~~\n', '[', ']', '](', ')', '(', '<', '>',
      '[link](https://x.dev/a_(b))', '![img](a.png "t")', '<https://y.z>', '<b>', 'https://x.com/a_b*c', '|---|:-:|',
      '| a | b |', '# ', '## ', '> ', '- ', '* ', '+ ', '1. ', '---', '***\n', '#',
      '😀', '👨‍👩‍👧‍👦', '🇺🇸', '🇫🇷', '👍🏽', '❤️', '❤', '©', '1️⃣', '#️⃣', '🏴󠁧󠁢󠁳󠁣󠁴󠁿', '👩🏿‍💻', '🏳️‍🌈', '☝🏻', '✔', '✅',
      '\u200d', '\ufe0f', '\u20e3', '🏻',
    ]
    const seed = 20260101
    const next = random(seed)
    for (let round = 0; round < 400; round++) {
      let text = ''
      const count = 1 + Math.floor(next() * 40)
      for (let index = 0; index < count; index++) text += pieces[Math.floor(next() * pieces.length)]
      for (const options of allOptions) {
        const expected = formatReply(text, options)
        const splits = [splitAt(text, next, 1), splitAt(text, next, 3), splitAt(text, next, 12), [...text].flatMap((char) => char.split(''))]
        for (const chunks of splits) {
          assert.equal(streamed(chunks, options).join(''), expected, JSON.stringify({ seed, round, options, chunks }))
        }
      }
    }
  })
})

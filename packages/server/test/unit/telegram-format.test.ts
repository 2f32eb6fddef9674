import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { escapeHtml, markdownToTelegramHtml, plainText, renderForTelegram, TELEGRAM_MESSAGE_LIMIT, type TelegramPart } from '../../src/modules/integrations/channels/telegram/format.ts'
import { random } from '../support/random.ts'

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' }
const INLINE = new Set(['b', 'i', 'u', 's', 'tg-spoiler'])

/**
 * Parses Telegram HTML as strictly as its documentation reads (Formatting options, HTML style):
 * only its tags, only `&lt; &gt; &amp; &quot;` and numeric entities, every tag closed in order,
 * no nested blockquotes, nothing inside `code`/`pre` but text (and `pre>code class="language-x"`),
 * no link inside a link. Returns the visible text ("after entities parsing").
 */
function parseTelegramHtml(html: string): string {
  const stack: Array<{ name: string; attributes: string }> = []
  let text = ''
  const token = /<(\/?)([a-z-]+)((?:\s+[a-z-]+="[^"<>]*")*)\s*>|&(#\d+|#x[0-9a-f]+|[a-z]+);|([^<>&]+)|([<>&])/giy
  let match: RegExpExecArray | null
  while ((match = token.exec(html)) !== null) {
    const [, closing, name, attributes, entity, plain, stray] = match
    if (stray !== undefined) throw new Error(`unescaped ${stray} at ${match.index} in ${html}`)
    if (plain !== undefined) {
      text += plain
      continue
    }
    if (entity !== undefined) {
      if (entity.startsWith('#')) text += String.fromCodePoint(entity[1] === 'x' ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)))
      else if (ENTITIES[entity] !== undefined) text += ENTITIES[entity]
      else throw new Error(`unsupported entity &${entity}; in ${html}`)
      continue
    }
    if (closing) {
      const top = stack.pop()
      if (top?.name !== name) throw new Error(`</${name}> closes <${top?.name}> in ${html}`)
      continue
    }
    const names = stack.map((entry) => entry.name)
    const parent = names.at(-1)
    if (!['b', 'i', 'u', 's', 'tg-spoiler', 'a', 'code', 'pre', 'blockquote'].includes(name!)) throw new Error(`<${name}> is not Telegram's in ${html}`)
    if (parent === 'code' || (parent === 'pre' && name !== 'code')) throw new Error(`<${name}> inside <${parent}> in ${html}`)
    if ((name === 'code' || name === 'pre') && names.some((other) => INLINE.has(other))) throw new Error(`<${name}> inside ${names} in ${html}`)
    if (name === 'a' && names.includes('a')) throw new Error(`nested links in ${html}`)
    if (name === 'code' && names.includes('a')) throw new Error(`code in a link in ${html}`)
    if (name === 'blockquote' && names.includes('blockquote')) throw new Error(`nested blockquote in ${html}`)
    if (name === 'a' ? !/^\s+href="[^"]*"$/.test(attributes!) : name === 'code' && parent === 'pre' ? !/^(\s+class="language-[^"]+")?$/.test(attributes!) : attributes !== '') throw new Error(`attributes ${attributes} on <${name}> in ${html}`)
    stack.push({ name: name!, attributes: attributes! })
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.map((entry) => entry.name)} in ${html}`)
  return text
}

function checkParts(parts: TelegramPart[], limit = TELEGRAM_MESSAGE_LIMIT): void {
  for (const [index, part] of parts.entries()) {
    const visible = parseTelegramHtml(part.html)
    assert.ok(part.plain.length <= limit, `part ${index}: plain ${part.plain.length} > ${limit}`)
    assert.ok(visible.length <= part.plain.length, `part ${index}: visible ${visible.length} > plain ${part.plain.length}`)
    assert.match(visible, /\S/u, `part ${index} shows nothing`)
    assert.match(part.plain, /\S/u)
  }
}

describe('the Telegram HTML checker of these tests', () => {
  it('refuses what Telegram refuses', () => {
    for (const bad of ['<b>x', '<b><i>x</b></i>', 'a < b', 'a & b', '<p>x</p>', '<b class="x">x</b>', '<code><b>x</b></code>', '<b><code>x</code></b>', '<blockquote><blockquote>x</blockquote></blockquote>', '&nbsp;', '<a href="x"><a href="y">z</a></a>']) {
      assert.throws(() => parseTelegramHtml(bad), Error, bad)
    }
    assert.equal(parseTelegramHtml('<b>a &lt;&amp;&gt; &quot;</b><pre><code class="language-js">x</code></pre>&#128512;'), 'a <&> "x😀')
  })
})

describe('markdownToTelegramHtml', () => {
  it('renders what language models write', () => {
    const cases: [string, string][] = [
      ['**bold**, *italic*, _italic_, ***both***, ~~struck~~', '<b>bold</b>, <i>italic</i>, <i>italic</i>, <i><b>both</b></i>, <s>struck</s>'],
      ['Use `a < b && c > d`.', 'Use <code>a &lt; b &amp;&amp; c &gt; d</code>.'],
      ['```ts\nif (a < b && c > d) {}\n```', '<pre><code class="language-ts">if (a &lt; b &amp;&amp; c &gt; d) {}</code></pre>'],
      ['```\nno language\n```', '<pre>no language</pre>'],
      ['```weird lang"><script>\nx\n```', '<pre><code class="language-weird">x</code></pre>'],
      ['```"><b>\nx\n```', '<pre>x</pre>'],
      ['See [the docs](https://example.com/a?b=1&c="2").', 'See <a href="https://example.com/a?b=1&amp;c=&quot;2&quot;">the docs</a>.'],
      ['Go to https://example.com now', 'Go to <a href="https://example.com">https://example.com</a> now'],
      ['# Title\n\n## Sub **x**', '<b>Title</b>\n\n<b>Sub x</b>'],
      ['- one\n- two\n  - nested\n\n1. first\n2. second', '• one\n• two\n   ◦ nested\n\n1. first\n2. second'],
      ['3. three\n4. four', '3. three\n4. four'],
      ['- [x] done\n- [ ] todo', '☑ done\n☐ todo'],
      ['> quoted **q**\n> more', '<blockquote>quoted <b>q</b>\nmore</blockquote>'],
      ['> outer\n>> inner', '<blockquote>outer\n\ninner</blockquote>'],
      ['a ||secret|| b', 'a <tg-spoiler>secret</tg-spoiler> b'],
      ['1 < 2 & 3 > 2', '1 &lt; 2 &amp; 3 &gt; 2'],
      ['<b>not a tag</b> <script>x</script>', '&lt;b&gt;not a tag&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;'],
      ['line one<br>line two', 'line one\nline two'],
      ['a  \nb', 'a\nb'],
      ['---', '———'],
      ['| a | b |\n|---|---|\n| 1 | 2 |', '<b>a | b</b>\n1 | 2'],
      ['[rel](/docs) and [mail](mailto:a@b.c) and [js](javascript:alert(1))', 'rel and mail (a@b.c) and js'],
      ['![a cat](https://example.com/cat.png)', '<a href="https://example.com/cat.png">a cat</a>'],
      ['[ref][1]\n\n[1]: https://example.com', '<a href="https://example.com">ref</a>'],
      ['&amp; &copy; &#x1F600;', '&amp; © 😀'],
      ['Привет, **мир** 👋🏽', 'Привет, <b>мир</b> 👋🏽'],
    ]
    for (const [markdown, html] of cases) {
      assert.equal(markdownToTelegramHtml(markdown), html, JSON.stringify(markdown))
      parseTelegramHtml(html)
    }
  })

  it('leaves unbalanced or intraword markers as text', () => {
    const cases: [string, string][] = [
      ['**unclosed bold', '**unclosed bold'],
      ['*half', '*half'],
      ['snake_case_name and a * b * c', 'snake_case_name and a * b * c'],
      ['`unclosed code', '`unclosed code'],
      ['[not a link]', '[not a link]'],
      ['~~not closed', '~~not closed'],
      ['about ~5 minutes', 'about ~5 minutes'],
    ]
    for (const [markdown, html] of cases) assert.equal(markdownToTelegramHtml(markdown), html, JSON.stringify(markdown))
  })

  it('follows Telegram nesting rules: no marks around code, no code in links, no nested links or quotes', () => {
    assert.equal(markdownToTelegramHtml('**bold `code` bold**'), '<b>bold </b><code>code</code><b> bold</b>')
    assert.equal(markdownToTelegramHtml('[`code`](https://x.y)'), '<a href="https://x.y">code</a>')
    assert.equal(markdownToTelegramHtml('[**b** text](https://x.y)'), '<a href="https://x.y"><b>b</b> text</a>')
    assert.equal(markdownToTelegramHtml('> ```js\n> x < 1\n> ```'), '<blockquote><pre><code class="language-js">x &lt; 1</code></pre></blockquote>')
    assert.equal(markdownToTelegramHtml('> a\n>\n> > b'), '<blockquote>a\n\nb</blockquote>')
  })

  it('produces well-formed Telegram HTML for any input', () => {
    const pieces = ['**', '*', '_', '__', '`', '```', '~~', '[', ']', '(', ')', '<', '>', '&', '#', '- ', '1. ', '> ', '\n', '\n\n', ' ', 'word', 'https://x.y/z', '|', '||', '😀', '\\', '![', '<b>', '&lt;', '    ']
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed)
      let markdown = ''
      const length = Math.floor(next() * 80)
      for (let i = 0; i < length; i++) markdown += pieces[Math.floor(next() * pieces.length)]!
      const html = markdownToTelegramHtml(markdown)
      assert.doesNotThrow(() => parseTelegramHtml(html), `seed ${seed}: ${JSON.stringify(markdown)}`)
      checkParts(renderForTelegram(markdown, 40), 40)
    }
  })
})

describe('plainText', () => {
  it('drops the markup but keeps bullets, numbers, code and link addresses', () => {
    const markdown = '# Title\n\nSome **bold** and `x < y`.\n\n- [docs](https://example.com)\n- https://example.com\n\n> quoted\n> lines\n\n```sh\nnpm i\n```'
    assert.equal(plainText(markdown), 'Title\n\nSome bold and x < y.\n\n• docs (https://example.com)\n• https://example.com\n\n> quoted\n> lines\n\nnpm i')
  })

  it('leaves no blank lines for empty blocks', () => {
    assert.equal(plainText('a\n\n```\n```\n\nb'), 'a\n\nb')
    assert.equal(markdownToTelegramHtml('a\n\n```\n```\n\n[](<>)\n\nb'), 'a\n\nb')
  })

  it('is empty for blank Markdown', () => {
    assert.equal(plainText(''), '')
    assert.equal(plainText('  \n\n '), '')
  })
})

describe('renderForTelegram', () => {
  it('sends a short reply as one part', () => {
    assert.deepEqual(renderForTelegram('Hello **world**'), [{ html: 'Hello <b>world</b>', plain: 'Hello world' }])
    assert.deepEqual(renderForTelegram(''), [])
    assert.deepEqual(renderForTelegram(' \n '), [])
  })

  it('splits a long reply at paragraphs, each part within 4096 and well-formed', () => {
    const paragraph = (i: number) => `Paragraph ${i} has **bold words** and a [link](https://example.com/${i}) and \`code <${i}>\`. `.repeat(8)
    const markdown = Array.from({ length: 40 }, (_, i) => paragraph(i)).join('\n\n')
    const parts = renderForTelegram(markdown)
    assert.ok(parts.length > 1)
    checkParts(parts)
    for (const part of parts) assert.match(part.plain, /^Paragraph \d+/)
    assert.equal(parts.map((part) => part.plain).join('\n\n'), plainText(markdown))
  })

  it('splits one very long paragraph at sentences, closing and reopening marks across the cut', () => {
    const markdown = '**' + 'This sentence is bold. '.repeat(400).trim() + '**'
    const parts = renderForTelegram(markdown)
    assert.ok(parts.length >= 3)
    checkParts(parts)
    for (const part of parts) {
      assert.ok(part.html.startsWith('<b>') && part.html.endsWith('</b>'), part.html.slice(0, 40))
      assert.ok(part.plain.endsWith('.'))
    }
  })

  it('splits a very long code block at its lines, each part its own pre with the language', () => {
    const code = Array.from({ length: 600 }, (_, i) => `  if (x${i} < ${i} && y > 0) { call(${i}) }`).join('\n')
    const parts = renderForTelegram(`Here:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`)
    checkParts(parts)
    assert.ok(parts.length >= 6)
    const codeParts = parts.filter((part) => part.html.includes('<pre>') || part.html.includes('<pre><code'))
    for (const part of codeParts) assert.ok(part.html.includes('<pre><code class="language-ts">'), part.html.slice(0, 80))
    // Lines are whole and keep their indentation.
    const lines = codeParts.flatMap((part) => part.plain.split('\n')).filter((line) => line.includes('call('))
    assert.equal(lines.length, 600)
    for (const line of lines) assert.match(line, /^ {2}if \(x\d+ < \d+ && y > 0\) \{ call\(\d+\) \}$/)
  })

  it('keeps a code block that fits in a message out of the cut', () => {
    const code = '```py\n' + 'print("hi")\n'.repeat(200) + '```'
    const before = 'Intro sentence here. '.repeat(150)
    const parts = renderForTelegram(`${before}\n\n${code}`)
    checkParts(parts)
    assert.equal(parts.filter((part) => part.html.includes('<pre>') || part.html.includes('<pre><code')).length, 1)
  })

  it('counts what Telegram counts: the visible text, so escaping does not use up the limit', () => {
    const markdown = '<&>'.repeat(1300) // 3900 visible characters, 15600 once escaped
    const parts = renderForTelegram(markdown)
    assert.equal(parts.length, 1)
    assert.equal(parseTelegramHtml(parts[0]!.html), '<&>'.repeat(1300))
  })

  it('never cuts an emoji in half, counting UTF-16 code units', () => {
    const parts = renderForTelegram('😀'.repeat(3000))
    checkParts(parts)
    assert.deepEqual(parts.map((part) => part.plain.length), [4096, 1904])
    assert.equal(parts.map((part) => part.plain).join(''), '😀'.repeat(3000))
  })

  it('sends a link address cut off from its text as escaped text, never an empty message', () => {
    const parts = renderForTelegram('[' + 'x'.repeat(30) + '](https://example.com/' + 'p'.repeat(30) + ')', 40)
    checkParts(parts, 40)
    assert.equal(parts.map((part) => part.plain).join('').replace(/\s/g, ''), 'x'.repeat(30) + '(https://example.com/' + 'p'.repeat(30) + ')')
    assert.ok(parts.length >= 2 && parts.slice(1).every((part) => part.html === escapeHtml(part.plain)))
  })

  it('escapes text for HTML', () => {
    assert.equal(escapeHtml('a < b && c > "d"'), 'a &lt; b &amp;&amp; c &gt; "d"')
  })
})

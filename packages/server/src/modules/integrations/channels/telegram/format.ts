/**
 * A reply's Markdown, as language models write it, rendered for Telegram: HTML for
 * `parse_mode: 'HTML'` with only the tags Telegram accepts (b, i, u, s, tg-spoiler, a href, code,
 * pre, pre>code class="language-x", blockquote), a plain-text fallback for when Telegram refuses
 * the markup, and both split into messages under Telegram's 4096-character limit.
 *
 * The Markdown is parsed by mdast-util-from-markdown with GFM (CommonMark's rules: `**unclosed`
 * stays literal, `snake_case` is not emphasis); this file turns its tree into runs of text each
 * with the marks that apply to it, then into HTML. What Telegram cannot show becomes text:
 * headings are bold, list items get bullets or numbers, tables become lines of `a | b`, images
 * their alt text as a link, raw HTML its source (escaped), `---` a line.
 *
 * Telegram's nesting rules (Formatting options): bold, italic, underline, strikethrough and
 * spoiler may contain or be part of anything except `code` and `pre`; blockquotes do not nest; other
 * entities do not contain each other. So inside inline code and code blocks the other marks are
 * dropped, and inline code inside a link is dropped in favour of the link.
 */
import type { Nodes, Parents, PhrasingContent, Root, RootContent } from 'mdast'
import { fromMarkdown } from 'mdast-util-from-markdown'
import { gfmFromMarkdown } from 'mdast-util-gfm'
import { gfm } from 'micromark-extension-gfm'
import { splitRanges, type TextRange } from '../split.ts'

/** Telegram's limit on a message's text, "1-4096 characters after entities parsing" (sendMessage). */
export const TELEGRAM_MESSAGE_LIMIT = 4096

/** One message to send: `html` for parse_mode HTML, `plain` to send instead if Telegram refuses the markup. */
export type TelegramPart = { html: string; plain: string }

type Mark =
  | { kind: 'b' | 'i' | 'u' | 's' | 'tg-spoiler' | 'code' | 'blockquote' }
  | { kind: 'pre'; language?: string }
  | { kind: 'a'; href: string }

/**
 * A run of text with its marks, outermost first. `plainOnly` runs are in the plain text but not in
 * the HTML (a link's address after its text, `> ` before a quoted line), so the HTML's visible
 * text is always a subsequence of the plain text, never longer.
 */
type Run = { text: string; marks: Mark[]; plainOnly?: boolean }

type Rendered = { runs: Run[]; plain: string; keepTogether: TextRange[] }

/** Escapes text for Telegram HTML: `&`, `<` and `>` (the only characters it requires escaped in text). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>]/g, (char) => (char === '&' ? '&amp;' : char === '<' ? '&lt;' : '&gt;'))
}

function escapeAttribute(text: string): string {
  return escapeHtml(text).replace(/"/g, '&quot;')
}

/** The whole reply as Telegram HTML, unsplit. */
export function markdownToTelegramHtml(markdown: string): string {
  const { runs } = render(markdown)
  return runsToHtml(runs.filter((run) => !run.plainOnly))
}

/**
 * The reply without markup: emphasis dropped, list bullets and numbers kept, code without fences,
 * a link as `text (address)`, quoted lines after `> `.
 */
export function plainText(markdown: string): string {
  return render(markdown).plain
}

/**
 * The reply as Telegram messages, in order: each part's `plain` is at most `limit` UTF-16 code
 * units, and its `html` is well-formed on its own (every tag opened in it is closed in it; marks
 * that span a cut are closed before it and opened again after it) with visible text no longer
 * than its `plain`. The cuts are the splitter's (split.ts) on the plain text: paragraph, line,
 * sentence, word; a code block or a link with its address is not cut when it fits in a message.
 * Blank Markdown gives no parts.
 */
export function renderForTelegram(markdown: string, limit: number = TELEGRAM_MESSAGE_LIMIT): TelegramPart[] {
  const { runs, plain, keepTogether } = render(markdown)
  const parts: TelegramPart[] = []
  for (const range of splitRanges(plain, limit, { keepTogether, markdownFences: false })) {
    const slice: Run[] = []
    let at = 0
    for (const run of runs) {
      const start = Math.max(at, range.start)
      const end = Math.min(at + run.text.length, range.end)
      if (start < end && !run.plainOnly) slice.push({ text: run.text.slice(start - at, end - at), marks: run.marks })
      at += run.text.length
      if (at >= range.end) break
    }
    const partPlain = plain.slice(range.start, range.end)
    // A part that holds nothing visible in HTML (a link's address cut off from its text) goes as escaped plain text.
    const html = slice.some((run) => /\S/u.test(run.text)) ? runsToHtml(slice) : escapeHtml(partPlain)
    parts.push({ html, plain: partPlain })
  }
  return parts
}

// ————— Markdown → runs —————

const parseOptions = { extensions: [gfm({ singleTilde: false })], mdastExtensions: [gfmFromMarkdown()] }

function render(markdown: string): Rendered {
  const tree = fromMarkdown(markdown, parseOptions)
  const builder = new Builder(definitions(tree))
  builder.blocks(tree.children, [], '\n\n', 0)
  return builder.result()
}

function definitions(tree: Root): Map<string, string> {
  const found = new Map<string, string>()
  const visit = (node: Nodes) => {
    if (node.type === 'definition' && !found.has(node.identifier)) found.set(node.identifier, node.url)
    if ('children' in node) for (const child of node.children) visit(child)
  }
  visit(tree)
  return found
}

const BULLETS = ['•', '◦', '▪']
const SPOILER = /\|\|(?=\S)([^|\n]*?\S)\|\|/g

class Builder {
  private readonly runs: Run[] = []
  private plain = ''
  private readonly keepTogether: TextRange[] = []
  private pending: { text: string; marks: Mark[] } | undefined
  /** Told where each emitted text starts, while `together` is collecting a range. */
  private contentStarts: ((at: number) => void) | undefined
  private readonly definitions: Map<string, string>

  constructor(definitions: Map<string, string>) {
    this.definitions = definitions
  }

  result(): Rendered {
    return { runs: this.runs, plain: this.plain, keepTogether: this.keepTogether }
  }

  /** Adds text; a separator set by `separate` goes first, unless nothing came before it. */
  emit(text: string, marks: Mark[], plainOnly = false): void {
    if (text === '') return
    const pending = this.pending
    this.pending = undefined
    if (pending && this.plain !== '') this.add(pending.text, pending.marks, false)
    this.contentStarts?.(this.plain.length)
    this.add(text, marks, plainOnly)
  }

  /**
   * A separator between blocks, added only if text follows (so empty blocks leave no blank lines).
   * Of separators in a row the longest is kept, with the marks of the last (the outermost block's:
   * the blank line after a quote is not quoted).
   */
  separate(text: string, marks: Mark[]): void {
    this.pending = { text: this.pending && this.pending.text.length > text.length ? this.pending.text : text, marks }
  }

  /** Text that is kept whole by the splitter when it fits in a message (from its first character, after any separator). */
  together(emit: () => void): void {
    let start: number | undefined
    const outer = this.contentStarts
    this.contentStarts = (at) => {
      start ??= at
      outer?.(at)
    }
    emit()
    this.contentStarts = outer
    if (start !== undefined && this.plain.length > start) this.keepTogether.push({ start, end: this.plain.length })
  }

  private add(text: string, marks: Mark[], plainOnly: boolean): void {
    const quoted = marks.some((mark) => mark.kind === 'blockquote')
    // Quoted lines start with `> ` in the plain text.
    let rest = text
    while (rest !== '') {
      if (quoted && !plainOnly && (this.plain === '' || this.plain.endsWith('\n'))) this.push(rest.startsWith('\n') ? '>' : '> ', marks, true)
      const newline = rest.indexOf('\n')
      const piece = !quoted || newline === -1 ? rest : rest.slice(0, newline + 1)
      this.push(piece, marks, plainOnly)
      rest = rest.slice(piece.length)
    }
  }

  private push(text: string, marks: Mark[], plainOnly: boolean): void {
    const normalized = normalizeMarks(marks)
    const last = this.runs.at(-1)
    if (last && !!last.plainOnly === plainOnly && sameMarks(last.marks, normalized)) last.text += text
    else this.runs.push(plainOnly ? { text, marks: normalized, plainOnly } : { text, marks: normalized })
    this.plain += text
  }

  blocks(nodes: RootContent[], marks: Mark[], separator: string, depth: number): void {
    for (const node of nodes) {
      this.block(node, marks, depth)
      this.separate(separator, marks)
    }
  }

  block(node: RootContent, marks: Mark[], depth: number): void {
    switch (node.type) {
      case 'paragraph':
        return this.inlines(node.children, marks)
      case 'heading':
        return this.inlines(node.children, [...marks, { kind: 'b' }])
      case 'thematicBreak':
        return this.emit('———', marks)
      case 'blockquote':
        return this.blocks(node.children, marks.some((mark) => mark.kind === 'blockquote') ? marks : [...marks, { kind: 'blockquote' }], '\n\n', depth)
      case 'code': {
        const language = node.lang && /^[\w#+.-]{1,32}$/.test(node.lang) ? node.lang : undefined
        const pre: Mark = language ? { kind: 'pre', language } : { kind: 'pre' }
        return this.together(() => this.emit(node.value, [...marks, pre]))
      }
      case 'list': {
        const start = node.start ?? 1
        node.children.forEach((item, index) => {
          if (index > 0) this.separate('\n', marks)
          const box = item.checked === true ? '☑' : item.checked === false ? '☐' : undefined
          const bullet = box ?? (node.ordered ? `${start + index}.` : BULLETS[depth % BULLETS.length]!)
          this.emit(`${'   '.repeat(depth)}${bullet} `, marks)
          item.children.forEach((child, childIndex) => {
            if (childIndex > 0) this.separate('\n', marks)
            if (child.type === 'list') this.block(child, marks, depth + 1)
            else this.block(child, marks, depth)
          })
        })
        return
      }
      case 'table':
        node.children.forEach((row, rowIndex) => {
          if (rowIndex > 0) this.separate('\n', marks)
          const rowMarks: Mark[] = rowIndex === 0 ? [...marks, { kind: 'b' }] : marks
          row.children.forEach((cell, cellIndex) => {
            if (cellIndex > 0) this.emit(' | ', rowMarks)
            this.inlines(cell.children, rowMarks)
          })
        })
        return
      case 'html':
        return this.html(node.value, marks)
      case 'footnoteDefinition':
        this.emit(`[${node.label ?? node.identifier}] `, marks)
        return this.blocks(node.children, marks, '\n', depth)
      case 'definition':
      case 'yaml':
        return
      default:
        // Inline content where a block was expected (the types allow it); render it as inline.
        return this.inlines([node as PhrasingContent], marks)
    }
  }

  inlines(nodes: PhrasingContent[], marks: Mark[]): void {
    for (const node of nodes) this.inline(node, marks)
  }

  inline(node: PhrasingContent, marks: Mark[]): void {
    switch (node.type) {
      case 'text':
        return this.text(node.value, marks)
      case 'emphasis':
        return this.inlines(node.children, [...marks, { kind: 'i' }])
      case 'strong':
        return this.inlines(node.children, [...marks, { kind: 'b' }])
      case 'delete':
        return this.inlines(node.children, [...marks, { kind: 's' }])
      case 'inlineCode':
        return this.emit(node.value, [...marks, { kind: 'code' }])
      case 'break':
        return this.emit('\n', marks)
      case 'link':
        return this.link(node.url, marks, (inner) => this.inlines(node.children, inner), toText(node))
      case 'linkReference':
        return this.link(this.definitions.get(node.identifier) ?? '', marks, (inner) => this.inlines(node.children, inner), toText(node))
      case 'image':
        return this.link(node.url, marks, (inner) => this.emit(node.alt || node.url, inner), node.alt || node.url)
      case 'imageReference': {
        const url = this.definitions.get(node.identifier) ?? ''
        return this.link(url, marks, (inner) => this.emit(node.alt || url, inner), node.alt || url)
      }
      case 'html':
        return this.html(node.value, marks)
      case 'footnoteReference':
        return this.emit(`[${node.label ?? node.identifier}]`, marks)
      default: {
        // Phrasing from an mdast extension not enabled here: its text.
        const other = node as Nodes
        if ('children' in other) return this.inlines((other as Parents).children as PhrasingContent[], marks)
        if ('value' in other && typeof other.value === 'string') return this.emit(other.value, marks)
      }
    }
  }

  /** Text, with `||spoilers||` (as Discord and Telegram's MarkdownV2 write them) as spoilers. */
  private text(value: string, marks: Mark[]): void {
    let at = 0
    for (const match of value.matchAll(SPOILER)) {
      this.emit(value.slice(at, match.index), marks)
      this.emit(match[1]!, [...marks, { kind: 'tg-spoiler' }])
      at = match.index + match[0].length
    }
    this.emit(value.slice(at), marks)
  }

  /**
   * A link Telegram can open (http, https, tg) is an `a`, with its address after it in the plain
   * text when that differs from its text; any other (relative, mailto:, javascript:) is its text,
   * with the address shown after it when it is an e-mail address or absolute.
   */
  private link(url: string, marks: Mark[], content: (marks: Mark[]) => void, text: string): void {
    const shown = url.replace(/^mailto:/i, '')
    if (text.trim() === '' && shown !== '') {
      // `[](url)`: the address is the text.
      text = shown
      content = (inner) => this.emit(shown, inner)
    }
    const differs = shown !== '' && shown !== text && url !== text
    if (linkable(url) && !marks.some((mark) => mark.kind === 'a')) {
      return this.together(() => {
        content([...marks, { kind: 'a', href: url }])
        if (differs) this.emit(` (${url})`, marks, true)
      })
    }
    content(marks)
    if (differs && /^(mailto:|[a-z][a-z0-9+.-]*:\/\/)/i.test(url)) this.emit(` (${shown})`, marks)
  }

  private html(value: string, marks: Mark[]): void {
    if (/^<br\s*\/?>$/i.test(value.trim())) return this.emit('\n', marks)
    this.emit(value, marks)
  }
}

function toText(node: Nodes): string {
  if ('value' in node && typeof node.value === 'string') return node.value
  if (node.type === 'image' || node.type === 'imageReference') return node.alt ?? ''
  if ('children' in node) return (node.children as Nodes[]).map(toText).join('')
  return ''
}

/** Whether Telegram opens this address from a link: http, https and tg only. */
function linkable(url: string): boolean {
  try {
    const { protocol } = new URL(url)
    return protocol === 'http:' || protocol === 'https:' || protocol === 'tg:'
  } catch {
    return false
  }
}

/** Applies Telegram's nesting rules and removes repeated marks (the outermost of a kind stays). */
function normalizeMarks(marks: Mark[]): Mark[] {
  const unique: Mark[] = []
  for (const mark of marks) if (!unique.some((other) => other.kind === mark.kind)) unique.push(mark)
  const quote = unique.filter((mark) => mark.kind === 'blockquote')
  const pre = unique.find((mark) => mark.kind === 'pre')
  if (pre) return [...quote, pre]
  const code = unique.find((mark) => mark.kind === 'code')
  if (code) {
    const link = unique.find((mark) => mark.kind === 'a')
    return link ? unique.filter((mark) => mark.kind !== 'code') : [...quote, code]
  }
  return unique
}

function sameMark(a: Mark, b: Mark): boolean {
  if (a.kind !== b.kind) return false
  if (a.kind === 'a' && b.kind === 'a') return a.href === b.href
  if (a.kind === 'pre' && b.kind === 'pre') return a.language === b.language
  return true
}

function sameMarks(a: Mark[], b: Mark[]): boolean {
  return a.length === b.length && a.every((mark, index) => sameMark(mark, b[index]!))
}

// ————— runs → HTML —————

function openTag(mark: Mark): string {
  switch (mark.kind) {
    case 'a':
      return `<a href="${escapeAttribute(mark.href)}">`
    case 'pre':
      return mark.language ? `<pre><code class="language-${escapeAttribute(mark.language)}">` : '<pre>'
    default:
      return `<${mark.kind}>`
  }
}

function closeTag(mark: Mark): string {
  if (mark.kind === 'pre') return mark.language ? '</code></pre>' : '</pre>'
  return `</${mark.kind}>`
}

/** HTML for runs: each run's marks opened as it starts and closed as it ends, shared outer marks kept open between runs. */
function runsToHtml(runs: Run[]): string {
  let html = ''
  let open: Mark[] = []
  for (const run of runs) {
    let common = 0
    while (common < open.length && common < run.marks.length && sameMark(open[common]!, run.marks[common]!)) common++
    for (let index = open.length - 1; index >= common; index--) html += closeTag(open[index]!)
    for (let index = common; index < run.marks.length; index++) html += openTag(run.marks[index]!)
    open = run.marks
    html += escapeHtml(run.text)
  }
  for (let index = open.length - 1; index >= 0; index--) html += closeTag(open[index]!)
  return html
}

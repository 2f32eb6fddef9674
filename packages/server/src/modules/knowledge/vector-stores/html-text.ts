import { Parser } from 'htmlparser2'

// The text a reader of an HTML page sees, for indexing: no scripts, styles or hidden
// elements; whitespace collapsed as a browser would; block elements on their own lines.

/** Elements whose content is never shown as page text. */
const INVISIBLE = new Set(['script', 'style', 'noscript', 'template'])

/** Blocks that read as paragraphs get a blank line around them; other blocks a line break. */
const PARAGRAPH_BLOCKS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'table', 'ul', 'ol', 'dl', 'hr', 'figure', 'title'])
const LINE_BLOCKS = new Set([
  'address', 'article', 'aside', 'body', 'caption', 'dd', 'details', 'dialog', 'div', 'dt', 'fieldset', 'figcaption',
  'footer', 'form', 'header', 'hgroup', 'html', 'li', 'main', 'nav', 'option', 'section', 'summary', 'tbody', 'tfoot',
  'thead', 'tr',
])
const TABLE_CELLS = new Set(['td', 'th'])
const PREFORMATTED = new Set(['pre', 'textarea', 'listing', 'plaintext'])

/**
 * @example
 * htmlVisibleText('<p>Hello <b>world</b></p><script>x()</script>') // 'Hello world\n\n'
 */
export function htmlVisibleText(html: string): string {
  const writer = new TextWriter()
  let hiddenDepth = 0
  let preformattedDepth = 0

  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (hiddenDepth > 0 || INVISIBLE.has(name) || Object.hasOwn(attributes, 'hidden')) {
          hiddenDepth++
          return
        }
        if (name === 'br') writer.newline()
        else if (PARAGRAPH_BLOCKS.has(name)) writer.breakLines(2)
        else if (LINE_BLOCKS.has(name)) writer.breakLines(1)
        if (PREFORMATTED.has(name)) preformattedDepth++
      },
      ontext(text) {
        if (hiddenDepth > 0) return
        if (preformattedDepth > 0) writer.writePreformatted(text)
        else writer.writeFlowing(text)
      },
      onclosetag(name) {
        if (hiddenDepth > 0) {
          hiddenDepth--
          return
        }
        if (PREFORMATTED.has(name)) preformattedDepth--
        if (PARAGRAPH_BLOCKS.has(name)) writer.breakLines(2)
        else if (LINE_BLOCKS.has(name)) writer.breakLines(1)
        else if (TABLE_CELLS.has(name)) writer.separate('\t')
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  )
  parser.write(html)
  parser.end()
  return writer.toString()
}

/** HTML's whitespace (not NBSP, which is content). */
const HTML_WHITESPACE_RUN = /[ \t\n\r\f]+/g

/**
 * Accumulates text, owing line breaks and separators until the next visible text, so empty
 * elements and whitespace-only text nodes never produce stray blank lines or spaces.
 */
class TextWriter {
  private readonly parts: string[] = []
  private newlinesOwed = 0
  private separatorOwed = ''
  private atLineStart = true

  breakLines(count: number): void {
    this.newlinesOwed = Math.max(this.newlinesOwed, count)
  }

  /** `<br>`: a line break even when several follow each other. */
  newline(): void {
    this.payOwedNewlines()
    this.parts.push('\n')
    this.atLineStart = true
    this.separatorOwed = ''
  }

  /** A gap between inline runs: a space, or a tab between table cells (a tab wins). */
  separate(separator: ' ' | '\t'): void {
    if (this.atLineStart && this.newlinesOwed === 0) return
    this.separatorOwed = separator === '\t' || this.separatorOwed === '\t' ? '\t' : ' '
  }

  writeFlowing(text: string): void {
    const collapsed = text.replace(HTML_WHITESPACE_RUN, ' ')
    if (collapsed === '') return
    const content = collapsed.slice(collapsed.startsWith(' ') ? 1 : 0, collapsed.endsWith(' ') ? -1 : undefined)
    if (collapsed.startsWith(' ')) this.separate(' ')
    if (content !== '') this.write(content)
    if (collapsed.endsWith(' ') && content !== '') this.separate(' ')
  }

  writePreformatted(text: string): void {
    if (text === '') return
    this.write(text)
    this.atLineStart = text.endsWith('\n')
  }

  toString(): string {
    return this.parts.join('')
  }

  private write(text: string): void {
    if (this.newlinesOwed > 0) this.payOwedNewlines()
    else if (this.separatorOwed !== '' && !this.atLineStart) this.parts.push(this.separatorOwed)
    this.separatorOwed = ''
    this.parts.push(text)
    this.atLineStart = false
  }

  private payOwedNewlines(): void {
    if (this.newlinesOwed > 0 && this.parts.length > 0) this.parts.push('\n'.repeat(this.newlinesOwed))
    if (this.newlinesOwed > 0) this.atLineStart = true
    this.newlinesOwed = 0
    this.separatorOwed = ''
  }
}

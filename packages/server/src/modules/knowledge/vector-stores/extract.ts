import { unzipSync, zipSync, type Unzipped } from 'fflate'
import { htmlVisibleText } from './html-text.ts'

// Text extraction for knowledge-base files: bytes in, normalised text out, or an
// ExtractionError whose message is shown to the user as the file's `last_error`.

export type DocumentFormat = 'text' | 'markdown' | 'html' | 'pdf' | 'docx' | 'json' | 'csv'

const FORMAT_BY_EXTENSION: Readonly<Record<string, DocumentFormat>> = {
  '.txt': 'text',
  '.text': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.pdf': 'pdf',
  '.docx': 'docx',
  '.json': 'json',
  '.csv': 'csv',
}

const FORMAT_BY_MIME_TYPE: Readonly<Record<string, DocumentFormat>> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/html': 'html',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/json': 'json',
  'text/csv': 'csv',
}

/** Lower-case, with the dot: `['.txt', '.text', '.md', …]`. */
export const SUPPORTED_EXTENSIONS: readonly string[] = Object.keys(FORMAT_BY_EXTENSION)
/** MIME essences (no parameters): `['text/plain', …]`. */
export const SUPPORTED_MIME_TYPES: readonly string[] = Object.keys(FORMAT_BY_MIME_TYPE)

export interface ExtractionLimits {
  /** Longest text a file may yield; longer files fail rather than being silently cut. */
  maxChars: number
  /** PDFs with more pages fail before any page is parsed. */
  maxPdfPages: number
  /** Declared uncompressed size of a DOCX's parts (media excluded); guards against zip bombs. */
  maxDocxUncompressedBytes: number
}

export const DEFAULT_EXTRACTION_LIMITS: ExtractionLimits = {
  maxChars: 5_000_000,
  maxPdfPages: 5_000,
  maxDocxUncompressedBytes: 100 * 1024 * 1024,
}

/** A file whose text cannot be extracted; the message is meant for the user. */
export class ExtractionError extends Error {
  override name = 'ExtractionError'
}

export interface ExtractionInput {
  bytes: Uint8Array
  filename: string
  mimeType?: string | null
}

export function extensionOf(filename: string): string | null {
  const basename = filename.slice(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1)
  const dot = basename.lastIndexOf('.')
  return dot > 0 ? basename.slice(dot).toLowerCase() : null
}

function essenceOf(mimeType: string | null | undefined): string | null {
  const essence = mimeType?.split(';')[0]?.trim().toLowerCase()
  return essence ? essence : null
}

/**
 * The format a file is read as: by its extension when that is one we know, otherwise by its
 * MIME type (parameters such as `; charset=utf-8` ignored); null when neither is supported.
 *
 * @example
 * supportedFormat('notes.MD', 'application/octet-stream') // 'markdown'
 * supportedFormat('notes', 'text/plain; charset=utf-8')   // 'text'
 * supportedFormat('image.png', 'image/png')               // null
 */
export function supportedFormat(filename: string, mimeType?: string | null): DocumentFormat | null {
  const extension = extensionOf(filename)
  if (extension && Object.hasOwn(FORMAT_BY_EXTENSION, extension)) return FORMAT_BY_EXTENSION[extension]!
  const essence = essenceOf(mimeType)
  if (essence && Object.hasOwn(FORMAT_BY_MIME_TYPE, essence)) return FORMAT_BY_MIME_TYPE[essence]!
  return null
}

/**
 * How to name an unsupported file's type in an error: its extension, else its MIME type.
 *
 * @example
 * `unsupported file type '${fileTypeLabel('photo.png', 'image/png')}'` // "unsupported file type '.png'"
 */
export function fileTypeLabel(filename: string, mimeType?: string | null): string {
  return extensionOf(filename) ?? essenceOf(mimeType) ?? 'unknown'
}

/**
 * @example
 * const { text, format } = await extractText({ bytes, filename: 'handbook.pdf', mimeType: 'application/pdf' })
 */
export async function extractText(
  input: ExtractionInput,
  limits: ExtractionLimits = DEFAULT_EXTRACTION_LIMITS,
): Promise<{ text: string; format: DocumentFormat }> {
  const format = supportedFormat(input.filename, input.mimeType)
  if (!format) throw new ExtractionError(`unsupported file type '${fileTypeLabel(input.filename, input.mimeType)}'`)
  const raw = await extractRawText(format, input.bytes, limits)
  const text = normalizeText(raw)
  if (text.length > limits.maxChars) throw tooLong(limits)
  return { text, format }
}

async function extractRawText(format: DocumentFormat, bytes: Uint8Array, limits: ExtractionLimits): Promise<string> {
  switch (format) {
    case 'text':
    case 'markdown':
    case 'csv':
      return decodeText(bytes, limits)
    case 'json':
      return validatedJson(decodeText(bytes, limits))
    case 'html':
      return htmlVisibleText(decodeText(bytes, limits, declaredHtmlCharset(bytes)))
    case 'pdf':
      return pdfText(bytes, limits)
    case 'docx':
      return docxText(bytes, limits)
  }
}

/**
 * Line endings to `\n`, NULs removed (Postgres text refuses them), lone surrogates replaced,
 * trailing whitespace trimmed per line, at most one blank line in a row, no blank lines at
 * either end.
 */
export function normalizeText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replaceAll('\0', '')
    .toWellFormed()
    // Line by line rather than /\s+$/gm, which is quadratic on long runs of spaces.
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+/, '')
    .trimEnd()
}

function tooLong(limits: ExtractionLimits): ExtractionError {
  return new ExtractionError(`the file's text is longer than ${limits.maxChars.toLocaleString('en-US')} characters, the limit per file`)
}

/**
 * UTF-8 (BOM stripped) unless a BOM says UTF-16 or an HTML page declares another charset.
 * Invalid UTF-8 or NUL bytes mean the file is not text.
 */
function decodeText(bytes: Uint8Array, limits: ExtractionLimits, declaredCharset?: string): string {
  // Refuse absurd sizes before decoding: a string that long may not even fit in V8, and only
  // a file of almost nothing but whitespace could normalise down under the limit.
  if (bytes.length > limits.maxChars * 4) throw tooLong(limits)
  const charset = bomCharset(bytes) ?? declaredCharset ?? 'utf-8'
  let text: string
  try {
    text = new TextDecoder(charset, { fatal: true }).decode(bytes)
  } catch {
    throw new ExtractionError(`the file is not valid ${charset.toUpperCase()} text (it may be binary)`)
  }
  if (text.includes('\0')) throw new ExtractionError('the file contains NUL bytes: it looks binary, not text')
  return text
}

function bomCharset(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le'
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be'
  return undefined
}

/** `<meta charset="…">` or its http-equiv form within the first 1024 bytes, as browsers look for it. */
function declaredHtmlCharset(bytes: Uint8Array): string | undefined {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 1024))
  const label = /<meta[^>]+charset\s*=\s*["']?([\w-]+)/i.exec(head)?.[1]
  if (!label) return undefined
  try {
    return new TextDecoder(label).encoding
  } catch {
    return undefined // an unknown label: browsers fall back too
  }
}

// Kept exactly as uploaded (not re-indented): search results then quote the file as its
// author wrote it, and minified JSON is not inflated with indentation tokens.
function validatedJson(text: string): string {
  try {
    JSON.parse(text)
  } catch (error) {
    throw new ExtractionError(`the file is not valid JSON: ${(error as Error).message}`)
  }
  return text
}

async function pdfText(bytes: Uint8Array, limits: ExtractionLimits): Promise<string> {
  // Loaded on first use: PDF.js is large, and unpdf's build runs without a worker or network.
  const { getDocumentProxy } = await import('unpdf')
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>
  try {
    // A plain Uint8Array copy: PDF.js refuses Buffers, and may detach the buffer it is given.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 })
  } catch (error) {
    throw new ExtractionError(`could not read the PDF: ${pdfProblem(error)}`)
  }
  try {
    if (pdf.numPages > limits.maxPdfPages) {
      throw new ExtractionError(`the PDF has ${pdf.numPages} pages, more than the limit of ${limits.maxPdfPages}`)
    }
    const pages: string[] = []
    let length = 0
    for (let pageNumber = 1; pageNumber <= pdf.numPages; pageNumber++) {
      const page = await pdf.getPage(pageNumber)
      const content = await page.getTextContent()
      const text = content.items.map((item) => ('str' in item ? item.str + (item.hasEOL ? '\n' : '') : '')).join('')
      page.cleanup()
      // Stop at the limit instead of parsing thousands more pages only to refuse them.
      length += text.length
      if (length > limits.maxChars) throw tooLong(limits)
      pages.push(text)
    }
    if (pages.every((text) => text.trim() === '')) {
      throw new ExtractionError('the PDF has no extractable text (scanned pages would need OCR, which is not supported)')
    }
    return pages.join('\n\n')
  } catch (error) {
    if (error instanceof ExtractionError) throw error
    throw new ExtractionError(`could not read the PDF: ${pdfProblem(error)}`)
  } finally {
    await pdf.loadingTask.destroy()
  }
}

function pdfProblem(error: unknown): string {
  if (error instanceof Error && error.name === 'PasswordException') return 'it is password-protected'
  return error instanceof Error ? error.message : String(error)
}

async function docxText(bytes: Uint8Array, limits: ExtractionLimits): Promise<string> {
  const parts = unzipDocxParts(bytes, limits)
  const { default: mammoth } = await import('mammoth')
  try {
    // Mammoth reads the zip again with JSZip, which trusts the sizes an archive claims; it
    // gets a stored (uncompressed) copy of the parts already inflated within the limit.
    const result = await mammoth.extractRawText({ buffer: Buffer.from(zipSync(parts, { level: 0 })) })
    return result.value
  } catch (error) {
    throw new ExtractionError(`could not read the DOCX: ${(error as Error).message}`)
  }
}

/**
 * The XML parts of a DOCX (media skipped: raw text never needs it), refusing archives whose
 * parts claim more than the limit. fflate inflates each part into a buffer of its claimed
 * size, so an archive that lies about sizes cannot expand past the limit either.
 */
function unzipDocxParts(bytes: Uint8Array, limits: ExtractionLimits): Unzipped {
  let claimedBytes = 0
  try {
    return unzipSync(bytes, {
      filter(entry) {
        if (!/\.(xml|rels)$/i.test(entry.name)) return false
        claimedBytes += entry.originalSize
        if (claimedBytes > limits.maxDocxUncompressedBytes) {
          throw new ExtractionError(
            `the DOCX expands to more than ${limits.maxDocxUncompressedBytes.toLocaleString('en-US')} bytes, the limit per file`,
          )
        }
        return true
      },
    })
  } catch (error) {
    if (error instanceof ExtractionError) throw error
    throw new ExtractionError(`the file is not a valid DOCX (zip) archive: ${(error as Error).message}`)
  }
}

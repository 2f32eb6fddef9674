import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { strToU8 } from 'fflate'
import {
  DEFAULT_EXTRACTION_LIMITS,
  ExtractionError,
  SUPPORTED_EXTENSIONS,
  SUPPORTED_MIME_TYPES,
  extractText,
  fileTypeLabel,
  normalizeText,
  supportedFormat,
  type ExtractionLimits,
} from '../../src/modules/knowledge/vector-stores/extract.ts'
import { buildDocx, buildPdf, documentXml, forgeZipUncompressedSize, run } from '../support/fixtures/documents.ts'

const utf8 = (text: string) => new TextEncoder().encode(text)

async function extracted(filename: string, bytes: Uint8Array, limits?: Partial<ExtractionLimits>): Promise<string> {
  const result = await extractText({ bytes, filename }, { ...DEFAULT_EXTRACTION_LIMITS, ...limits })
  return result.text
}

async function refused(filename: string, bytes: Uint8Array, message: RegExp, limits?: Partial<ExtractionLimits>): Promise<void> {
  await assert.rejects(extracted(filename, bytes, limits), (error: unknown) => {
    assert.ok(error instanceof ExtractionError, `expected an ExtractionError, got ${String(error)}`)
    assert.match(error.message, message)
    return true
  })
}

describe('supportedFormat', () => {
  it('decides by extension first, case-insensitively', () => {
    assert.equal(supportedFormat('notes.TXT', 'application/octet-stream'), 'text')
    assert.equal(supportedFormat('README.md', 'text/plain'), 'markdown')
    assert.equal(supportedFormat('a.markdown'), 'markdown')
    assert.equal(supportedFormat('page.HTM', null), 'html')
    assert.equal(supportedFormat('dir/report.final.pdf'), 'pdf')
    assert.equal(supportedFormat('C:\\docs\\letter.docx'), 'docx')
    assert.equal(supportedFormat('data.json'), 'json')
    assert.equal(supportedFormat('table.csv'), 'csv')
  })

  it('falls back to the MIME type, ignoring its parameters', () => {
    assert.equal(supportedFormat('notes', 'text/plain; charset=utf-8'), 'text')
    assert.equal(supportedFormat('export.bin', 'application/PDF'), 'pdf')
    assert.equal(supportedFormat('.bashrc', 'text/markdown'), 'markdown')
  })

  it('is null for unsupported types', () => {
    assert.equal(supportedFormat('photo.png', 'image/png'), null)
    assert.equal(supportedFormat('legacy.doc', 'application/msword'), null)
    assert.equal(supportedFormat('archive.zip'), null)
    assert.equal(supportedFormat('noextension', null), null)
    assert.equal(supportedFormat('toString', 'constructor'), null)
  })

  it('lists what it supports and labels what it does not', () => {
    assert.deepEqual([...SUPPORTED_EXTENSIONS].sort(), ['.csv', '.docx', '.htm', '.html', '.json', '.markdown', '.md', '.pdf', '.text', '.txt'])
    assert.ok(SUPPORTED_MIME_TYPES.includes('application/vnd.openxmlformats-officedocument.wordprocessingml.document'))
    assert.equal(fileTypeLabel('photo.PNG', 'image/png'), '.png')
    assert.equal(fileTypeLabel('photo', 'image/png; q=1'), 'image/png')
    assert.equal(fileTypeLabel('photo', null), 'unknown')
  })
})

describe('normalizeText', () => {
  it('fixes line endings, NULs, lone surrogates, trailing whitespace and blank-line runs', () => {
    const messy = '\n\nTitle  \r\nline\0 two\t\r\rthree \u00a0\n\n\n\n\nfour\uD800 \uDC00five\n\n'
    assert.equal(normalizeText(messy), 'Title\nline two\n\nthree\n\nfour\uFFFD \uFFFDfive')
  })

  it('keeps leading indentation, single blank lines and surrogate pairs', () => {
    assert.equal(normalizeText('  code\n\n    more 😀'), '  code\n\n    more 😀')
  })

  it('is linear on long runs of spaces', () => {
    const started = performance.now()
    assert.equal(normalizeText(`${' '.repeat(200_000)}x`), `${' '.repeat(200_000)}x`)
    assert.ok(performance.now() - started < 1000)
  })
})

describe('plain text, Markdown and CSV', () => {
  it('decodes UTF-8, strips the BOM and normalises', async () => {
    const text = await extracted('notes.txt', new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('Привет, мир 😀\r\nline 2   \r\n')]))
    assert.equal(text, 'Привет, мир 😀\nline 2')
  })

  it('decodes UTF-16 files that carry a BOM', async () => {
    const bytes = new Uint8Array([0xff, 0xfe, ...new Uint8Array(Uint16Array.from('héllo', (c) => c.charCodeAt(0)).buffer)])
    assert.equal(await extracted('windows.txt', bytes), 'héllo')
  })

  it('refuses invalid UTF-8 and binary content', async () => {
    await refused('image.txt', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]), /not valid UTF-8 text/)
    await refused('dump.txt', utf8('ab\0cd'), /NUL bytes/)
  })

  it('keeps Markdown and CSV as text', async () => {
    assert.equal(await extracted('doc.md', utf8('# Title\n\n- item *one*\n')), '# Title\n\n- item *one*')
    assert.equal(await extracted('t.csv', utf8('name,city\r\n"Smith, J",Berlin\r\n')), 'name,city\n"Smith, J",Berlin')
  })

  it('refuses text over the character limit', async () => {
    await refused('big.txt', utf8('x'.repeat(101)), /longer than 100 characters/, { maxChars: 100 })
    assert.equal((await extracted('ok.txt', utf8('x'.repeat(100)), { maxChars: 100 })).length, 100)
  })
})

describe('JSON', () => {
  it('validates and keeps the text as uploaded', async () => {
    assert.equal(await extracted('data.json', utf8('{"a":[1,2],"b":"é"}\n')), '{"a":[1,2],"b":"é"}')
  })

  it('refuses invalid JSON', async () => {
    await refused('data.json', utf8('{"a": 1,}'), /not valid JSON/)
  })
})

describe('HTML', () => {
  it('keeps visible text only, with blocks on their own lines', async () => {
    const html = `<!doctype html><html><head><title>Guide</title><style>p { color: red }</style>
      <script>var secret = "do not index";</script></head>
      <body><nav>Home | About</nav>
        <h1>Install   the&nbsp;app</h1>
        <p>First, <b>download</b> it.<br>Then run it.</p>
        <div hidden>hidden text</div><noscript>Enable JS</noscript>
        <ul><li>One</li><li>Two &amp; three</li></ul>
        <table><tr><th>Key</th><th>Value</th></tr><tr><td>a</td><td>1</td></tr></table>
        <pre>  indented
    code</pre>
        <template><p>template text</p></template>
      </body></html>`
    const text = await extracted('guide.html', utf8(html))
    assert.equal(
      text,
      'Guide\n\nHome | About\n\nInstall the\u00a0app\n\nFirst, download it.\nThen run it.\n\nOne\nTwo & three\n\nKey\tValue\na\t1\n\n  indented\n    code',
    )
    for (const invisible of ['color', 'secret', 'hidden text', 'Enable JS', 'template text']) assert.ok(!text.includes(invisible), invisible)
  })

  it('honours a declared legacy charset', async () => {
    const bytes = new Uint8Array([...utf8('<meta charset="windows-1251"><p>'), 0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, ...utf8('</p>')])
    assert.equal(await extracted('old.htm', bytes), 'Привет')
  })
})

describe('PDF', () => {
  it('extracts every page in order, pages separated by a blank line', async () => {
    const pdf = buildPdf([['Page one, line one', 'Page one (line two)'], ['Second page']])
    assert.equal(await extracted('doc.pdf', pdf), 'Page one, line one\nPage one (line two)\n\nSecond page')
  })

  it('reads compressed page streams and accepts a Buffer without detaching it', async () => {
    const pdf = Buffer.from(buildPdf([['Compressed text']], { compress: true }))
    assert.equal(await extracted('doc.pdf', pdf), 'Compressed text')
    assert.equal(await extracted('doc.pdf', pdf), 'Compressed text')
  })

  it('refuses corrupt and text-less PDFs', async () => {
    await refused('broken.pdf', utf8('%PDF-1.4\nthis is not really a pdf'), /could not read the PDF/)
    await refused('broken.pdf', buildPdf([['Truncated']]).subarray(0, 40), /could not read the PDF/)
    await refused('scan.pdf', buildPdf([[], []]), /no extractable text/)
  })

  it('refuses PDFs over the page or character limit', async () => {
    const manyPages = buildPdf(Array.from({ length: 30 }, (_, i) => [`Page ${i + 1} ${'text '.repeat(20)}`]))
    await refused('many.pdf', manyPages, /30 pages, more than the limit of 10/, { maxPdfPages: 10 })
    await refused('long.pdf', manyPages, /longer than 500 characters/, { maxChars: 500 })
  })
})

describe('DOCX', () => {
  it('extracts paragraphs on their own lines', async () => {
    const docx = buildDocx(documentXml([run('First paragraph, ') + run('same paragraph.'), run('Второй абзац 😀'), '', run('Last &amp; final')]))
    assert.equal(await extracted('letter.docx', docx), 'First paragraph, same paragraph.\n\nВторой абзац 😀\n\nLast & final')
  })

  it('refuses files that are not DOCX archives', async () => {
    await refused('fake.docx', utf8('just some text'), /not a valid DOCX \(zip\) archive/)
    await refused('empty.docx', buildDocx(null), /could not read the DOCX/)
    await refused('badxml.docx', buildDocx('<w:document><w:body><w:p>'), /could not read the DOCX/)
  })

  it('refuses a zip bomb by its claimed size, and one that lies about its size', async () => {
    const bomb = buildDocx(documentXml(Array.from({ length: 20_000 }, () => run('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'))))
    assert.ok(bomb.length < 50_000, `the bomb compresses well (${bomb.length} bytes)`)
    await refused('bomb.docx', bomb, /expands to more than 1,000,000 bytes/, { maxDocxUncompressedBytes: 1_000_000 })

    // It claims 1 KB, so fflate inflates only 1 KB of it: the XML is cut short and refused.
    const liar = forgeZipUncompressedSize(bomb, 'word/document.xml', 1024)
    await refused('liar.docx', liar, /could not read the DOCX/, { maxDocxUncompressedBytes: 1_000_000 })
  })

  it('ignores media parts, which raw text never needs', async () => {
    const withMedia = buildDocx(documentXml([run('Caption')]), { 'word/media/image1.png': new Uint8Array(2_000_000) })
    assert.equal(await extracted('pictures.docx', withMedia, { maxDocxUncompressedBytes: 1_000_000 }), 'Caption')
  })
})

describe('extractText', () => {
  it('reports the format it used', async () => {
    assert.deepEqual(await extractText({ bytes: utf8('hi'), filename: 'upload', mimeType: 'text/markdown' }), { text: 'hi', format: 'markdown' })
  })

  it('refuses unsupported types with the type in the message', async () => {
    await refused('photo.png', strToU8('png'), /unsupported file type '\.png'/)
  })
})

import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))

/** README.md, BENCHMARKS.md and every Markdown file under docs/: what a reader of a clone follows links in. */
function markdownFiles(): string[] {
  const files = ['README.md', 'BENCHMARKS.md'].map((name) => path.join(ROOT, name)).filter((file) => fs.existsSync(file))
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.name.endsWith('.md')) files.push(full)
    }
  }
  walk(path.join(ROOT, 'docs'))
  return files
}

/**
 * The link targets of a Markdown text, outside code: fenced blocks and inline
 * code show Markdown as an example (docs/formatting.md), they do not link.
 */
export function linkTargets(markdown: string): string[] {
  const prose = markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .replace(/(`+)[^`\n]*?\1/g, '')
  const targets: string[] = []
  for (const match of prose.matchAll(/!?\[[^\]\n]*\]\(\s*(?:<([^>\n]+)>|([^\s)]+))(?:\s+"[^"]*")?\s*\)/g)) targets.push((match[1] ?? match[2])!)
  for (const match of prose.matchAll(/^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) targets.push(match[1]!)
  return targets
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
  const seen = new Map<string, number>()
  const result = new Set<string>()
  for (const match of prose.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = match[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  return result
}

describe('Markdown links in README.md and docs/', () => {
  it('finds links, and ignores examples in code', () => {
    const sample = 'See [a](docs/a.md) and [b](<b c.md> "t").\n`[x](nope.md)`\n```md\n[y](nope.md)\n```\n[ref]: ./c.md\n![img](d.png)'
    assert.deepEqual(linkTargets(sample), ['docs/a.md', 'b c.md', 'd.png', './c.md'])
  })

  it('every relative link names a file of the repository, and every #anchor a heading of it', () => {
    const broken: string[] = []
    const files = markdownFiles()
    assert.ok(files.some((file) => file.endsWith(path.join('docs', 'spec', 'reference.md'))), 'the spec is part of the repository')
    for (const file of files) {
      const markdown = fs.readFileSync(file, 'utf8')
      const where = path.relative(ROOT, file)
      for (const target of linkTargets(markdown)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // https:, mailto:: not files
        const [rawPath, anchor] = target.split('#') as [string, string | undefined]
        const resolved = rawPath === '' ? file : path.resolve(path.dirname(file), decodeURIComponent(rawPath))
        if (path.relative(ROOT, resolved).startsWith('..')) {
          broken.push(`${where}: ${target} points outside the repository`)
          continue
        }
        if (!fs.existsSync(resolved)) {
          broken.push(`${where}: ${target} does not exist`)
          continue
        }
        if (anchor && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor.toLowerCase())) {
          broken.push(`${where}: ${target} names no heading of ${path.relative(ROOT, resolved)}`)
        }
      }
    }
    assert.deepEqual(broken, [])
  })
})

describe('source paths named in the docs', () => {
  it('every `src/….ts` a document names exists (the layout moves; the docs must follow)', () => {
    const missing: string[] = []
    for (const file of markdownFiles()) {
      if (file.includes(`${path.sep}spec${path.sep}`)) continue
      const text = fs.readFileSync(file, 'utf8')
      // `src/…` alone is the server's; `packages/<name>/src/…` another package's; `./src/…` (a package's own
      // exports map, written generically) names no one file.
      for (const match of text.matchAll(/(\.\/|\bpackages\/[\w-]+\/)?\bsrc\/[\w./-]+\.ts\b/g)) {
        if (match[1] === './') continue
        const resolved = match[1] ? path.join(ROOT, match[0]) : path.join(ROOT, 'packages/server', match[0])
        if (!fs.existsSync(resolved)) missing.push(`${path.relative(ROOT, file)}: ${match[0]}`)
      }
    }
    assert.deepEqual(missing, [])
  })
})

describe('error codes', () => {
  it('every code the server can answer is documented in docs/design.md with its status', async () => {
    const { ERROR_CODES } = await import('../../src/platform/errors.ts')
    const { STATUS_OF } = await import('../../src/platform/http/errors.ts')
    const design = fs.readFileSync(path.join(ROOT, 'docs/design.md'), 'utf8')
    const undocumented = ERROR_CODES.filter((code) => !new RegExp(`\\|[^\\n]*\`${code}\`[^\\n]*\\| ${STATUS_OF[code]} \\|`).test(design))
    assert.deepEqual(undocumented, [])
  })
})

describe('the README\'s configuration table', () => {
  it('lists every variable config.ts reads, and no other', async () => {
    const { CONFIG_VARIABLES } = await import('../../src/config.ts')
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    const section = readme.split(/^## Configuration$/m)[1]!.split(/^## /m)[0]!
    const rows = section.split('\n').filter((line) => line.startsWith('| `'))
    // A row's first cell names its variables: `A` or `A` / `B`.
    const listed = new Set(rows.flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Z][A-Z0-9_<>]*)`/g)].map((match) => match[1]!)))
    const PROVIDER_PATTERN = ['WORKEN_PROVIDER_<NAME>_BASE_URL', 'WORKEN_PROVIDER_<NAME>_API_KEY'] // read outside the schema
    assert.deepEqual(CONFIG_VARIABLES.filter((name) => !listed.has(name)), [], 'variables missing from the README')
    assert.deepEqual([...listed].filter((name) => !CONFIG_VARIABLES.includes(name) && !PROVIDER_PATTERN.includes(name)), [], 'README rows for variables the server does not read')
  })
})

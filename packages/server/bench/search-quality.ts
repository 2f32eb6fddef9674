// How well knowledge-base search ranks, by side: full text alone, vectors alone (the embedded
// lexical embedder), and the two fused (reciprocal rank fusion, as served). A known-item test on
// real text: the READMEs of the installed npm packages (pinned by the lockfile, so the corpus is
// the same wherever `npm ci` ran), chunked at 200/50 tokens. Queries are made from sampled chunks:
//
//   identifier  a code-like token of the chunk found in at most 3 chunks (a SKU, a function name)
//   keywords    4 content words of the chunk, shuffled
//   inflected   the same words with their English endings changed (plural/singular, -ing/-ed)
//   typo        the same words with two letters swapped in each
//
// A result is relevant when its chunk contains the identifier, or every query word (the original
// form). Reported: MRR@10, hit@1 and hit@10 per query kind and ranking.
//
//   npm run bench:search-quality -- [--queries 60] [--seed 7] [--exact]   (--exact: the vector side scans exactly)
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import pino from 'pino'
import { openDatabase } from '../src/platform/db/client.ts'
import { migrate } from '../src/platform/db/migrate.ts'
import { createServices } from '../src/services.ts'
import { VectorStoreSearch } from '../src/modules/knowledge/vector-stores/search.ts'
import { createLocalEmbedder } from '../src/modules/knowledge/local-embedder.ts'
import { runMain, seedProject, seededRandom } from './common.ts'

const { values: args } = parseArgs({ options: { queries: { type: 'string', default: '60' }, seed: { type: 'string', default: '7' }, exact: { type: 'boolean', default: false } } })
const QUERIES_PER_KIND = Number(args.queries)
const random = seededRandom(Number(args.seed))
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!

const STOP = new Set('the and for with that this from are was were you your can will not but all any have has had its into than then them they their there which when what where who how use using used also more may such only other each must should would could been being does did our out about over some these those just like very'.split(' '))

type Kind = 'identifier' | 'keywords' | 'inflected' | 'typo'
type Query = { kind: Kind; text: string; relevant: (chunk: string) => boolean }

function readmes(): Array<{ name: string; text: string }> {
  const root = path.dirname(path.dirname(createRequire(import.meta.url).resolve('pino/package.json')))
  const found: Array<{ name: string; text: string }> = []
  for (const entry of fs.readdirSync(root).sort()) {
    const dirs = entry.startsWith('@') ? fs.readdirSync(path.join(root, entry)).sort().map((sub) => path.join(entry, sub)) : [entry]
    for (const dir of dirs) {
      const file = path.join(root, dir, 'README.md')
      if (!fs.existsSync(file)) continue
      const text = fs.readFileSync(file, 'utf8')
      if (text.length > 2_000 && text.length < 200_000) found.push({ name: `${dir.replace('/', '__')}.md`, text })
    }
  }
  return found
}

const words = (text: string) => text.toLowerCase().match(/[a-z][a-z]{3,}/g) ?? []

function inflect(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`
  if (word.endsWith('ing') && word.length > 6) return `${word.slice(0, -3)}ed`
  if (word.endsWith('ed') && word.length > 5) return `${word.slice(0, -2)}ing`
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1)
  return `${word}s`
}

function typo(word: string): string {
  const at = 1 + Math.floor(random() * (word.length - 2))
  return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2)
}

function makeQueries(chunks: string[]): Query[] {
  const lowered = chunks.map((chunk) => chunk.toLowerCase())
  const identifierCounts = new Map<string, number>()
  const identifiersOf = (chunk: string) => [...new Set(chunk.match(/\b[A-Za-z_$][\w$]*(?:[._-][\w$]+)*\b/g) ?? [])]
    .filter((token) => token.length >= 6 && /[A-Z_.\d]/.test(token.slice(1)) && /[a-z]/i.test(token))
  for (const chunk of chunks) for (const token of identifiersOf(chunk)) identifierCounts.set(token, (identifierCounts.get(token) ?? 0) + 1)
  const queries: Query[] = []
  let guard = 0
  while (queries.filter((q) => q.kind === 'identifier').length < QUERIES_PER_KIND && guard++ < 100_000) {
    const chunk = pick(chunks)
    const rare = identifiersOf(chunk).filter((token) => (identifierCounts.get(token) ?? 0) <= 3)
    if (rare.length === 0) continue
    const token = pick(rare)
    queries.push({ kind: 'identifier', text: token, relevant: (text) => text.includes(token) })
  }
  guard = 0
  let made = 0
  while (made < QUERIES_PER_KIND && guard++ < 100_000) {
    const index = Math.floor(random() * chunks.length)
    const content = [...new Set(words(chunks[index]!))].filter((word) => !STOP.has(word) && word.length >= 5)
    if (content.length < 8) continue
    const chosen: string[] = []
    while (chosen.length < 4) {
      const word = pick(content)
      if (!chosen.includes(word)) chosen.push(word)
    }
    const matching = lowered.filter((text) => chosen.every((word) => text.includes(word))).length
    if (matching > 3) continue // not a known item: too common a combination
    const relevant = (text: string) => chosen.every((word) => text.toLowerCase().includes(word))
    queries.push({ kind: 'keywords', text: chosen.join(' '), relevant })
    queries.push({ kind: 'inflected', text: chosen.map(inflect).join(' '), relevant })
    queries.push({ kind: 'typo', text: chosen.map(typo).join(' '), relevant })
    made++
  }
  return queries
}

type Ranking = { name: string; weights: { embedding: number; text: number } }
const RANKINGS: Ranking[] = [
  { name: 'full text', weights: { embedding: 0, text: 1 } },
  { name: 'vector', weights: { embedding: 1, text: 0 } },
  { name: 'RRF 1:1 (served)', weights: { embedding: 1, text: 1 } },
  { name: 'RRF 1:2', weights: { embedding: 1, text: 2 } },
  { name: 'RRF 2:1', weights: { embedding: 2, text: 1 } },
]

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' })
  const handle = await openDatabase({ driver: 'pglite' })
  const { vector } = await migrate(handle)
  if (!vector) throw new Error('PGlite without pgvector: nothing to compare')
  const services = createServices(handle, logger, { workers: { embeddingModel: 'local/lexical-v1', vector, pollingIntervalSeconds: 0.5 } })
  await services.apiKeys.start()
  const workers = services.workers!
  await workers.start()
  try {
    const { projectId } = await seedProject(handle, services)
    const documents = readmes()
    const fileIds: string[] = []
    for (const document of documents) {
      fileIds.push((await services.files.create(projectId, { filename: document.name, purpose: 'assistants', mimeType: 'text/markdown', bytes: new TextEncoder().encode(document.text) })).id)
    }
    const started = performance.now()
    const store = await services.vectorStores.create(projectId, { name: 'readmes', file_ids: fileIds, chunking_strategy: { type: 'static', static: { max_chunk_size_tokens: 200, chunk_overlap_tokens: 50 } } })
    for (;;) {
      const current = await services.vectorStores.stores.get(projectId, store.id)
      if (current.status !== 'indexing') break
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
    const chunkRows = (await handle.db.execute(`select c.content from vector_store_chunks c join vector_store_files f on f.vector_store_id = c.vector_store_id and f.file_id = c.file_id where c.vector_store_id = '${store.id}' order by f.filename, c.chunk_index`) as unknown as { rows: Array<{ content: string }> }).rows
    const chunks = chunkRows.map((row) => row.content)
    console.log(`corpus: ${documents.length} READMEs → ${chunks.length} chunks (200/50 tokens), indexed in ${((performance.now() - started) / 1000).toFixed(1)} s`)

    const queries = makeQueries(chunks)
    const search = new VectorStoreSearch(handle, services.vectorStores.stores, createLocalEmbedder(), args.exact ? { exactScanMaxChunks: Number.POSITIVE_INFINITY } : {})
    const kinds: Kind[] = ['identifier', 'keywords', 'inflected', 'typo']
    const table: string[] = [`| ranking | ${kinds.map((kind) => `${kind} MRR@10 / hit@1 / hit@10`).join(' | ')} | all MRR@10 |`, `|---|${kinds.map(() => '---|').join('')}---|`]
    for (const ranking of RANKINGS) {
      const perKind = new Map<Kind, { rr: number[]; hit1: number; hit10: number }>(kinds.map((kind) => [kind, { rr: [], hit1: 0, hit10: 0 }]))
      for (const query of queries) {
        const { results } = await search.search({ projectId, vectorStoreIds: [store.id], queries: [query.text], maxResults: 10, weights: ranking.weights })
        const rank = results.findIndex((result) => query.relevant(result.content[0]!.text)) + 1
        const entry = perKind.get(query.kind)!
        entry.rr.push(rank > 0 ? 1 / rank : 0)
        if (rank === 1) entry.hit1++
        if (rank > 0) entry.hit10++
      }
      const all = [...perKind.values()].flatMap((entry) => entry.rr)
      const cells = kinds.map((kind) => {
        const entry = perKind.get(kind)!
        const n = entry.rr.length
        return `${mean(entry.rr).toFixed(3)} / ${(entry.hit1 / n).toFixed(2)} / ${(entry.hit10 / n).toFixed(2)}`
      })
      table.push(`| ${ranking.name} | ${cells.join(' | ')} | ${mean(all).toFixed(3)} |`)
    }
    console.log(`queries: ${kinds.map((kind) => `${queries.filter((q) => q.kind === kind).length} ${kind}`).join(', ')} (seed ${args.seed})\n`)
    console.log(table.join('\n'))
  } finally {
    await workers.stop({ graceful: false })
    await services.apiKeys.flush()
    await handle.close()
  }
}

const mean = (values: number[]) => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length)

await runMain('search-quality', main)

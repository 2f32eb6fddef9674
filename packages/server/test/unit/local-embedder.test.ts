import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLocalEmbedder, LOCAL_EMBEDDER_DIMENSIONS, stemWord, tokenize } from '../../src/modules/knowledge/local-embedder.ts'

const embedder = createLocalEmbedder()

function cosine(a: number[], b: number[]): number {
  let dot = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    aa += a[i]! * a[i]!
    bb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(aa * bb)
}

function norm(vector: number[]): number {
  return Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0))
}

/** The candidates ordered from closest to the query to farthest. */
async function rank(query: string, candidates: string[]): Promise<{ text: string; score: number }[]> {
  const [queryVector, ...vectors] = await embedder.embed([query, ...candidates])
  return candidates
    .map((text, i) => ({ text, score: cosine(queryVector!, vectors[i]!) }))
    .sort((a, b) => b.score - a.score)
}

describe('local embedder: shape', () => {
  it('returns one unit vector of the declared dimension per text', async () => {
    assert.equal(embedder.id, 'local/lexical-v1')
    assert.equal(embedder.dimensions, LOCAL_EMBEDDER_DIMENSIONS)
    const vectors = await embedder.embed(['Где мой заказ?', 'I want a refund on order 55', 'x'])
    assert.equal(vectors.length, 3)
    for (const vector of vectors) {
      assert.equal(vector.length, 512)
      assert.ok(vector.every(Number.isFinite))
      assert.ok(Math.abs(norm(vector) - 1) < 1e-9)
    }
  })

  it('takes another dimension within what a pgvector HNSW index accepts', async () => {
    const small = createLocalEmbedder({ dimensions: 256 })
    assert.equal(small.dimensions, 256)
    assert.equal(small.id, 'local/lexical-v1@256')
    const [vector] = await small.embed(['статус заказа'])
    assert.equal(vector!.length, 256)
    for (const dimensions of [0, 8, 2001, 300.5, Number.NaN]) {
      assert.throws(() => createLocalEmbedder({ dimensions }), RangeError)
    }
  })

  it('returns nothing for no texts and keeps the order of large batches', async () => {
    assert.deepEqual(await embedder.embed([]), [])
    const texts = Array.from({ length: 1201 }, (_, i) => `message ${i}`)
    const batch = await embedder.embed(texts)
    assert.equal(batch.length, 1201)
    assert.deepEqual(batch[1200], (await embedder.embed(['message 1200']))[0])
  })
})

describe('local embedder: determinism', () => {
  it('gives the same vector for the same text, alone or in a batch, from any instance', async () => {
    const [alone] = await createLocalEmbedder().embed(['Номер заказа XJ-4410'])
    const [, inBatch] = await embedder.embed(['something else', 'Номер заказа XJ-4410'])
    assert.deepEqual(alone, inBatch)
  })

  it('gives the vectors stored last time (a change here means bumping the id and re-embedding)', async () => {
    const [vector] = await embedder.embed(['Заказы XJ-4410'])
    const slots = vector!.flatMap((value, slot) => (value === 0 ? [] : [`${slot}:${value.toFixed(6)}`]))
    const golden =
      '39:-0.317500 41:-0.317500 43:-0.127000 57:-0.127000 143:0.127000 151:0.317500 160:0.317500 ' +
      '165:0.317500 186:-0.127000 213:0.127000 215:-0.127000 220:-0.127000 224:-0.127000 231:-0.317500 ' +
      '290:-0.317500 318:0.127000 324:0.127000 328:0.317500 494:-0.127000 500:-0.127000'
    assert.equal(slots.join(' '), golden)
  })
})

describe('local embedder: words', () => {
  it('brings word forms together in Russian and English', () => {
    for (const family of ['заказ заказа заказы заказов заказом', 'доставка доставки доставку доставкой', 'order orders ordered ordering', 'receive received receives receiving', 'reply replies replied']) {
      const stems = new Set(family.split(' ').map(stemWord))
      assert.equal(stems.size, 1, `${family} → ${[...stems].join(', ')}`)
    }
  })

  it('normalises case, ё, width and stress marks and keeps codes whole', () => {
    assert.deepEqual(tokenize('Ёлка ЗАКА́З'), ['елка', 'заказ'])
    assert.deepEqual(tokenize('ＡＢ－１２３'), ['ab', '123', 'ab123'])
    assert.deepEqual(tokenize('XJ-4410'), ['xj', '4410', 'xj4410'])
    assert.deepEqual(tokenize('xj4410'), ['xj4410', 'xj', '4410'])
    assert.deepEqual(tokenize("customer's e-mail"), ['customers', 'e', 'mail', 'email'])
  })
})

describe('local embedder: recall', () => {
  it('finds a Russian message by an inflected query', async () => {
    const ranked = await rank('статус заказа', ['Погода сегодня отличная, идём гулять в парк', 'Где мой заказ? Номер заказа 123', 'Спасибо, всё работает'])
    assert.equal(ranked[0]!.text, 'Где мой заказ? Номер заказа 123')
    assert.ok(ranked[0]!.score > ranked[1]!.score + 0.2, JSON.stringify(ranked))
  })

  it('finds an English message by an inflected query', async () => {
    const ranked = await rank('refund for my orders', ['The weather is lovely, let us walk in the park', 'How do I reset my password?', 'I want a refund on order 55'])
    assert.equal(ranked[0]!.text, 'I want a refund on order 55')
    assert.ok(ranked[0]!.score > ranked[1]!.score + 0.2, JSON.stringify(ranked))
  })

  it('finds the message with a product code among near misses', async () => {
    const target = 'Do you have XJ-4410 in stock?'
    const ranked = await rank('XJ-4410', ['Do you have XJ-4411 in stock?', 'Model XK-4410 is sold out', 'I need the XJ-1000 charger', 'Order 4410 is delayed', target, 'Есть ли в наличии XJ-4400?'])
    assert.equal(ranked[0]!.text, target)
    assert.ok(ranked[0]!.score > ranked[1]!.score + 0.2, JSON.stringify(ranked))
  })

  it('still matches a misspelt word', async () => {
    const ranked = await rank('recieve', ['Thanks, everything works great now', 'When will I receive the package?', 'Курьер опоздал на два часа', 'The app crashes on start'])
    assert.equal(ranked[0]!.text, 'When will I receive the package?')
  })

  it('gives texts without words a unit vector that matches nothing else', async () => {
    const [empty, punctuation, spaces, message] = await embedder.embed(['', '?!… — ...', '   \n\t', 'Где мой заказ?'])
    for (const vector of [empty!, punctuation!, spaces!]) {
      assert.ok(Math.abs(norm(vector) - 1) < 1e-9)
      assert.equal(cosine(vector, message!), 0)
    }
    assert.equal(cosine(empty!, punctuation!), 1)
  })
})

describe('local embedder: speed', () => {
  it('embeds 10,000 short messages', async (t) => {
    const samples = ['Где мой заказ? Номер заказа', 'I want a refund on order', 'Когда будет доставка в Москву?', 'The app crashes when I open settings after the update', 'Промокод XJ-4410 не применяется к корзине']
    const texts = Array.from({ length: 10_000 }, (_, i) => `${samples[i % samples.length]} ${i}`)
    await embedder.embed(texts.slice(0, 500))
    const started = performance.now()
    const vectors = await embedder.embed(texts)
    const seconds = (performance.now() - started) / 1000
    assert.equal(vectors.length, 10_000)
    t.diagnostic(`${texts.length} messages in ${(seconds * 1000).toFixed(0)} ms: ${Math.round(texts.length / seconds)} messages/s`)
  })
})

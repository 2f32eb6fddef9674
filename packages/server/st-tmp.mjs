import { streamText, stepCountIs, experimental_streamTextLowMemory as lowMem, experimental_streamLanguageModelCall as callStream } from 'ai'
import { MockLanguageModelV4 } from 'ai/test'
const parts = () => {
  const list = [{ type: 'stream-start', warnings: [] }, { type: 'response-metadata', id: 'r', modelId: 'm', timestamp: new Date(0) }, { type: 'text-start', id: '0' }]
  for (let i = 0; i < 20; i++) list.push({ type: 'text-delta', id: '0', delta: `word${i} ` })
  list.push({ type: 'text-end', id: '0' }, { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: { inputTokens: { total: 10, noCache: 10 }, outputTokens: { total: 20, text: 20 } } })
  return list
}
const model = new MockLanguageModelV4({ doStream: async () => {
  const list = parts(); let i = 0
  return { stream: new ReadableStream({ async pull(c) { await new Promise((r) => setImmediate(r)); if (i < list.length) c.enqueue(list[i++]); else c.close() } }) }
} })
const history = Array.from({ length: 10 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `message ${i}` }))
const variants = {
  async doStream() { const { stream } = await model.doStream({ prompt: [] }); let n = 0; for await (const p of stream) if (p.type === 'text-delta') n++; return n },
  async streamText() { const r = streamText({ model, instructions: 'be nice', messages: history, maxRetries: 0, tools: {}, stopWhen: stepCountIs(5), onError: () => {} }); let n = 0; for await (const p of r.fullStream) if (p.type === 'text-delta') n++; await Promise.all([r.steps, r.totalUsage]); return n },
  async lowMemory() { let steps; const r = lowMem({ model, instructions: 'be nice', messages: history, maxRetries: 0, onError: () => {}, onEnd: (e) => { steps = e } }); let n = 0; for await (const p of r.fullStream) if (p.type === 'text-delta') n++; return n },
  async callStream() { const r = await callStream({ model, instructions: 'be nice', messages: history }); let n = 0; for await (const p of r.stream) if (p.type === 'text-delta') n++; return n },
}
for (let round = 0; round < 2; round++) for (const [name, fn] of Object.entries(variants)) {
  const N = 2000, C = 50
  const t = process.cpuUsage()
  for (let b = 0; b < N / C; b++) await Promise.all(Array.from({ length: C }, fn))
  const u = process.cpuUsage(t)
  console.log(name, ((u.user + u.system) / 1000 / N).toFixed(3), 'ms CPU per stream')
}

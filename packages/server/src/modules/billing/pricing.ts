/** Credits per 1,000 input tokens and per 1,000 output tokens, integers. */
export type Price = { input: number; output: number }

/**
 * Prices by model id: an exact id (`openai/gpt-4o`), a provider's wildcard
 * (`openai/*`), or `*` for every other model. The most specific match wins.
 */
export type PriceTable = Record<string, Price>

/**
 * The table a server starts with (`WORKEN_PRICES_FILE` replaces it). The
 * built-in `local/…` models cost something, so a charge can be seen without a
 * model provider; set real prices for the models you offer.
 */
export const DEFAULT_PRICES: PriceTable = {
  'local/*': { input: 1, output: 1 },
  '*': { input: 2, output: 6 },
}

/**
 * The price of a model: its exact entry, else its provider's `provider/*`, else `*`; free when none.
 *
 * @example
 *   priceOf(DEFAULT_PRICES, 'local/echo') // { input: 1, output: 1 }
 */
export function priceOf(table: PriceTable, model: string): Price {
  const provider = model.includes('/') ? `${model.slice(0, model.indexOf('/'))}/*` : undefined
  return table[model] ?? (provider ? table[provider] : undefined) ?? table['*'] ?? { input: 0, output: 0 }
}

/**
 * What one reply costs, in whole credits: rounded up, and never less than one
 * credit for a model that has a price, so no reply is free by rounding.
 * Unknown token counts count as zero (the minimum still applies).
 *
 * @example
 *   replyCost(DEFAULT_PRICES, { model: 'openai/gpt-4o', inputTokens: 1200, outputTokens: 300 }) // ceil((1200·2 + 300·6) / 1000) = 5
 */
export function replyCost(table: PriceTable, usage: { model: string; inputTokens: number | null; outputTokens: number | null }): number {
  const price = priceOf(table, usage.model)
  if (price.input === 0 && price.output === 0) return 0
  const milli = Math.max(0, usage.inputTokens ?? 0) * price.input + Math.max(0, usage.outputTokens ?? 0) * price.output
  return Math.max(1, Math.ceil(milli / 1000))
}

/**
 * Checks a price table read from JSON (`WORKEN_PRICES_FILE`): an object of
 * `{ "input": n, "output": n }` with non-negative integers. Answers the
 * problems, or the table.
 *
 * @example
 *   parsePriceTable({ 'openai/*': { input: 3, output: 12 } })
 */
export function parsePriceTable(value: unknown): { table: PriceTable } | { problem: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'must be a JSON object of model id → { "input": n, "output": n }' }
  const table: PriceTable = {}
  for (const [model, price] of Object.entries(value)) {
    const entry = price as { input?: unknown; output?: unknown } | null
    const valid = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
    if (typeof entry !== 'object' || entry === null || !valid(entry.input) || !valid(entry.output) || Object.keys(entry).some((key) => key !== 'input' && key !== 'output')) {
      return { problem: `"${model}": must be { "input": n, "output": n } with whole, non-negative credits per 1,000 tokens` }
    }
    table[model] = { input: entry.input as number, output: entry.output as number }
  }
  return { table }
}

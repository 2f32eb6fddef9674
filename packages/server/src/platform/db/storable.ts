/**
 * Text Postgres can store, made from text we cannot refuse: a model's output, a tool's
 * arguments and results, a title the model wrote. `text` and `jsonb` refuse NUL, and
 * `jsonb` refuses a lone UTF-16 surrogate; either would fail the whole write (a reply
 * lost to one stray character). Both become U+FFFD, the replacement character, which
 * is what a decoder shows for what it cannot represent. Text from requests is refused
 * with a 422 instead (platform/http/fields.ts): there the sender can fix it.
 */
export function storableText(value: string): string {
  const clean = value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value
  return clean.isWellFormed() ? clean : clean.toWellFormed()
}

/** The same for a JSON value (keys included), deeply; returns the value itself when nothing needed changing. */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T
  if (Array.isArray(value)) {
    let changed = false
    const copy = value.map((item) => {
      const clean = storableJson(item)
      if (clean !== item) changed = true
      return clean
    })
    return (changed ? copy : value) as T
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    let changed = false
    const copy: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      const cleanKey = storableText(key)
      const clean = storableJson(item)
      if (cleanKey !== key || clean !== item) changed = true
      copy[cleanKey] = clean
    }
    return (changed ? copy : value) as T
  }
  return value
}

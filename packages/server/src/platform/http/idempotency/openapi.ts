/**
 * The `Idempotency-Key` header, written out in every POST of the document (not a `$ref`:
 * generators and MCP clients that read parameters naively still see its name and place).
 */
const PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Extension: makes a retry of this POST safe. The first request with a key runs; the same request (method, path, query, body) with the key again within 24 hours gets the first answer back, with `Idempotent-Replayed: true`, without running twice (a streamed reply is replayed as it was sent). Another request with the key: 409 `idempotency_key_reused`. While the first still runs: 409 `idempotency_key_in_use` with `Retry-After`. Answers a retry may change (402, 408, 409, 429, 5xx) are not kept. Keys are per project; 1–255 printable ASCII characters.',
  schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$', example: 'worken-retry-3f1c9a52-0d7e-4b8e-9a43-5b7f2c1e8d60' },
} as const

type Operation = { parameters?: unknown[] }
type Document = { paths?: Record<string, Record<string, Operation>> }

export function declareIdempotencyKeys<T extends object>(generated: T): T {
  const document = generated as Document
  const paths = document.paths ?? {}
  for (const item of Object.values(paths)) {
    const post = item.post
    if (post) post.parameters = [...(post.parameters ?? []), PARAMETER]
  }
  return generated
}

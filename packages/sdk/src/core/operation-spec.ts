/** What `src/generated/operations.ts` says about one operation of the API. */
export type OperationSpec = {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** The path template, e.g. `/bots/{bot_id}`. */
  readonly path: string
  /** The template's parameters, in path order. */
  readonly pathParams: readonly string[]
  readonly queryParams: readonly string[]
  /** `json` routes that also take multipart (vector store file uploads) accept a `FormData` body as well. */
  readonly requestBody: 'json' | 'multipart' | 'none'
  readonly bodyRequired: boolean
  readonly response: 'json' | 'sse' | 'binary'
  /** `offset`: a bare array with `X-Total-Count`; `total`: `{ data, total }` by offset; `cursor`: `{ data, has_more | next_cursor }`. */
  readonly pagination: 'offset' | 'total' | 'cursor' | 'none'
  /** The query parameter that carries the cursor of the next page. */
  readonly cursorParam?: 'after' | 'starting_after' | 'cursor'
  readonly tag: string
  readonly summary: string
}

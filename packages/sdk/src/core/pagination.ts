import { APIPromise, type APIResult } from './api-promise.ts'
import { WorkenError } from './errors.ts'
import type { FinalRequestOptions } from './transport.ts'

/** How a page fetches the next one: the client's JSON request. */
export type PageFetcher = (options: FinalRequestOptions) => Promise<APIResult<unknown>>

export type PageClass<P extends AbstractPage<unknown>> = new (fetcher: PageFetcher, options: FinalRequestOptions, response: Response, body: unknown) => P

/**
 * One page of a list, async-iterable over every item of every page from here on.
 *
 * @example
 * const page = await client.bots.list({ limit: 50 })
 * page.data // this page's bots
 * for await (const bot of page) console.log(bot.name) // all of them, fetching pages as needed
 */
export abstract class AbstractPage<Item> implements AsyncIterable<Item> {
  /** This page's items. */
  abstract readonly data: Item[]
  readonly response: Response
  protected readonly options: FinalRequestOptions
  protected readonly body: unknown
  readonly #fetcher: PageFetcher

  constructor(fetcher: PageFetcher, options: FinalRequestOptions, response: Response, body: unknown) {
    this.#fetcher = fetcher
    this.options = options
    this.response = response
    this.body = body
  }

  /** The request of the next page, or null on the last one. */
  protected abstract nextPageOptions(): FinalRequestOptions | null

  hasNextPage(): boolean {
    return this.data.length > 0 && this.nextPageOptions() !== null
  }

  async getNextPage(): Promise<this> {
    const next = this.hasNextPage() ? this.nextPageOptions() : null
    if (!next) throw new WorkenError('There is no next page; check hasNextPage() first.')
    const { data, response } = await this.#fetcher(next)
    const Class = this.constructor as PageClass<this>
    return new Class(this.#fetcher, next, response, data)
  }

  /** This page, then each following one. */
  async *iterPages(): AsyncGenerator<this> {
    let page: this = this
    yield page
    while (page.hasNextPage()) {
      page = await page.getNextPage()
      yield page
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    for await (const page of this.iterPages()) yield* page.data
  }

  /** The body as the server sent it, so `JSON.stringify(page)` prints the API's answer. */
  toJSON(): unknown {
    return this.body
  }
}

/**
 * A list answered as a bare array with `X-Total-Count` (`limit`/`offset`):
 * bots, chats, threads of a chat, messages, projects, keys, integrations,
 * webhook endpoints, scheduled messages.
 */
export class OffsetPage<Item> extends AbstractPage<Item> {
  readonly data: Item[]
  /** How many items the whole list has (`X-Total-Count`); null if the server did not say. */
  readonly total: number | null

  constructor(fetcher: PageFetcher, options: FinalRequestOptions, response: Response, body: unknown) {
    super(fetcher, options, response, body)
    if (!Array.isArray(body)) throw new WorkenError(`Expected a JSON array from ${options.method} ${options.path}`)
    this.data = body as Item[]
    const total = Number(response.headers.get('x-total-count') ?? Number.NaN)
    this.total = Number.isInteger(total) && total >= 0 ? total : null
  }

  protected nextPageOptions(): FinalRequestOptions | null {
    const offset = Number(this.options.query?.offset ?? 0) + this.data.length
    if (this.total !== null) {
      if (offset >= this.total) return null
    } else {
      const limit = Number(this.options.query?.limit)
      if (Number.isInteger(limit) && this.data.length < limit) return null
    }
    return { ...this.options, query: { ...this.options.query, offset } }
  }
}

/**
 * A list answered as `{ data, total }` and walked with `limit`/`offset`
 * (billing transactions, as the spec gives them).
 */
export class TotalPage<Item> extends AbstractPage<Item> {
  readonly data: Item[]
  /** How many items the whole list has. */
  readonly total: number

  constructor(fetcher: PageFetcher, options: FinalRequestOptions, response: Response, body: unknown) {
    super(fetcher, options, response, body)
    const parsed = cursorBody<Item>(body, options)
    this.data = parsed.data
    const total = Number(parsed.total)
    this.total = Number.isInteger(total) && total >= 0 ? total : this.data.length
  }

  protected nextPageOptions(): FinalRequestOptions | null {
    const offset = Number(this.options.query?.offset ?? 0) + this.data.length
    if (this.data.length === 0 || offset >= this.total) return null
    return { ...this.options, query: { ...this.options.query, offset } }
  }
}

type CursorBody<Item> = { data: Item[]; has_more?: boolean; last_id?: string | null; next_cursor?: string | null; [field: string]: unknown }

function cursorBody<Item>(body: unknown, options: FinalRequestOptions): CursorBody<Item> {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { data?: unknown }).data)) {
    throw new WorkenError(`Expected a JSON object with a data array from ${options.method} ${options.path}`)
  }
  return body as CursorBody<Item>
}

/**
 * OpenAI-style lists, `{ data, has_more }`: the next page starts after the last
 * item's id (`after`: files, vector stores and their files; `starting_after`:
 * webhook deliveries).
 */
export class CursorPage<Item extends { id?: string }> extends AbstractPage<Item> {
  readonly data: Item[]
  readonly has_more: boolean
  /** Which query parameter carries the last id; set by each list's subclass. */
  protected get cursorParam(): string {
    return 'after'
  }

  constructor(fetcher: PageFetcher, options: FinalRequestOptions, response: Response, body: unknown) {
    super(fetcher, options, response, body)
    const page = cursorBody<Item>(body, options)
    this.data = page.data
    this.has_more = page.has_more === true
  }

  protected nextPageOptions(): FinalRequestOptions | null {
    if (!this.has_more) return null
    const body = this.body as CursorBody<Item>
    const last = body.last_id ?? this.data.at(-1)?.id
    if (!last) return null
    return { ...this.options, query: { ...this.options.query, [this.cursorParam]: last } }
  }
}

/** Webhook deliveries page with `starting_after`, Stripe's name for `after`. */
export class StartingAfterPage<Item extends { id?: string }> extends CursorPage<Item> {
  protected override get cursorParam(): string {
    return 'starting_after'
  }
}

/**
 * `GET /threads`: `{ data, next_cursor }`. The cursor walks the project as it was
 * at the first page (docs/threads.md); an `offset` counts from the cursor, so
 * it is dropped for the following pages.
 */
export class NextCursorPage<Item> extends AbstractPage<Item> {
  readonly data: Item[]
  readonly next_cursor: string | null

  constructor(fetcher: PageFetcher, options: FinalRequestOptions, response: Response, body: unknown) {
    super(fetcher, options, response, body)
    const page = cursorBody<Item>(body, options)
    this.data = page.data
    this.next_cursor = typeof page.next_cursor === 'string' ? page.next_cursor : null
  }

  protected nextPageOptions(): FinalRequestOptions | null {
    if (!this.next_cursor) return null
    const { offset: _offset, ...query } = this.options.query ?? {}
    return { ...this.options, query: { ...query, cursor: this.next_cursor } }
  }
}

/**
 * What list methods return: awaits to the first page, and is itself
 * async-iterable over every item of every page.
 *
 * @example
 * for await (const bot of client.bots.list()) console.log(bot.id)
 */
export class PagePromise<P extends AbstractPage<Item>, Item = P extends AbstractPage<infer I> ? I : never> extends APIPromise<P> implements AsyncIterable<Item> {
  constructor(fetcher: PageFetcher, Class: PageClass<P>, options: FinalRequestOptions) {
    super(fetcher(options).then(({ data, response }) => ({ data: new Class(fetcher, options, response, data), response })))
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    const page = await this
    yield* page as AsyncIterable<Item>
  }
}

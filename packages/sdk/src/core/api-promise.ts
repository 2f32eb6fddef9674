/** What a finished request produced: the parsed body and the response it came from. */
export type APIResult<T> = { data: T; response: Response }

/**
 * The promise every method returns: awaits to the parsed body, and offers the
 * raw response too, as openai-node's does.
 *
 * @example
 * const bot = await client.bots.retrieve('bot_123')
 * const { data, response, requestId } = await client.bots.retrieve('bot_123').withResponse()
 */
export class APIPromise<T> extends Promise<T> {
  readonly #result: Promise<APIResult<T>>

  constructor(result: Promise<APIResult<T>>) {
    // The base promise is never used: then/catch/finally read `#result` instead.
    super((resolve) => resolve(null as T))
    this.#result = result
  }

  // Promise's own methods (Promise.all, then on a subclass) must build plain promises, not call this constructor.
  static override get [Symbol.species]() {
    return Promise
  }

  /** The parsed body with the response and its `x-request-id`. */
  async withResponse(): Promise<{ data: T; response: Response; requestId: string | null }> {
    const { data, response } = await this.#result
    return { data, response, requestId: response.headers.get('x-request-id') }
  }

  /** The response itself (its body already read for JSON answers). */
  async asResponse(): Promise<Response> {
    return (await this.#result).response
  }

  override then<TResult1 = T, TResult2 = never>(
    onfulfilled?: ((value: T) => TResult1 | PromiseLike<TResult1>) | null,
    onrejected?: ((reason: any) => TResult2 | PromiseLike<TResult2>) | null,
  ): Promise<TResult1 | TResult2> {
    return this.#result.then((result) => result.data).then(onfulfilled, onrejected)
  }

  override catch<TResult = never>(onrejected?: ((reason: any) => TResult | PromiseLike<TResult>) | null): Promise<T | TResult> {
    return this.then(undefined, onrejected)
  }

  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.then().finally(onfinally)
  }
}

import type { APIPromise } from '../core/api-promise.ts'
import type { RequestOptions } from '../core/transport.ts'
import { APIResource } from './resource.ts'

/** `/healthz` and `/readyz`. */
export class Health extends APIResource {
  /** The process is up. @example await client.health.live() // { status: 'ok' } */
  live(options?: RequestOptions): APIPromise<{ status: 'ok' }> {
    return this.client.get('/healthz', options)
  }

  /** The process can serve (its database answers); a 503 otherwise. @example await client.health.ready() */
  ready(options?: RequestOptions): APIPromise<{ status: 'ok' }> {
    return this.client.get('/readyz', options)
  }
}

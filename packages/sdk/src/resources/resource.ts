import type { WorkenClient } from '../client.ts'

/** A group of API methods; sub-resources are properties (`client.bots.settings`). */
export class APIResource {
  protected readonly client: WorkenClient

  constructor(client: WorkenClient) {
    this.client = client
  }
}

import type { Logger } from 'pino'
import { ApiKeyService } from './api-keys/service.ts'
import { BotService } from './bots/service.ts'
import type { DatabaseHandle } from './db/client.ts'
import { ProjectService } from './projects/service.ts'

/** Everything a route needs, built once per process and handed to handlers through the context. */
export type Services = {
  database: DatabaseHandle
  apiKeys: ApiKeyService
  projects: ProjectService
  bots: BotService
}

export function createServices(database: DatabaseHandle, logger: Logger): Services {
  return {
    database,
    apiKeys: new ApiKeyService(database, logger),
    projects: new ProjectService(database.db),
    bots: new BotService(database.db),
  }
}

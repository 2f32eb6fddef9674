// Writes the OpenAPI document generated from the route schemas to docs/openapi.json:
//   npm run openapi
import fs from 'node:fs'
import pino from 'pino'
import { createApp } from '../src/app.ts'
import type { Services } from '../src/services.ts'

export async function generateOpenApi(): Promise<string> {
  // The document route touches no service; nothing else is called.
  const app = createApp({ kind: 'public', services: {} as Services, logger: pino({ level: 'silent' }) })
  const document = await (await app.request('/openapi.json')).json()
  return `${JSON.stringify(document, null, 2)}\n`
}

export const OPENAPI_PATH = new URL('../../../docs/openapi.json', import.meta.url)

if (import.meta.main) {
  fs.writeFileSync(OPENAPI_PATH, await generateOpenApi())
  console.log(`wrote ${OPENAPI_PATH.pathname}`)
}

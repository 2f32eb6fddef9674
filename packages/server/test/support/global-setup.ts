import os from 'node:os'
import path from 'node:path'
import { pgliteTemplate, postgresTemplate, sweepStaleTemplates } from './template.ts'

/**
 * Runs once before the test files (`node --test --test-global-setup=…`): makes the
 * migrated templates that every test file copies its database from, so that the
 * files, which start side by side, find them made. Without it (one file run
 * directly) the first file to need a template makes it.
 */
export async function globalSetup(): Promise<void> {
  // Test files and the server processes they start load the same modules: V8's code cache
  // for them on disk saves a part of each start. The runner passes this on to every file.
  process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), 'worken-test-compile-cache')
  const serverUrl = process.env.TEST_DATABASE_URL
  // The PGlite template serves the server processes that use a data directory even on Postgres.
  await pgliteTemplate()
  if (serverUrl) await postgresTemplate(serverUrl)
  await sweepStaleTemplates(serverUrl)
}

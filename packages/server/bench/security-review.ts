/**
 * Adversarial review of a running Worken: real server processes (`node src/main.ts`), on
 * PGlite and on Postgres, attacked from outside as a hostile tenant would. Reports the
 * figures of issue 13 and exits non-zero when one of them is off.
 *
 *   npm run security:review                      # both backends, full (10-20 minutes per backend on 2 cores)
 *   npm run security:review -- --only pglite     # or postgres
 *   npm run security:review -- --quick           # fewer fuzz requests, kills and load seconds
 *   npm run security:review -- --seed 7          # another fuzz/load sequence (the default is fixed)
 *   npm run security:review -- --fuzz-requests 20000 --kills 30 --load-seconds 120   # longer
 *
 * Per backend:
 * 1. Cross-tenant (bench/security/tenancy.ts): every OpenAPI operation with another
 *    project's ids, from a sibling project and from another organization; internal API too.
 * 2. Fuzz (fuzz.ts): mutated requests for every operation, and malformed HTTP.
 * 3. Webhook SSRF (ssrf.ts): URLs aimed at private addresses in every spelling.
 * 4. Crash (crash.ts): kill -9 under write load; lost writes, owed replies, webhook duplicates.
 * 5. Load (load.ts): 200 concurrent clients.
 * Plus quick checks (checks.ts): default page size, per-key stream cap, deleted keys' streams, slow clients.
 *
 * Everything stays on loopback: the model is a fake (test/support/llm-server.ts), webhooks
 * go to a local receiver or nowhere, and no host name needing DNS is ever given to the server.
 * Postgres: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test), where
 * scratch databases are created and dropped.
 */
import { execFileSync } from 'node:child_process'
import os from 'node:os'
import { parseArgs } from 'node:util'
import { startLlmServer, type LlmServer } from '../test/support/llm-server.ts'
import type { ServerProcess } from '../test/support/process.ts'
import { startReceiver } from '../test/support/webhook-receiver.ts'
import { postgresAnswers, redact, runMain } from './common.ts'
import { errorLogs, newStore, POSTGRES_URL, seedOrganizations, startServer, type BackendName } from './security/backend.ts'
import { quickChecks, slowClientEnv } from './security/checks.ts'
import { agent, must, type Figure, type Finding, type PartResult } from './security/common.ts'
import { crashUnderLoad } from './security/crash.ts'
import { fuzz } from './security/fuzz.ts'
import { load } from './security/load.ts'
import { fetchDocument } from './security/openapi.ts'
import { findingsText, table, verdict } from './security/report.ts'
import { prepareSsrf, webhookSsrf } from './security/ssrf.ts'
import { crossTenant } from './security/tenancy.ts'
import { populate, reviewReply } from './security/tenants.ts'

type Options = { quick: boolean; seed: number; fuzzRequests: number; kills: number; crashClients: number; loadClients: number; loadSeconds: number }

await runMain('security:review', main)

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      seed: { type: 'string', default: '13' },
      'fuzz-requests': { type: 'string' },
      kills: { type: 'string' },
      'load-seconds': { type: 'string' },
    },
  })
  if (args.only !== undefined && args.only !== 'pglite' && args.only !== 'postgres') throw new Error('--only takes pglite or postgres')
  const quick = args.quick === true
  const options: Options = {
    quick,
    seed: Number(args.seed),
    fuzzRequests: Number(args['fuzz-requests'] ?? (quick ? 1200 : 5200)),
    kills: Number(args.kills ?? (quick ? 4 : 17)),
    crashClients: 6,
    loadClients: 200,
    loadSeconds: Number(args['load-seconds'] ?? (quick ? 10 : 30)),
  }
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    } catch {
      return 'unknown'
    }
  })()
  console.log(`Worken security review — ${new Date().toISOString()}, commit ${commit}, Node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`)
  console.log(`options: ${JSON.stringify(options)}`)

  const backends: BackendName[] = args.only ? [args.only as BackendName] : ['pglite', 'postgres']
  let failed = false
  const tables: string[] = []
  for (const backend of backends) {
    if (backend === 'postgres') {
      const problem = await postgresAnswers(POSTGRES_URL)
      if (problem) {
        console.log(`\nPostgres at ${redact(POSTGRES_URL)} does not answer (${problem}): FAIL`)
        failed = true
        continue
      }
    }
    const started = performance.now()
    const { figures, findings } = await review(backend, options)
    const title = `${backend === 'pglite' ? 'PGlite' : 'Postgres'} (${((performance.now() - started) / 60_000).toFixed(1)} min)`
    tables.push(table(title, figures))
    console.log(`\n${tables.at(-1)}\n`)
    const shown = findings.slice(0, 100)
    console.log(findingsText(shown))
    if (findings.length > shown.length) console.log(`… and ${findings.length - shown.length} more findings`)
    if (figures.some((figure) => verdict(figure) === 'FAIL')) failed = true
  }
  if (tables.length > 1) console.log(`\n## Summary\n\n${tables.join('\n\n')}`)
  console.log(failed ? '\nRESULT: FAIL' : '\nRESULT: OK')
  agent.destroy()
  if (failed) process.exitCode = 1
}

/** Runs a part; a part that throws is a FAIL row, and the review goes on. */
async function part(name: string, figures: Figure[], findings: Finding[], run: () => Promise<PartResult>): Promise<void> {
  const started = performance.now()
  process.stdout.write(`  ${name}…\n`)
  try {
    const result = await run()
    figures.push(...result.figures)
    findings.push(...result.findings)
  } catch (error) {
    figures.push({ figure: `${name}: completed`, value: 'no', expected: 'yes', ok: false })
    findings.push({ part: name, summary: `the part did not complete: ${(error as Error).stack ?? String(error)}` })
  }
  process.stdout.write(`  ${name}: ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
}

async function review(backend: BackendName, options: Options): Promise<PartResult> {
  console.log(`\n== ${backend}`)
  const figures: Figure[] = []
  const findings: Finding[] = []
  const llm: LlmServer = await startLlmServer()
  llm.replyWith(reviewReply)
  const receiver = await startReceiver()
  const store = await newStore(backend, 'main')
  const servers: ServerProcess[] = []
  try {
    const [attacker, other] = await seedOrganizations(store, ['Attacker', 'Other'])
    // First process: private webhook targets allowed, so that every project can have an
    // endpoint (at the local receiver) and deliveries to attack; nothing is tested about SSRF here.
    const first = await startServer(store, llm.url, { WORKEN_WEBHOOKS_ALLOW_PRIVATE: 'true' })
    servers.push(first)
    const document = await fetchDocument(first.publicUrl)
    await part('cross-tenant', figures, findings, () => crossTenant({ server: first, llm, receiver, document, attacker: attacker!, other: other! }))
    const ssrf = await prepareSsrf(first.publicUrl, attacker!.key, attacker!.organizationId, receiver.url)
    const fuzzProject = await must(first.publicUrl, attacker!.key, 'POST', '/projects', { name: 'Fuzz', organization_id: attacker!.organizationId })
    const fuzzTargets = await populate(first.publicUrl, fuzzProject.api_key.key, fuzzProject.id, attacker!.organizationId, 'F', receiver.url)
    await first.stop('SIGTERM')

    // Second process, on the same data: the default configuration (private webhook targets
    // refused), with short slow-client timeouts where this checkout has them.
    const second = await startServer(store, llm.url, slowClientEnv())
    servers.push(second)
    await part('webhook SSRF', figures, findings, () => webhookSsrf(second, ssrf))
    await part('fuzz', figures, findings, () => fuzz(second, document, fuzzProject.api_key.key, fuzzTargets, { requests: options.fuzzRequests, seed: options.seed, concurrency: 4 }))
    await part('quick checks', figures, findings, () => quickChecks(second, attacker!.key, attacker!.organizationId))
    await second.stop('SIGTERM')

    // What the server itself reported as errors while it was attacked: a client must not be able to make it log one.
    const logged = [...errorLogs(first), ...errorLogs(second)]
    const grouped = new Map<string, number>()
    for (const entry of logged) grouped.set(`${entry.msg}: ${entry.error}${entry.request ? ` — ${entry.request}` : ''}`, (grouped.get(`${entry.msg}: ${entry.error}${entry.request ? ` — ${entry.request}` : ''}`) ?? 0) + 1)
    figures.push({ figure: 'error-level log lines while attacked', value: logged.length, expected: '0', ok: logged.length === 0 })
    for (const [line, count] of grouped) findings.push({ part: 'logs', summary: `the server logged at error level ${count}×: ${line}` })
  } finally {
    for (const server of servers) await server.stop('SIGKILL').catch(() => {})
    await store.drop()
    await receiver.close()
  }
  try {
    await part('crash', figures, findings, () => crashUnderLoad(backend, llm, { kills: options.kills, clients: options.crashClients, seed: options.seed, quick: options.quick }))
    await part('load', figures, findings, () => load(backend, llm, { clients: options.loadClients, seconds: options.loadSeconds, seed: options.seed }))
  } finally {
    await llm.close()
  }
  return { figures, findings }
}

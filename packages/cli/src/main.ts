#!/usr/bin/env node
import { registerHooks } from 'node:module'
import { EXIT } from './exit-codes.ts'

// The workspace packages (@worken/sdk, @worken/mcp, @worken/server) are TypeScript in this repository,
// found through their `worken:source` export condition; this adds it when Node was not started with
// `--conditions=worken:source`, so `node packages/cli/src/main.ts` and the `worken` bin work as they are.
// Only what is imported after this line sees it: the program is imported below.
registerHooks({
  resolve: (specifier, context, nextResolve) =>
    nextResolve(specifier, context.conditions.includes('worken:source') ? context : { ...context, conditions: [...context.conditions, 'worken:source'] }),
})
const { run } = await import('./program.ts')

// Ctrl-C aborts what is in flight (a stream, the feed, an upload) and exits 130;
// a second Ctrl-C exits at once.
const controller = new AbortController()
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(EXIT.interrupted)
  controller.abort()
})

const code = await run(process.argv.slice(2), controller.signal)
process.exitCode = code

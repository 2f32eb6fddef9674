#!/usr/bin/env -S node --conditions=worken:source
import { EXIT } from './exit-codes.ts'
import { run } from './program.ts'

// Ctrl-C aborts what is in flight (a stream, the feed, an upload) and exits 130;
// a second Ctrl-C exits at once.
const controller = new AbortController()
process.on('SIGINT', () => {
  if (controller.signal.aborted) process.exit(EXIT.interrupted)
  controller.abort()
})

const code = await run(process.argv.slice(2), controller.signal)
process.exitCode = code

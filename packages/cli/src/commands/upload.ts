import fs from 'node:fs'
import path from 'node:path'
import type { Command } from 'commander'
import type { CommandContext } from '../operations.ts'
import { CliError, EXIT } from '../exit-codes.ts'
import { Progress } from '../progress.ts'

/**
 * `worken vector-stores upload <vector_store_id> <folder>`: every file under the
 * folder uploaded and added to the knowledge base, a few at a time, with a
 * progress bar on stderr; then, with `--wait`, until each is indexed.
 */
export function addUploadCommand(program: Command, context: CommandContext): void {
  const group = program.commands.find((command) => command.name() === 'vector-stores')
  if (!group) throw new Error('the vector-stores commands must be added first')
  group
    .command('upload')
    .description('Upload every file of a folder (recursively) into a vector store, with a progress bar')
    .argument('<vector_store_id>')
    .argument('<folder>')
    .option('--concurrency <n>', 'files uploaded at once', '4')
    .option('--wait', 'wait until every file is indexed (or failed)')
    .action(async (vectorStoreId: string, folder: string, options: { concurrency: string; wait?: boolean }) => {
      const client = context.client()
      const files = listFiles(folder)
      if (files.length === 0) throw new CliError(`No files under ${folder}`, EXIT.usage)
      const concurrency = Math.max(1, Math.min(16, Number.parseInt(options.concurrency, 10) || 4))
      const total = files.reduce((sum, file) => sum + fs.statSync(file).size, 0)
      const progress = new Progress(process.stderr, files.length, total)
      const added: Array<{ file: string; id: string }> = []
      const failed: Array<{ file: string; error: string }> = []
      let next = 0
      const worker = async () => {
        while (next < files.length) {
          const file = files[next++]!
          const bytes = fs.readFileSync(file)
          try {
            const form = new FormData()
            form.set('purpose', 'assistants')
            form.set('file', new File([bytes], path.relative(folder, file)))
            const uploaded = (await client.call('files.create', { body: form, signal: context.signal })) as { id: string }
            await client.call('vectorStores.files.create', { params: { vector_store_id: vectorStoreId }, body: { file_id: uploaded.id }, signal: context.signal })
            added.push({ file, id: uploaded.id })
          } catch (err) {
            if (context.signal.aborted) throw err
            failed.push({ file, error: (err as Error).message })
          }
          progress.advance(bytes.byteLength, path.relative(folder, file))
        }
      }
      await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker))
      progress.done()
      let statuses: Record<string, string> = {}
      if (options.wait) statuses = await waitIndexed(context, vectorStoreId, added.map((entry) => entry.id))
      const printer = context.printer()
      if (printer.json) printer.out.write(`${JSON.stringify({ vector_store_id: vectorStoreId, added: added.map((entry) => ({ ...entry, ...(statuses[entry.id] ? { status: statuses[entry.id] } : {}) })), failed }, null, 2)}\n`)
      else {
        printer.out.write(`Added ${added.length} of ${files.length} files to ${vectorStoreId}.\n`)
        for (const entry of failed) printer.out.write(`  failed: ${entry.file}: ${entry.error}\n`)
        if (options.wait) printer.out.write(`Indexed: ${Object.values(statuses).filter((status) => INDEXED.includes(status)).length}, failed: ${Object.values(statuses).filter((status) => !INDEXED.includes(status)).length}.\n`)
      }
      if (failed.length > 0) process.exitCode = EXIT.failed
    })
}

function listFiles(folder: string): string[] {
  let entries: fs.Dirent[]
  try {
    entries = fs.readdirSync(folder, { withFileTypes: true, recursive: true })
  } catch (err) {
    throw new CliError(`Cannot read ${folder}: ${(err as Error).message}`, EXIT.usage)
  }
  return entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort()
}

/** A knowledge-base file's end states: Worken's (`processed`, `error`) and, via OpenAI-style clients, the others. */
const DONE = ['processed', 'error', 'completed', 'failed', 'cancelled']
const INDEXED = ['processed', 'completed']

async function waitIndexed(context: CommandContext, vectorStoreId: string, fileIds: string[]): Promise<Record<string, string>> {
  const statuses: Record<string, string> = {}
  const client = context.client()
  for (;;) {
    for (const id of fileIds.filter((fileId) => !DONE.includes(statuses[fileId] ?? ''))) {
      const file = (await client.call('vectorStores.files.get', { params: { vector_store_id: vectorStoreId, file_id: id }, signal: context.signal })) as { status: string }
      statuses[id] = file.status
    }
    if (fileIds.every((id) => DONE.includes(statuses[id] ?? ''))) return statuses
    await new Promise((resolve) => setTimeout(resolve, 500))
    context.signal.throwIfAborted()
  }
}

import assert from 'node:assert/strict'
import fs from 'node:fs'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const SRC = fileURLToPath(new URL('../src', import.meta.url))
const manifest = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8'))

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : []
  })
}

/** The code without comments, so a comment that mentions `process.env` is not a use of it. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

/** …and without the contents of quoted strings (an operation's summary says "the process is up"). */
function withoutStrings(text: string): string {
  return text.replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"/g, "''")
}

/** Node-only globals used bare; `process?:` in a type is a property name (env.ts reads globalThis.process that way). */
function nodeGlobals(text: string): string[] {
  return [...withoutStrings(text).matchAll(/(?<![.\w$])(process|Buffer|__dirname|__filename|require|setImmediate)\b(?!\s*\??:)/g)].map((match) => match[1]!)
}

const read = (file: string) => withoutComments(fs.readFileSync(file, 'utf8'))

function specifiers(text: string): string[] {
  return [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((match) => match[1]!)
}

test('src/ imports no node: module and no Node built-in, only its declared dependencies', () => {
  const files = sources(SRC)
  assert.ok(files.length > 15)
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]))
  const offenders: string[] = []
  for (const file of files) {
    for (const specifier of specifiers(read(file))) {
      const relative = path.relative(SRC, file)
      if (specifier.startsWith('node:') || builtins.has(specifier)) offenders.push(`${relative}: ${specifier}`)
      else if (!specifier.startsWith('.') && !Object.hasOwn(manifest.dependencies, specifier)) offenders.push(`${relative}: ${specifier} (not a dependency)`)
    }
  }
  assert.deepEqual(offenders, [])
})

test('src/ uses no Node-only global (process, Buffer, __dirname, require) except through globalThis', () => {
  const offenders: string[] = []
  for (const file of sources(SRC)) {
    for (const name of nodeGlobals(read(file))) offenders.push(`${path.relative(SRC, file)}: ${name}`)
  }
  assert.deepEqual(offenders, [])
})

test('the checks would catch an import of node:crypto, and not a comment about one', () => {
  assert.deepEqual(specifiers(`import { createHmac } from 'node:crypto'\nconst fs = await import("fs")`), ['node:crypto', 'fs'])
  assert.deepEqual(specifiers(withoutComments(`// import x from 'node:fs'\nconst a = 1`)), [])
  assert.deepEqual(nodeGlobals(`const key = process.env.KEY ?? Buffer.from('x')`), ['process', 'Buffer'])
  assert.deepEqual(nodeGlobals(`const scope = globalThis as { process?: unknown }; scope.process; 'the process is up'`), [])
})

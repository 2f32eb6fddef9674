/**
 * The source's import graph: which files import which (type-only imports too,
 * since they tie modules together just as much), the circles in it (strongly
 * connected components of more than one file) and the largest files.
 *
 *   node scripts/import-graph.ts [src-dir]
 *
 * A hand-written reader rather than dependency-cruiser or madge: both parse
 * through the TypeScript compiler's JS API, which TypeScript 7 does not ship,
 * and every import here is a static, relative `.ts` specifier.
 */
import fs from 'node:fs'
import path from 'node:path'

export type ImportGraph = Map<string, Set<string>>

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm

export function sourceFiles(root: string): string[] {
  const found: string[] = []
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name)
    if (entry.isDirectory()) found.push(...sourceFiles(full))
    else if (entry.name.endsWith('.ts')) found.push(full)
  }
  return found.sort()
}

/** Relative imports of every file under `root`, as paths relative to `root`. */
export function importGraph(root: string): ImportGraph {
  const graph: ImportGraph = new Map()
  for (const file of sourceFiles(root)) {
    const from = path.relative(root, file)
    const targets = new Set<string>()
    const text = fs.readFileSync(file, 'utf8')
    for (const match of text.matchAll(IMPORT)) {
      const specifier = match[1] ?? match[2] ?? match[3]
      if (!specifier || !specifier.startsWith('.')) continue
      targets.add(path.relative(root, path.resolve(path.dirname(file), specifier)))
    }
    graph.set(from, targets)
  }
  return graph
}

/** Strongly connected components with more than one file (Tarjan). */
export function circles(graph: ImportGraph): string[][] {
  let index = 0
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (node: string) => {
    indexOf.set(node, index)
    low.set(node, index)
    index += 1
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue
      if (!indexOf.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, indexOf.get(next)!))
      }
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node)
  return found
}

/** The layer a source file belongs to: the platform, one module, or the composition root. */
export function layerOf(file: string): { layer: 'platform' } | { layer: 'module'; module: string } | { layer: 'root' } {
  const parts = file.split(path.sep)
  if (parts[0] === 'platform') return { layer: 'platform' }
  if (parts[0] === 'modules' && parts[1]) return { layer: 'module', module: parts[1] }
  return { layer: 'root' }
}

/**
 * Imports that break docs/architecture.md's rules: the platform imports only the
 * platform; a module imports the platform, its own files, and other modules only
 * through their `index.ts`. The composition root may import anything.
 */
export function layerViolations(graph: ImportGraph): string[] {
  const found: string[] = []
  for (const [from, targets] of graph) {
    const source = layerOf(from)
    for (const target of targets) {
      const dest = layerOf(target)
      if (source.layer === 'platform' && dest.layer !== 'platform') found.push(`${from} → ${target}: the platform imports no module`)
      if (source.layer === 'module') {
        if (dest.layer === 'root') found.push(`${from} → ${target}: a module does not import the composition root`)
        if (dest.layer === 'module' && dest.module !== source.module && target !== path.join('modules', dest.module, 'index.ts')) {
          found.push(`${from} → ${target}: another module is reached through modules/${dest.module}/index.ts`)
        }
      }
    }
  }
  return found
}

if (import.meta.main) {
  const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, '../src'))
  const graph = importGraph(root)
  const found = circles(graph)
  const inCircles = found.reduce((sum, component) => sum + component.length, 0)
  console.log(`files: ${graph.size}, imports: ${[...graph.values()].reduce((sum, targets) => sum + targets.size, 0)}`)
  console.log(`files in circles: ${inCircles} (${found.length} circle${found.length === 1 ? '' : 's'})`)
  for (const component of found) console.log(`  - ${component.join(', ')}`)
  const violations = layerViolations(graph)
  console.log(`layer violations: ${violations.length}`)
  for (const violation of violations) console.log(`  - ${violation}`)
  const sizes = sourceFiles(root).map((file) => ({ file: path.relative(root, file), lines: fs.readFileSync(file, 'utf8').split('\n').length - 1 }))
  sizes.sort((a, b) => b.lines - a.lines)
  console.log('largest files:')
  for (const { file, lines } of sizes.slice(0, 8)) console.log(`  ${String(lines).padStart(5)}  ${file}`)
}

/**
 * Reads an environment variable without importing anything runtime-specific:
 * Node and Bun have `process.env`, Deno has `Deno.env` (which throws without
 * `--allow-env`), browsers have neither.
 */
export function readEnv(name: string): string | undefined {
  const scope = globalThis as { process?: { env?: Record<string, string | undefined> }; Deno?: { env?: { get(name: string): string | undefined } } }
  const fromProcess = scope.process?.env?.[name]
  if (fromProcess !== undefined) return blankToUndefined(fromProcess)
  try {
    const fromDeno = scope.Deno?.env?.get(name)
    return fromDeno === undefined ? undefined : blankToUndefined(fromDeno)
  } catch {
    return undefined
  }
}

function blankToUndefined(value: string): string | undefined {
  const trimmed = value.trim()
  return trimmed === '' ? undefined : trimmed
}

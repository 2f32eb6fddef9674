/**
 * Whether `error` is Postgres refusing a row because of the unique index or
 * constraint `name` (SQLSTATE 23505). Drizzle wraps the driver's error in
 * `cause`; both drivers (pg, PGlite) report the index's name as `constraint`.
 * Services use it to turn the loser of a race into a 409 rather than a 500.
 */
export function isUniqueViolation(error: unknown, name: string): boolean {
  return violated(error, '23505') === name
}

/**
 * Whether `error` is Postgres refusing a row whose foreign key `name` points at
 * nothing (SQLSTATE 23503): the parent was deleted by a concurrent request.
 */
export function isForeignKeyViolation(error: unknown, name: string): boolean {
  return violated(error, '23503') === name
}

/** The constraint named by the first error in the `cause` chain with this SQLSTATE. */
function violated(error: unknown, sqlState: string): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const { code, constraint } = current as Error & { code?: unknown; constraint?: unknown }
    if (code === sqlState) return typeof constraint === 'string' ? constraint : undefined
  }
  return undefined
}

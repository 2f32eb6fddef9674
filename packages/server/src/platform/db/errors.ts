/**
 * Whether `error` is Postgres refusing a row because of the unique index or
 * constraint `name` (SQLSTATE 23505). Drizzle wraps the driver's error in
 * `cause`; both drivers (pg, PGlite) report the index's name as `constraint`.
 * Services use it to turn the loser of a race into a 409 rather than a 500.
 */
export function isUniqueViolation(error: unknown, name: string): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
    const { code, constraint } = current as Error & { code?: unknown; constraint?: unknown }
    if (code === '23505') return constraint === name
  }
  return false
}

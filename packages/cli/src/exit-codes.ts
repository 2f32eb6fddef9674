/**
 * What `worken` exits with, so scripts can branch without parsing messages.
 * Documented in the package README; a test pins each one.
 */
export const EXIT = {
  ok: 0,
  /** The API refused the request (4xx other than below), or something else failed. */
  failed: 1,
  /** Wrong usage: an unknown command or option, a missing argument, malformed `--data`. */
  usage: 2,
  /** No key, or the server refused it (401), or the key may not do this (403). */
  auth: 3,
  /** The resource does not exist (404). */
  notFound: 4,
  /** The server could not be reached, timed out, or failed (5xx) after the retries. */
  unavailable: 5,
  /** Interrupted by Ctrl-C (SIGINT), as shells report it. */
  interrupted: 130,
} as const

/** A failure the user can act on: its message is printed as is, without a stack. */
export class CliError extends Error {
  readonly exitCode: number
  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message)
    this.exitCode = exitCode
  }
}

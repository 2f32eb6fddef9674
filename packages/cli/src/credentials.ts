import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { CliError, EXIT } from './exit-codes.ts'

export type Profile = { api_key: string; base_url?: string }
export type CredentialsFile = { default_profile?: string; profiles: Record<string, Profile> }

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080'
const PROFILE_NAME = /^[A-Za-z0-9_.-]{1,64}$/

/**
 * Where `worken login` keeps keys: `$WORKEN_CONFIG_DIR`, else the platform's
 * user config directory (`$XDG_CONFIG_HOME` or `~/.config` on Linux and macOS,
 * `%APPDATA%` on Windows), in `worken/credentials.json`.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WORKEN_CONFIG_DIR) return env.WORKEN_CONFIG_DIR
  if (process.platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'worken')
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'worken')
}

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), 'credentials.json')
}

export function readCredentials(env: NodeJS.ProcessEnv = process.env): CredentialsFile {
  const file = credentialsPath(env)
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} }
    throw err
  }
  try {
    const parsed = JSON.parse(text) as CredentialsFile
    return { ...parsed, profiles: parsed.profiles ?? {} }
  } catch {
    throw new CliError(`${file} is not valid JSON; fix it or delete it and run \`worken login\` again`)
  }
}

/**
 * Writes the file readable by its owner only (0600, in a 0700 directory), through a
 * temporary file and a rename, so a crash never leaves half a file of keys.
 */
export function writeCredentials(credentials: CredentialsFile, env: NodeJS.ProcessEnv = process.env): string {
  const dir = configDir(env)
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const file = credentialsPath(env)
  const temporary = `${file}.${process.pid}.tmp`
  fs.writeFileSync(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 })
  fs.chmodSync(temporary, 0o600)
  fs.renameSync(temporary, file)
  return file
}

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) throw new CliError(`Profile names are 1-64 of letters, digits, '_', '.', '-': '${name}'`, EXIT.usage)
  return name
}

export type Resolved = { apiKey: string | undefined; baseURL: string; profile: string | undefined }

/**
 * Which key and server a command uses, first found wins:
 * `--api-key`, then an explicitly chosen profile (`--profile` or `WORKEN_PROFILE`),
 * then `WORKEN_API_KEY`, then the default profile. The base URL follows the same
 * order (`--base-url`, the chosen profile's, `WORKEN_BASE_URL`, the default profile's, loopback).
 */
export function resolveCredentials(flags: { apiKey?: string; baseUrl?: string; profile?: string }, env: NodeJS.ProcessEnv = process.env): Resolved {
  const stored = readCredentials(env)
  const chosenName = flags.profile ?? env.WORKEN_PROFILE
  const chosen = chosenName === undefined ? undefined : stored.profiles[checkProfileName(chosenName)]
  if (chosenName !== undefined && !chosen) throw new CliError(`No profile '${chosenName}'; run \`worken login --profile ${chosenName}\``, EXIT.auth)
  const defaultName = stored.default_profile ?? 'default'
  const fallback = stored.profiles[defaultName]
  const apiKey = flags.apiKey ?? chosen?.api_key ?? env.WORKEN_API_KEY ?? fallback?.api_key
  const baseURL = flags.baseUrl ?? chosen?.base_url ?? env.WORKEN_BASE_URL ?? fallback?.base_url ?? DEFAULT_BASE_URL
  const profile = flags.apiKey ? undefined : chosen ? chosenName : env.WORKEN_API_KEY ? undefined : fallback ? defaultName : undefined
  return { apiKey, baseURL: baseURL.replace(/\/+$/, ''), profile }
}

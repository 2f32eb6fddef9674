import type { Command } from 'commander'
import { WorkenClient } from '@worken/sdk'
import { checkProfileName, DEFAULT_BASE_URL, readCredentials, writeCredentials } from '../credentials.ts'
import { CliError, EXIT } from '../exit-codes.ts'
import { readSecret } from '../prompt.ts'

type GlobalFlags = { apiKey?: string; baseUrl?: string; profile?: string }

/**
 * `worken login`: asks for a key without echoing it (or reads it from stdin),
 * checks it against the server, and stores it in a named profile.
 */
export function addLoginCommands(program: Command, globals: () => GlobalFlags, stdin: () => NodeJS.ReadStream): void {
  program
    .command('login')
    .description('Store an API key in a profile (asked for without echo, or read from stdin), after checking it with the server')
    .action(async () => {
      const flags = globals()
      const profile = checkProfileName(flags.profile ?? process.env.WORKEN_PROFILE ?? 'default')
      const baseURL = (flags.baseUrl ?? process.env.WORKEN_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, '')
      const apiKey = (flags.apiKey ?? (await readSecret(`API key for ${baseURL}: `, stdin()))).trim()
      if (!apiKey) throw new CliError('No API key given', EXIT.usage)
      const client = new WorkenClient({ apiKey, baseURL, maxRetries: 1 })
      // Any authenticated read proves the key: the project list is the key's own project.
      const projects = (await client.projects.list({ limit: 1 })).data
      const credentials = readCredentials()
      credentials.profiles[profile] = { api_key: apiKey, base_url: baseURL }
      credentials.default_profile ??= profile
      const file = writeCredentials(credentials)
      const project = projects[0]
      process.stderr.write(`Logged in to ${baseURL}${project ? ` (project ${project.name}, ${project.id})` : ''} as profile '${profile}'. Saved in ${file}.\n`)
    })

  program
    .command('logout')
    .description('Forget the key of a profile (default: the default profile)')
    .action(() => {
      const flags = globals()
      const credentials = readCredentials()
      const profile = checkProfileName(flags.profile ?? process.env.WORKEN_PROFILE ?? credentials.default_profile ?? 'default')
      if (!credentials.profiles[profile]) throw new CliError(`No profile '${profile}'`, EXIT.usage)
      delete credentials.profiles[profile]
      if (credentials.default_profile === profile) delete credentials.default_profile
      writeCredentials(credentials)
      process.stderr.write(`Removed profile '${profile}'.\n`)
    })
}

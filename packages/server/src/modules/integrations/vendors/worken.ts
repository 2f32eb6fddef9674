import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import { nullableText, strictObject } from './fields.ts'
import type { VendorDefinition } from './types.ts'

/**
 * Worken's own website widget: a live channel that needs no credentials (visitors talk to the bot
 * through this server's public API). `auth_data` may hold the widget's public id, the one its embed
 * snippet carries; the profile is built from it without any network call.
 */
const auth = strictObject({
  widget_id: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8–64 characters: letters, digits, _ and -')
    .optional(),
})

/** An origin (`https://shop.example.com`), nothing more: no path, query or credentials. */
const origin = z
  .string({ error: 'must be a string' })
  .refine((value) => {
    try {
      const url = new URL(value)
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value
    } catch {
      return false
    }
  }, 'must be an origin such as https://shop.example.com (scheme and host, no path or trailing slash)')

const settings = strictObject({
  /** The title of the chat window; null: the bot's name. */
  title: nullableText(100),
  /** Shown when a visitor opens the chat, before they write; null: none. */
  welcome_message: nullableText(4096),
  /** The sites that may embed the widget; empty: any site. */
  allowed_origins: z.array(origin, { error: 'must be a list of origins' }).max(100, 'must list at most 100 origins').default([]),
  /** The accent colour, `#rrggbb`; null: the default. */
  color: z.string({ error: 'must be a string or null' }).regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1a73e8').nullable().default(null),
  /** Which corner of the page the launcher sits in. */
  position: z.enum(['bottom-right', 'bottom-left'], { error: 'must be bottom-right or bottom-left' }).default('bottom-right'),
})

/** A fresh public id for a widget (`wgt_` and 24 random base32 characters), for an integration created without one. */
export function newWidgetId(): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz'
  return `wgt_${Array.from(randomBytes(24), (byte) => alphabet[byte % 32]).join('')}`
}

export const worken: VendorDefinition<z.output<typeof auth>, z.output<typeof settings>> = {
  vendor: 'worken',
  kind: 'channel',
  /** The public base URL browsers reach this server's API at; the widget integration itself calls nothing. */
  defaultApiUrl: 'http://127.0.0.1:8080',
  auth,
  settings,
  async profile({ widget_id }) {
    return { id: widget_id ?? 'widget', name: 'Website widget' }
  },
}

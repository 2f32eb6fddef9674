import { pgTable, text } from 'drizzle-orm/pg-core'

/**
 * The tenant every row belongs to, as platform tables see it: only the key that
 * their foreign keys point at. The projects module defines the whole `projects`
 * table; this declaration is never used to read or write, and is not part of
 * the schema that drizzle-kit compares (src/schema.ts does not export it), so
 * platform tables can cascade on a project's deletion without importing a module.
 */
export const projects = pgTable('projects', { id: text('id').primaryKey() })

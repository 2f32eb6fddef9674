import { defineConfig } from 'drizzle-kit'

// Generates the committed SQL migrations in ./drizzle from src/schema.ts (each module's tables.ts):
//   npm run db:generate -w @worken/server -- --name <what_changed>
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/schema.ts',
  out: './drizzle',
})

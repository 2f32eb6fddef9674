/** The projects module: organizations, projects, API keys and the first start's bootstrap. */
export { organizations, users, memberships, projects, apiKeys } from './tables.ts'

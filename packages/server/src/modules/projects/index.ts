/** The projects module: organizations, projects, API keys and the first start's bootstrap. */
export { organizations, users, memberships, projects, apiKeys } from './tables.ts'
export { ProjectService } from './service.ts'
export { ApiKeyService } from './api-keys.ts'
export { bootstrap, type BootstrapResult } from './bootstrap.ts'
export { projectRoutes, type ProjectRouteServices } from './routes.ts'

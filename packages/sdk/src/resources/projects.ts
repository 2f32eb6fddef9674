import type { APIPromise } from '../core/api-promise.ts'
import { OffsetPage, type PagePromise } from '../core/pagination.ts'
import { path } from '../core/path.ts'
import type { RequestOptions } from '../core/transport.ts'
import type { ApiKey, ApiKeyCreated, ApiKeyListParams, CreateApiKeyBody, CreateProjectBody, Deleted, Project, ProjectCreated, ProjectListParams } from '../types.ts'
import { APIResource } from './resource.ts'

/** Projects of the key's organization and their API keys. */
export class Projects extends APIResource {
  readonly apiKeys = new ApiKeys(this.client)

  /** @example for await (const project of client.projects.list()) console.log(project.name) */
  list(query: ProjectListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<Project>> {
    return this.client.getPage<OffsetPage<Project>>(OffsetPage, '/projects', { query, ...options })
  }

  /**
   * A project of the caller's organization, with its first API key (`api_key`, shown once).
   *
   * @example
   * const project = await client.projects.create({ name: 'Staging', organization_id: 'org_123' })
   */
  create(body: CreateProjectBody, options?: RequestOptions): APIPromise<ProjectCreated> {
    return this.client.post(path`/projects`, { body, ...options })
  }
}

export class ApiKeys extends APIResource {
  /** Key metadata; secrets are never listed. @example for await (const key of client.projects.apiKeys.list('proj_123')) console.log(key.prefix) */
  list(projectId: string, query: ApiKeyListParams = {}, options?: RequestOptions): PagePromise<OffsetPage<ApiKey>> {
    return this.client.getPage<OffsetPage<ApiKey>>(OffsetPage, path`/projects/${projectId}/api-keys`, { query, ...options })
  }

  /** The answer is the only one that carries `key`. @example const { key } = await client.projects.apiKeys.create('proj_123', { name: 'production-server' }) */
  create(projectId: string, body: CreateApiKeyBody, options?: RequestOptions): APIPromise<ApiKeyCreated> {
    return this.client.post(path`/projects/${projectId}/api-keys`, { body, ...options })
  }

  /** Revokes the key (its event streams end within a second). @example await client.projects.apiKeys.delete('proj_123', 'key_123') */
  delete(projectId: string, keyId: string, options?: RequestOptions): APIPromise<Deleted> {
    return this.client.delete(path`/projects/${projectId}/api-keys/${keyId}`, options)
  }
}

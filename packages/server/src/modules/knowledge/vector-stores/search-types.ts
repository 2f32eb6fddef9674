import type { z } from '@hono/zod-openapi'
import type { AttributeFilter } from './filters.ts'
import type { SearchPageSchema, SearchResultSchema } from './schemas.ts'

/** One query of `POST /vector_stores/:id/search`, or of the `file_search` tool, over one or more stores of a project. */
export type SearchRequest = {
  projectId: string
  vectorStoreIds: string[]
  /** One or more query strings; each adds its own ranked lists to the fusion. */
  queries: string[]
  /** 1–50. */
  maxResults: number
  filters?: AttributeFilter | undefined
  /** Results scoring below this (0–1) are left out. */
  scoreThreshold?: number | undefined
  /**
   * How much each side counts in the fusion (OpenAI's `hybrid_search` weights);
   * 0 leaves a side out. Default 1 and 1.
   */
  weights?: { embedding: number; text: number } | undefined
}

/** A matching chunk, in OpenAI's search result shape: an API object, typed from its schema. */
export type SearchResult = z.infer<typeof SearchResultSchema>

/** `hybrid`: vector similarity and full text fused; `full_text`: no pgvector on this database. */
export type SearchMode = z.infer<typeof SearchPageSchema>['search_mode']

export type SearchOutcome = { mode: SearchMode; results: SearchResult[] }

/** What the `file_search` tool and the search route call. */
export interface KnowledgeSearch {
  search(request: SearchRequest): Promise<SearchOutcome>
}

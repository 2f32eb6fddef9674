/**
 * The knowledge module: files, vector stores (indexing, hybrid search) and the
 * embedders. Other modules reach it only through here.
 */
export { createLocalEmbedder, LOCAL_EMBEDDER_DIMENSIONS, type Embedder } from './local-embedder.ts'
export type { KnowledgeSearch, SearchRequest, SearchResult, SearchOutcome } from './vector-stores/search-types.ts'
export { liveStoreIds } from './vector-stores/stores.ts'
export { KnowledgeBaseService } from './vector-stores/service.ts'
export { VectorStoreIndexer } from './vector-stores/indexer.ts'
export { FileService } from './files/service.ts'
export { PostgresBlobStore } from './files/blob-store.ts'
export { fileRoutes, type FileRouteServices } from './files/routes.ts'
export { vectorStoreRoutes, type VectorStoreRouteServices } from './vector-stores/routes.ts'

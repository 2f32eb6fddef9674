"""``client.vector_stores``: OpenAI-compatible knowledge bases, their files, batches and search."""

from __future__ import annotations

from typing import Any

from .._pagination import CursorPage
from ..types import (
    DeletedVectorStore,
    DeletedVectorStoreFile,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileContent,
    VectorStoreSearchPage,
)
from ._base import APIResource, no_arguments, path_param, split_options


def _store(vector_store_id: str) -> str:
    return f"/vector_stores/{path_param('vector_store_id', vector_store_id)}"


class VectorStoreFileContentResource(APIResource):
    def retrieve(self, vector_store_id: str, file_id: str, **kwargs: Any) -> VectorStoreFileContent:
        """``GET /vector_stores/{id}/files/{file_id}/content``: the text rebuilt from the chunks."""
        options = split_options(kwargs)
        no_arguments("vector_stores.files.content.retrieve", kwargs)
        return self._get(f"{_store(vector_store_id)}/files/{path_param('file_id', file_id)}/content", options)


class VectorStoreFiles(APIResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.content = VectorStoreFileContentResource(client)

    def create(self, vector_store_id: str, **body: Any) -> VectorStoreFile:
        """``POST /vector_stores/{id}/files``: ``file_id=`` of an uploaded file (JSON), or ``file=``
        to upload and add in one request (multipart; ``attributes`` and ``chunking_strategy`` go as
        JSON text)."""
        options = split_options(body)
        path = f"{_store(vector_store_id)}/files"
        if "file" in body:
            file = body.pop("file")
            return self._transport.request("POST", path, options=options, form=(body, {"file": file})).json()
        return self._post_json(path, options, body)

    def list(self, vector_store_id: str, **query: Any) -> CursorPage[VectorStoreFile]:
        """``GET /vector_stores/{id}/files`` (``limit``, ``order``, ``after``, ``before``, ``filter``)."""
        options = split_options(query)
        return self._page(CursorPage, f"{_store(vector_store_id)}/files", query, options)

    def retrieve(self, vector_store_id: str, file_id: str, **kwargs: Any) -> VectorStoreFile:
        """``GET /vector_stores/{id}/files/{file_id}``."""
        options = split_options(kwargs)
        no_arguments("vector_stores.files.retrieve", kwargs)
        return self._get(f"{_store(vector_store_id)}/files/{path_param('file_id', file_id)}", options)

    def update(self, vector_store_id: str, file_id: str, **body: Any) -> VectorStoreFile:
        """``POST /vector_stores/{id}/files/{file_id}`` ``{attributes}``."""
        options = split_options(body)
        return self._post_json(f"{_store(vector_store_id)}/files/{path_param('file_id', file_id)}", options, body)

    def delete(self, vector_store_id: str, file_id: str, **kwargs: Any) -> DeletedVectorStoreFile:
        """``DELETE /vector_stores/{id}/files/{file_id}`` (the file itself stays)."""
        options = split_options(kwargs)
        no_arguments("vector_stores.files.delete", kwargs)
        return self._delete(f"{_store(vector_store_id)}/files/{path_param('file_id', file_id)}", options)


class FileBatchFiles(APIResource):
    def list(self, vector_store_id: str, batch_id: str, **query: Any) -> CursorPage[VectorStoreFile]:
        """``GET /vector_stores/{id}/file_batches/{batch_id}/files``."""
        options = split_options(query)
        path = f"{_store(vector_store_id)}/file_batches/{path_param('batch_id', batch_id)}/files"
        return self._page(CursorPage, path, query, options)


class FileBatches(APIResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.files = FileBatchFiles(client)

    def create(self, vector_store_id: str, **body: Any) -> VectorStoreFileBatch:
        """``POST /vector_stores/{id}/file_batches`` ``{file_ids | files, attributes?, chunking_strategy?}``."""
        options = split_options(body)
        return self._post_json(f"{_store(vector_store_id)}/file_batches", options, body)

    def retrieve(self, vector_store_id: str, batch_id: str, **kwargs: Any) -> VectorStoreFileBatch:
        """``GET /vector_stores/{id}/file_batches/{batch_id}``."""
        options = split_options(kwargs)
        no_arguments("vector_stores.file_batches.retrieve", kwargs)
        return self._get(f"{_store(vector_store_id)}/file_batches/{path_param('batch_id', batch_id)}", options)

    def cancel(self, vector_store_id: str, batch_id: str, **kwargs: Any) -> VectorStoreFileBatch:
        """``POST /vector_stores/{id}/file_batches/{batch_id}/cancel``."""
        options = split_options(kwargs)
        no_arguments("vector_stores.file_batches.cancel", kwargs)
        return self._post(f"{_store(vector_store_id)}/file_batches/{path_param('batch_id', batch_id)}/cancel", options)


class VectorStores(APIResource):
    """Vector stores (knowledge bases).

    Example::

        store = client.vector_stores.create(name="Help center", file_ids=[uploaded["id"]])
        hits = client.vector_stores.search(store["id"], query="How long do returns take?")
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.files = VectorStoreFiles(client)
        self.file_batches = FileBatches(client)

    def create(self, **body: Any) -> VectorStore:
        """``POST /vector_stores`` ``{name?, file_ids?, description?, metadata?, chunking_strategy?, expires_after?}``."""
        options = split_options(body)
        return self._post_json("/vector_stores", options, body)

    def list(self, **query: Any) -> CursorPage[VectorStore]:
        """``GET /vector_stores`` (``limit``, ``order``, ``after``, ``before``)."""
        options = split_options(query)
        return self._page(CursorPage, "/vector_stores", query, options)

    def retrieve(self, vector_store_id: str, **kwargs: Any) -> VectorStore:
        """``GET /vector_stores/{id}``."""
        options = split_options(kwargs)
        no_arguments("vector_stores.retrieve", kwargs)
        return self._get(_store(vector_store_id), options)

    def update(self, vector_store_id: str, **body: Any) -> VectorStore:
        """``POST /vector_stores/{id}`` ``{name?, description?, metadata?, expires_after?}``."""
        options = split_options(body)
        return self._post_json(_store(vector_store_id), options, body)

    def delete(self, vector_store_id: str, **kwargs: Any) -> DeletedVectorStore:
        """``DELETE /vector_stores/{id}``."""
        options = split_options(kwargs)
        no_arguments("vector_stores.delete", kwargs)
        return self._delete(_store(vector_store_id), options)

    def search(self, vector_store_id: str, **body: Any) -> VectorStoreSearchPage:
        """``POST /vector_stores/{id}/search`` ``{query, max_num_results?, filters?, ranking_options?}``."""
        options = split_options(body)
        return self._post_json(f"{_store(vector_store_id)}/search", options, body)

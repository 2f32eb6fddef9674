"""``client.files``: OpenAI-compatible file uploads (for knowledge bases)."""

from __future__ import annotations

from typing import Any

from .._errors import WorkenError
from .._pagination import CursorPage
from ..types import DeletedFile, File
from ._base import APIResource, no_arguments, path_param, split_options


def _file(file_id: str) -> str:
    return f"/files/{path_param('file_id', file_id)}"


class FileContent(APIResource):
    def retrieve(self, file_id: str, **kwargs: Any) -> bytes:
        """``GET /files/{file_id}/content``: the bytes as uploaded."""
        options = split_options(kwargs)
        no_arguments("files.content.retrieve", kwargs)
        return self._transport.request("GET", f"{_file(file_id)}/content", options=options, accept="*/*").content


class Files(APIResource):
    """Uploaded files.

    Example::

        uploaded = client.files.create(file="handbook.md", purpose="assistants")
        same = client.files.create(file=("notes.txt", b"Returns: 30 days."), purpose="assistants")
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.content = FileContent(client)

    def create(self, **body: Any) -> File:
        """``POST /files`` (multipart) ``{file, purpose}``. ``file`` is bytes, a path, a binary file
        object, or ``(filename, content[, content_type])``."""
        options = split_options(body)
        if "file" not in body:
            raise WorkenError("files.create() needs file= (bytes, a path, a binary file or (filename, content))")
        file = body.pop("file")
        return self._transport.request("POST", "/files", options=options, form=(body, {"file": file})).json()

    def list(self, **query: Any) -> CursorPage[File]:
        """``GET /files`` (``purpose``, ``limit``, ``order``, ``after``)."""
        options = split_options(query)
        return self._page(CursorPage, "/files", query, options)

    def retrieve(self, file_id: str, **kwargs: Any) -> File:
        """``GET /files/{file_id}``."""
        options = split_options(kwargs)
        no_arguments("files.retrieve", kwargs)
        return self._get(_file(file_id), options)

    def delete(self, file_id: str, **kwargs: Any) -> DeletedFile:
        """``DELETE /files/{file_id}`` (and its place in every vector store)."""
        options = split_options(kwargs)
        no_arguments("files.delete", kwargs)
        return self._delete(_file(file_id), options)

"""multipart/form-data bodies, built by hand (the standard library has no encoder)."""

from __future__ import annotations

import json
import mimetypes
import os
import uuid
from pathlib import PurePath
from typing import Any, Dict, List, Tuple, Union

from ._errors import WorkenError

# What ``file=`` accepts: raw bytes, a path, an open binary file, or (filename, content[, content_type]).
FileInput = Union[bytes, bytearray, str, "os.PathLike[str]", Any, Tuple[Any, ...]]


def _quote(value: str) -> str:
    # RFC 7578: names and filenames are quoted strings; escape what would end them.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def read_file_input(file: Any) -> Tuple[str, bytes, str]:
    """(filename, content, content type) for any accepted ``file=`` value; a clear error otherwise."""
    if isinstance(file, tuple):
        if len(file) not in (2, 3):
            raise WorkenError("file= as a tuple must be (filename, content) or (filename, content, content_type)")
        filename, content = file[0], file[1]
        _, data, guessed = read_file_input(content)
        content_type = file[2] if len(file) == 3 else (mimetypes.guess_type(str(filename))[0] or guessed)
        return str(filename), data, content_type
    if isinstance(file, (bytes, bytearray, memoryview)):
        return "upload", bytes(file), "application/octet-stream"
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        if not os.path.isfile(path):
            raise WorkenError(f"file= names no readable file: {path!r}")
        with open(path, "rb") as handle:
            data = handle.read()
        name = PurePath(path).name
        return name, data, mimetypes.guess_type(name)[0] or "application/octet-stream"
    read = getattr(file, "read", None)
    if callable(read):
        data = read()
        if isinstance(data, str):
            raise WorkenError("file= must be opened in binary mode ('rb')")
        name = PurePath(str(getattr(file, "name", "upload"))).name or "upload"
        return name, data, mimetypes.guess_type(name)[0] or "application/octet-stream"
    raise WorkenError(
        "file= must be bytes, a path, a binary file object, or a (filename, content[, content_type]) tuple;"
        f" got {type(file).__name__}"
    )


def encode_multipart(fields: Dict[str, Any], files: Dict[str, Any]) -> Tuple[bytes, str]:
    """The body and its Content-Type. Dicts and lists among ``fields`` are sent as JSON text (the way
    the API reads ``attributes`` and ``chunking_strategy`` in a form)."""
    boundary = f"worken-{uuid.uuid4().hex}"
    parts: List[bytes] = []
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode() + text.encode()
        )
    for name, file in files.items():
        filename, data, content_type = read_file_input(file)
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data)
    body = b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"

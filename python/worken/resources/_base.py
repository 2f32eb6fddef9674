"""What every resource class shares: the client, and one helper per kind of call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Type, TypeVar

from .._errors import WorkenError
from .._http import RawResponse, RequestOptions, path_param, split_options
from .._pagination import Page
from .._streaming import ReplyStream

if TYPE_CHECKING:
    from .._client import WorkenClient

P = TypeVar("P", bound=Page)

__all__ = ["APIResource", "path_param", "split_options", "no_arguments"]


def no_arguments(method: str, leftover: Dict[str, Any]) -> None:
    """Refuses keyword arguments a method does not take, instead of silently dropping them."""
    if leftover:
        names = ", ".join(sorted(leftover))
        raise WorkenError(f"{method}() got unexpected keyword arguments: {names}")


class APIResource:
    def __init__(self, client: "WorkenClient") -> None:
        self._client = client

    @property
    def _transport(self):
        return self._client._transport

    def _get(self, path: str, options: RequestOptions, query: Optional[Dict[str, Any]] = None) -> Any:
        return self._transport.request("GET", path, options=options, query=query).json()

    def _post(self, path: str, options: RequestOptions, body: Optional[Dict[str, Any]] = None, query: Optional[Dict[str, Any]] = None) -> Any:
        # A route without a body gets none (Content-Length: 0) unless the caller passed fields.
        return self._transport.request("POST", path, options=options, json_body=body if body else None, has_body=bool(body), query=query).json()

    def _post_json(self, path: str, options: RequestOptions, body: Dict[str, Any]) -> Any:
        """POST to a route whose body is required, even when empty (``{}``)."""
        return self._transport.request("POST", path, options=options, json_body=body, has_body=True).json()

    def _put(self, path: str, options: RequestOptions, body: Dict[str, Any]) -> Any:
        return self._transport.request("PUT", path, options=options, json_body=body, has_body=True).json()

    def _delete(self, path: str, options: RequestOptions) -> Any:
        return self._transport.request("DELETE", path, options=options).json()

    def _page(self, page_class: Type[P], path: str, query: Dict[str, Any], options: RequestOptions) -> P:
        return page_class.fetch(self._transport, path, query, options)

    def _stream(self, path: str, options: RequestOptions, body: Dict[str, Any], query: Optional[Dict[str, Any]] = None) -> ReplyStream:
        opened = self._transport.request(
            "POST", path, options=options, json_body=body, has_body=True, query=query, stream=True, accept="text/event-stream"
        )
        if not opened.headers.get("content-type", "").startswith("text/event-stream"):
            # 202: stored, no reply in this response (manual/operator/blocked mode, or scheduledAt).
            try:
                payload = opened.response.read()
            finally:
                opened.close()
            return ReplyStream(None, None, accepted=RawResponse(opened.status, opened.headers, payload).json(), headers=opened.headers)
        return ReplyStream(self._client, opened)

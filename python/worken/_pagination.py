"""Pages of list endpoints, and walking all of them.

The API has four kinds of list (docs/design.md, "Lists"):

- offset lists: a bare JSON array, ``limit``/``offset``, the total in ``X-Total-Count``
  (bots, chats, messages, projects, API keys, webhook endpoints, integrations, scheduled messages);
- OpenAI cursor lists: ``{object: "list", data, first_id, last_id, has_more}`` with ``after``
  (files, vector stores, their files and batch files);
- webhook deliveries: ``{data, has_more}`` with ``starting_after``;
- ``GET /threads``: ``{data, next_cursor}`` with ``cursor``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Generic, Iterator, List, Optional, TypeVar

from ._http import RequestOptions

if TYPE_CHECKING:
    from ._http import Transport

T = TypeVar("T")

DEFAULT_OFFSET_LIMIT = 100


class Page(Generic[T]):
    """One page of a list: read it like the response dict (``page["data"]``, ``page.data``), or
    iterate it to get every item of every page, fetching the next pages as needed.

    Example::

        page = client.bots.list(limit=50)
        print(len(page.data), "of", page.total)
        for bot in page:            # all bots, 50 per request
            print(bot["name"])
    """

    def __init__(self, transport: "Transport", path: str, query: Dict[str, Any], options: RequestOptions, body: Dict[str, Any], headers: Dict[str, str]) -> None:
        self._transport = transport
        self._path = path
        self._query = dict(query)
        self._options = options
        self._body = body
        self.headers = headers
        self.request_id: Optional[str] = headers.get("x-request-id")

    @classmethod
    def fetch(cls, transport: "Transport", path: str, query: Dict[str, Any], options: RequestOptions) -> "Page[T]":
        response = transport.request("GET", path, options=options, query=query)
        return cls(transport, path, query, options, cls._body_of(response.json(), response.headers), response.headers)

    @staticmethod
    def _body_of(payload: Any, headers: Dict[str, str]) -> Dict[str, Any]:
        return payload if isinstance(payload, dict) else {"data": payload or []}

    @property
    def data(self) -> List[T]:
        return self._body.get("data") or []

    # The mapping side: the page reads like the response body.
    def __getitem__(self, key: str) -> Any:
        return self._body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._body.get(key, default)

    def keys(self):
        return self._body.keys()

    def items(self):
        return self._body.items()

    def __contains__(self, key: object) -> bool:
        return key in self._body

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._body)

    def __len__(self) -> int:
        """The number of items on this page."""
        return len(self.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._body!r})"

    # The walking side.
    def next_page_query(self) -> Optional[Dict[str, Any]]:
        """The query of the next page, or None on the last one."""
        raise NotImplementedError

    def has_next_page(self) -> bool:
        return self.next_page_query() is not None

    def get_next_page(self) -> "Page[T]":
        query = self.next_page_query()
        if query is None:
            raise StopIteration("this is the last page")
        return type(self).fetch(self._transport, self._path, query, self._options)

    def iter_pages(self) -> Iterator["Page[T]"]:
        page: Page[T] = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()

    def auto_paging_iter(self) -> Iterator[T]:
        """Every item from this page on, requesting the following pages lazily."""
        for page in self.iter_pages():
            yield from page.data

    def __iter__(self) -> Iterator[T]:
        return self.auto_paging_iter()


class OffsetPage(Page[T]):
    """A page of a bare-array list; ``total`` comes from ``X-Total-Count``."""

    @staticmethod
    def _body_of(payload: Any, headers: Dict[str, str]) -> Dict[str, Any]:
        total_header = headers.get("x-total-count")
        total = int(total_header) if total_header and total_header.isdigit() else None
        data = payload if isinstance(payload, list) else (payload or {}).get("data", [])
        return {"data": data, "total": total}

    @property
    def total(self) -> Optional[int]:
        return self._body.get("total")

    def next_page_query(self) -> Optional[Dict[str, Any]]:
        if not self.data:
            return None
        offset = int(self._query.get("offset") or 0) + len(self.data)
        if self.total is not None:
            if offset >= self.total:
                return None
        elif len(self.data) < int(self._query.get("limit") or DEFAULT_OFFSET_LIMIT):
            return None
        return {**self._query, "offset": offset}


class TotalPage(OffsetPage[T]):
    """A page of a ``{data, total}`` list walked by ``limit``/``offset`` (billing transactions)."""

    @staticmethod
    def _body_of(payload: Any, headers: Dict[str, str]) -> Dict[str, Any]:
        body = payload if isinstance(payload, dict) else {}
        total = body.get("total")
        return {"data": body.get("data", []), "total": total if isinstance(total, int) else None}


class CursorPage(Page[T]):
    """A page of an OpenAI-style list: ``has_more``, and ``after=<last_id>`` for the next."""

    @property
    def has_more(self) -> bool:
        return bool(self._body.get("has_more"))

    def next_page_query(self) -> Optional[Dict[str, Any]]:
        if not self.has_more or not self.data:
            return None
        last = self._body.get("last_id") or self.data[-1].get("id")  # type: ignore[union-attr]
        query = {key: value for key, value in self._query.items() if key != "before"}
        return {**query, "after": last}


class StartingAfterPage(Page[T]):
    """A page of webhook deliveries: ``has_more``, and ``starting_after=<last id>`` for the next."""

    @property
    def has_more(self) -> bool:
        return bool(self._body.get("has_more"))

    def next_page_query(self) -> Optional[Dict[str, Any]]:
        if not self.has_more or not self.data:
            return None
        return {**self._query, "starting_after": self.data[-1].get("id")}  # type: ignore[union-attr]


class ThreadCursorPage(Page[T]):
    """A page of ``GET /threads``: ``next_cursor`` for the next (a stable walk from the first page's
    snapshot, docs/threads.md)."""

    @property
    def next_cursor(self) -> Optional[str]:
        return self._body.get("next_cursor")

    def next_page_query(self) -> Optional[Dict[str, Any]]:
        if not self.next_cursor or not self.data:
            return None
        # With a cursor, offset counts from the cursor's position: it was for the first page only.
        query = {key: value for key, value in self._query.items() if key != "offset"}
        return {**query, "cursor": self.next_cursor}

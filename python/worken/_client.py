"""``WorkenClient``: configuration, the resources, and closing what is open."""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Mapping, Optional

from ._errors import WorkenError
from ._http import Transport
from .resources.bots import Bots
from .resources.chats import Chats
from .resources.files import Files
from .resources.health import Health
from .resources.integrations import Integrations
from .resources.billing import Billing
from .resources.projects import Projects
from .resources.threads import Threads
from .resources.vector_stores import VectorStores
from .resources.webhook_endpoints import WebhookEndpoints

DEFAULT_BASE_URL = "http://127.0.0.1:8080"


class WorkenClient:
    """A client of the Worken API.

    ``api_key`` defaults to ``WORKEN_API_KEY``, ``base_url`` to ``WORKEN_BASE_URL``, then
    ``http://127.0.0.1:8080``. Requests time out after ``timeout`` seconds (per read) and are retried
    ``max_retries`` times on connection errors, 408, 409, 429 and 5xx. Every method also takes
    ``timeout=``, ``max_retries=``, ``idempotency_key=`` (POST) and ``extra_headers=``.

    Example::

        from worken import WorkenClient

        with WorkenClient() as client:
            bot = client.bots.create(name="Support Bot")
            print(client.bots.retrieve(bot["id"])["status"])
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        api_key = api_key if api_key is not None else os.environ.get("WORKEN_API_KEY")
        if not api_key:
            raise WorkenError(
                "No API key: pass WorkenClient(api_key='sk-...') or set the WORKEN_API_KEY environment variable"
            )
        if not isinstance(api_key, str) or not api_key.startswith("sk-"):
            raise WorkenError("The API key must be a string starting with 'sk-' (Project -> API Keys)")
        base_url = base_url or os.environ.get("WORKEN_BASE_URL") or DEFAULT_BASE_URL
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise WorkenError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise WorkenError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self._transport = Transport(self.base_url, api_key, self.timeout, max_retries, default_headers)
        self._open: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._open_lock = threading.Lock()

        self.bots = Bots(self)
        self.chats = Chats(self)
        self.threads = Threads(self)
        self.webhook_endpoints = WebhookEndpoints(self)
        self.integrations = Integrations(self)
        self.files = Files(self)
        self.vector_stores = VectorStores(self)
        self.projects = Projects(self)
        self.billing = Billing(self)
        self.health = Health(self)

    def _track(self, stream: Any) -> None:
        """Remembers an open stream so ``close()`` can end it (weakly: a stream dropped by its
        caller is closed by garbage collection, not kept alive here)."""
        with self._open_lock:
            self._open.add(stream)

    def close(self) -> None:
        """Closes every open stream and kept-alive connection of this client."""
        with self._open_lock:
            streams = list(self._open)
            self._open = weakref.WeakSet()
        for stream in streams:
            stream.close()
        self._transport.close()

    def __enter__(self) -> "WorkenClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # A client dropped without close() still releases its kept-alive sockets.
        try:
            self._transport.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"WorkenClient(base_url={self.base_url!r})"

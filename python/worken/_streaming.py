"""Streamed replies (``chats.threads.stream``, ``threads.approvals.decide``) and the live event feed
(``threads.events``)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import TYPE_CHECKING, Any, Dict, Iterator, Optional, TypedDict

from ._errors import APIConnectionError, APIError, APITimeoutError, StreamError
from ._http import OpenResponse, RequestOptions
from ._retry import backoff_delay, server_delay, should_retry_status
from ._sse import ServerSentEvent, iter_sse

if TYPE_CHECKING:
    from ._client import WorkenClient
    from .types import StreamAccepted, ThreadEvent


class StreamEvent(TypedDict, total=False):
    """One event of a streamed reply (the spec's data stream, plus the server's extensions).

    ``type`` is ``text-delta`` (``textDelta``), ``tool-call`` (``toolCallId``, ``toolName``,
    ``args``), ``tool-result`` (``toolCallId``, ``toolName``, ``result``), ``tool-approval-request``
    (``approvalId``, ``toolCallId``, ``toolName``, ``args``, ``policy``) or ``finish``
    (``finishReason``, ``usage``). ``error`` events are raised as StreamError, not yielded.
    """

    type: str
    textDelta: str
    toolCallId: str
    toolName: str
    args: Any
    result: Any
    approvalId: str
    policy: str
    finishReason: str
    usage: Dict[str, Any]


def _read_error(error: BaseException, what: str) -> APIConnectionError:
    if isinstance(error, socket.timeout):
        return APITimeoutError(f"{what}: no data within the timeout", error)
    return APIConnectionError(f"{what}: the connection broke ({error or type(error).__name__})", error)


class ReplyStream:
    """The reply to a user message, event by event as the server sends them.

    Iterate it (each event is a dict, see StreamEvent); it stops after ``data: [DONE]`` and raises
    StreamError on an ``error`` event. Use it in a ``with`` block, or call ``close()``, to hang up
    early: the connection is closed and the server sees the client go (the turn still completes
    and is stored server-side). When the thread is not in ``auto`` mode, or with ``scheduledAt``,
    the server answers 202 instead: ``accepted`` holds that body and the iteration is empty.

    Example::

        with client.chats.threads.stream(chat_id, "support-42",
                                         messages=[{"role": "user", "content": "Hi"}]) as stream:
            for event in stream:
                if event["type"] == "text-delta":
                    print(event["textDelta"], end="", flush=True)
    """

    def __init__(self, client: Optional["WorkenClient"], opened: Optional[OpenResponse], accepted: Optional["StreamAccepted"] = None, headers: Optional[Dict[str, str]] = None) -> None:
        self._client = client
        self._opened = opened
        self.accepted: Optional["StreamAccepted"] = accepted
        self.headers: Dict[str, str] = dict(opened.headers if opened else headers or {})
        self.request_id: Optional[str] = self.headers.get("x-request-id")
        self._events: Optional[Iterator[ServerSentEvent]] = iter_sse(opened.response.readline) if opened else None
        self._done = opened is None
        if client is not None and opened is not None:
            client._track(self)

    def __iter__(self) -> "ReplyStream":
        return self

    def __next__(self) -> StreamEvent:
        if self._done or self._events is None:
            raise StopIteration
        try:
            for frame in self._events:
                if frame.data is None:
                    continue
                if frame.data == "[DONE]":
                    self.close()
                    raise StopIteration
                try:
                    event = json.loads(frame.data)
                except ValueError:
                    continue  # not one of the spec's frames; skipping keeps the stream usable
                if isinstance(event, dict) and event.get("type") == "error":
                    self.close()
                    message = event.get("error") or event.get("errorText") or "The reply failed"
                    raise StreamError(str(message), event)
                return event
        except (OSError, ValueError, http.client.HTTPException) as error:
            closed_by_us = self._done
            self.close()
            if closed_by_us:
                raise StopIteration from None
            raise _read_error(error, "The reply stream failed") from error
        closed_by_us = self._done
        self.close()
        if closed_by_us:
            raise StopIteration
        raise APIConnectionError("The reply stream ended before [DONE]")

    def text(self) -> str:
        """Reads the rest of the reply and returns its text (the ``text-delta`` events joined)."""
        return "".join(event.get("textDelta", "") for event in self if event.get("type") == "text-delta")

    @property
    def closed(self) -> bool:
        return self._done

    def close(self) -> None:
        """Stops reading and closes the connection. Safe to call twice, from any thread."""
        self._done = True
        if self._opened is not None:
            self._opened.close()

    def __enter__(self) -> "ReplyStream":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class EventFeed:
    """Live thread events (``GET /threads/events`` or one thread's), reconnecting by itself.

    Iterate it forever (or until ``close()``). After a cut connection it waits the server's
    ``retry:`` hint (then backs off, doubling up to 30 s, while reconnecting fails), reconnects with
    ``Last-Event-ID`` and resumes where it stopped: no event is lost and none is yielded twice.
    ``last_event_id`` is the position to resume from, e.g. in a later process. Refusals (401, 403,
    404, 400) end the feed with their APIError.

    Example::

        with client.threads.events() as feed:
            for event in feed:
                print(event["type"], event["thread_id"])
    """

    MAX_RECONNECT_DELAY = 30.0
    DEFAULT_RETRY_MS = 1000

    def __init__(
        self,
        client: "WorkenClient",
        path: str,
        *,
        last_event_id: Optional[str] = None,
        token: Optional[str] = None,
        options: Optional[RequestOptions] = None,
        max_reconnects: Optional[int] = None,
    ) -> None:
        self._client = client
        self._path = path
        self._token = token
        self._options = options or RequestOptions()
        self.max_reconnects = max_reconnects
        self.last_event_id: Optional[str] = None if last_event_id is None else str(last_event_id)
        self._floor = self._as_int(self.last_event_id)
        self.retry_ms = self.DEFAULT_RETRY_MS
        self.reconnects = 0
        self._opened: Optional[OpenResponse] = None
        self._frames: Optional[Iterator[ServerSentEvent]] = None
        self._closed = False
        self._lock = threading.Lock()
        client._track(self)
        # The first connection is made here, so a refused subscription fails at the call.
        self._connect(self._options.max_retries)

    @staticmethod
    def _as_int(value: Optional[str]) -> Optional[int]:
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def _connect(self, max_retries: Optional[int]) -> None:
        headers = dict(self._options.extra_headers)
        headers["Cache-Control"] = "no-cache"
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        options = RequestOptions(timeout=self._options.timeout, max_retries=max_retries, extra_headers=headers)
        query = {"token": self._token} if self._token else None
        opened = self._client._transport.request(
            "GET", self._path, options=options, query=query, stream=True, auth=self._token is None, accept="text/event-stream"
        )
        with self._lock:
            if self._closed:
                opened.close()
                return
            self._opened = opened
            self._frames = iter_sse(opened.response.readline)

    def _drop(self) -> None:
        with self._lock:
            opened, self._opened, self._frames = self._opened, None, None
        if opened is not None:
            opened.close()

    def _reconnect(self) -> None:
        """Waits and reconnects until a connection is open, the feed is closed, or the server refuses."""
        failures = 0
        delay = self.retry_ms / 1000.0
        while not self._closed:
            if self.max_reconnects is not None and self.reconnects >= self.max_reconnects:
                self.close()
                raise APIConnectionError(f"The event feed was cut and {self.max_reconnects} reconnections failed")
            self._client._transport.sleep(delay)
            if self._closed:
                return
            self.reconnects += 1
            try:
                self._connect(0)
                return
            except APIConnectionError:
                hinted = None
            except APIError as error:
                if not should_retry_status(error.status, error.headers):
                    self.close()
                    raise
                hinted = server_delay(error.headers)
            failures += 1
            delay = hinted if hinted is not None else min(self.retry_ms / 1000.0 * (2 ** failures), self.MAX_RECONNECT_DELAY)
            if hinted is None and delay <= 0:
                delay = backoff_delay(failures)

    def __iter__(self) -> "EventFeed":
        return self

    def __next__(self) -> "ThreadEvent":
        while True:
            if self._closed:
                raise StopIteration
            if self._frames is None:
                self._reconnect()
                continue
            try:
                frame = next(self._frames)
            except StopIteration:
                frame = None
            except (OSError, ValueError, http.client.HTTPException):
                frame = None
            if frame is None:
                # The server or the network ended the stream; an event stream never ends by itself.
                self._drop()
                continue
            if frame.retry is not None:
                self.retry_ms = frame.retry
            if frame.id is not None:
                position = self._as_int(frame.id)
                if frame.data is None:
                    # The stream's opening frame: where the server starts this stream from.
                    self.last_event_id = frame.id
                    self._floor = position
                    continue
                if position is not None and self._floor is not None and position <= self._floor:
                    continue  # already yielded before a reconnection
            if frame.data is None:
                continue
            try:
                event = json.loads(frame.data)
            except ValueError:
                continue
            if frame.id is not None:
                self.last_event_id = frame.id
                position = self._as_int(frame.id)
                if position is not None:
                    self._floor = position
            return event

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stops the feed and closes its connection (from any thread; a blocked read returns)."""
        self._closed = True
        self._drop()

    def __enter__(self) -> "EventFeed":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

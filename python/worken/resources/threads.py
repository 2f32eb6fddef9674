"""``client.threads``: the project-wide thread view, operator messages, memory, approvals, and the
live event feed."""

from __future__ import annotations

from typing import Any, Optional, Union

from .._pagination import OffsetPage, ThreadCursorPage
from .._streaming import EventFeed, ReplyStream
from ..types import EventToken, Message, ScheduledMessage, Thread, ThreadDetail, WorkingMemory
from ._base import APIResource, no_arguments, path_param, split_options


def _thread(thread_id: str) -> str:
    return f"/threads/{path_param('thread_id', thread_id)}"


class ScheduledMessages(APIResource):
    def list(self, thread_id: str, **query: Any) -> OffsetPage[ScheduledMessage]:
        """``GET /threads/{thread_id}/scheduled``: scheduled operator messages, in delivery order."""
        options = split_options(query)
        return self._page(OffsetPage, f"{_thread(thread_id)}/scheduled", query, options)

    def cancel(self, thread_id: str, scheduled_id: str, **kwargs: Any) -> ScheduledMessage:
        """``POST /threads/{thread_id}/scheduled/{scheduled_id}/cancel`` (409 unless still scheduled)."""
        options = split_options(kwargs)
        no_arguments("threads.scheduled.cancel", kwargs)
        return self._post(f"{_thread(thread_id)}/scheduled/{path_param('scheduled_id', scheduled_id)}/cancel", options)


class Memory(APIResource):
    def retrieve(self, thread_id: str, **kwargs: Any) -> WorkingMemory:
        """``GET /threads/{thread_id}/memory``: ``{content}``, None before the model writes one."""
        options = split_options(kwargs)
        no_arguments("threads.memory.retrieve", kwargs)
        return self._get(f"{_thread(thread_id)}/memory", options)


class Approvals(APIResource):
    def decide(self, thread_id: str, approval_id: str, **body: Any) -> ReplyStream:
        """``POST /threads/{thread_id}/approvals/{approval_id}`` ``{approved, reason?}``: records the
        decision and streams the rest of the reply (a ReplyStream, like ``chats.threads.stream``).

        Example::

            with client.threads.approvals.decide(thread_id, approval_id, approved=True) as stream:
                print(stream.text())
        """
        options = split_options(body)
        return self._stream(f"{_thread(thread_id)}/approvals/{path_param('approval_id', approval_id)}", options, body)


class EventTokens(APIResource):
    def create(self, **body: Any) -> EventToken:
        """``POST /threads/events/tokens`` ``{thread_id?, expires_in?}``: a short-lived token with
        which a browser opens the event stream without the API key."""
        options = split_options(body)
        return self._post_json("/threads/events/tokens", options, body)


class Events(APIResource):
    """The live event feed. Call it for the project's feed (or one thread's, with ``thread_id=``).

    Example::

        with client.threads.events(last_event_id=saved_position) as feed:
            for event in feed:
                handle(event)
                saved_position = feed.last_event_id
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.tokens = EventTokens(client)

    def __call__(
        self,
        last_event_id: Optional[Union[str, int]] = None,
        *,
        thread_id: Optional[str] = None,
        token: Optional[str] = None,
        max_reconnects: Optional[int] = None,
        **kwargs: Any,
    ) -> EventFeed:
        """An EventFeed of the project's events, or of one thread's with ``thread_id``. With
        ``token`` (from ``tokens.create``) the stream is opened with the token, not the key."""
        options = split_options(kwargs)
        no_arguments("threads.events", kwargs)
        path = "/threads/events" if thread_id is None else f"/threads/events/{path_param('thread_id', thread_id)}"
        return EventFeed(
            self._client,
            path,
            last_event_id=None if last_event_id is None else str(last_event_id),
            token=token,
            options=options,
            max_reconnects=max_reconnects,
        )

    def stream(self, last_event_id: Optional[Union[str, int]] = None, **kwargs: Any) -> EventFeed:
        """``GET /threads/events``: the project's feed (same as calling ``threads.events()``)."""
        return self(last_event_id, **kwargs)

    def stream_thread(self, thread_id: str, last_event_id: Optional[Union[str, int]] = None, **kwargs: Any) -> EventFeed:
        """``GET /threads/events/{thread_id}``: one thread's feed."""
        return self(last_event_id, thread_id=thread_id, **kwargs)


class Threads(APIResource):
    """Threads across every chat of the project.

    Example::

        for thread in client.threads.list(bot_id=bot["id"]):
            print(thread["id"], thread["pending_count"])
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.scheduled = ScheduledMessages(client)
        self.memory = Memory(client)
        self.approvals = Approvals(client)
        self.events = Events(client)

    def list(self, **query: Any) -> ThreadCursorPage[Thread]:
        """``GET /threads`` (``chat_id``, ``bot_id``, ``search``, ``limit``, ``offset``, ``cursor``):
        iterating the page walks ``next_cursor`` from the first page's snapshot."""
        options = split_options(query)
        return self._page(ThreadCursorPage, "/threads", query, options)

    def retrieve(self, thread_id: str, **kwargs: Any) -> ThreadDetail:
        """``GET /threads/{thread_id}``: the thread with ``person`` and ``stats``."""
        options = split_options(kwargs)
        no_arguments("threads.retrieve", kwargs)
        return self._get(_thread(thread_id), options)

    def send(self, thread_id: str, **body: Any) -> Union[Message, ScheduledMessage]:
        """``POST /threads/{thread_id}/send`` ``{text, scheduledAt?}``: an operator's message (the
        thread must be in ``manual`` mode). With ``scheduledAt``: the ScheduledMessage."""
        options = split_options(body)
        return self._post_json(f"{_thread(thread_id)}/send", options, body)

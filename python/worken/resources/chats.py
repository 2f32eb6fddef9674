"""``client.chats``: chats, their threads, messages, modes, and the streamed reply."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .._errors import WorkenError
from .._pagination import OffsetPage
from .._streaming import ReplyStream
from ..types import Chat, Deleted, Message, Thread
from ._base import APIResource, no_arguments, path_param, split_options


def _thread_path(chat_id: str, thread_id: str) -> str:
    return f"/chats/{path_param('chat_id', chat_id)}/threads/{path_param('thread_id', thread_id)}"


class ChatStatus(APIResource):
    def update(self, chat_id: str, **body: Any) -> Chat:
        """``POST /chats/{chat_id}/status`` ``{status: "active" | "disabled"}``."""
        options = split_options(body)
        return self._post_json(f"/chats/{path_param('chat_id', chat_id)}/status", options, body)


class ThreadMessages(APIResource):
    def list(self, chat_id: str, thread_id: str, **query: Any) -> OffsetPage[Message]:
        """``GET /chats/{chat_id}/threads/{thread_id}/messages``: the history, oldest first; iterate
        the page for all of it."""
        options = split_options(query)
        return self._page(OffsetPage, f"{_thread_path(chat_id, thread_id)}/messages", query, options)


class ThreadMode(APIResource):
    def update(self, chat_id: str, thread_id: str, **body: Any) -> Thread:
        """``POST …/threads/{thread_id}/mode`` ``{mode: "auto" | "manual" | "operator" | "blocked"}``."""
        options = split_options(body)
        return self._post_json(f"{_thread_path(chat_id, thread_id)}/mode", options, body)


class ChatThreads(APIResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.messages = ThreadMessages(client)
        self.mode = ThreadMode(client)

    def list(self, chat_id: str, **query: Any) -> OffsetPage[Thread]:
        """``GET /chats/{chat_id}/threads``, most recent activity first."""
        options = split_options(query)
        return self._page(OffsetPage, f"/chats/{path_param('chat_id', chat_id)}/threads", query, options)

    def stream(self, chat_id: str, thread_id: str, messages: Optional[List[Dict[str, Any]]] = None, **rest: Any) -> ReplyStream:
        """``POST …/threads/{thread_id}/stream``: sends the user's message(s) and streams the reply.

        ``messages`` is ``[{"role": "user", "content": "…"}]``; ``scheduledAt``, ``person`` and the
        query's ``format`` (``"ui-message-stream"``) may be passed too. An unknown thread id creates
        the thread. Returns a ReplyStream (see there); outside ``auto`` mode its ``accepted`` holds
        the server's 202 answer.

        Example::

            with client.chats.threads.stream(chat["id"], "support-42",
                                             messages=[{"role": "user", "content": "Hello"}]) as stream:
                print(stream.text())
        """
        options = split_options(rest)
        query = {"format": rest.pop("format")} if "format" in rest else None
        body: Dict[str, Any] = dict(rest)
        if messages is not None:
            body["messages"] = messages
        if "messages" not in body:
            raise WorkenError('chats.threads.stream() needs messages=[{"role": "user", "content": "..."}]')
        return self._stream(f"{_thread_path(chat_id, thread_id)}/stream", options, body, query)

    def delete(self, chat_id: str, thread_id: str, **kwargs: Any) -> Deleted:
        """``POST …/threads/{thread_id}/delete``: the thread, its messages and memory."""
        options = split_options(kwargs)
        no_arguments("chats.threads.delete", kwargs)
        return self._post(f"{_thread_path(chat_id, thread_id)}/delete", options)


class Chats(APIResource):
    """Chats: the channels through which users reach a bot.

    Example::

        chat = client.chats.create(bot_id=bot["id"], name="Website")
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.threads = ChatThreads(client)
        self.status = ChatStatus(client)

    def list(self, **query: Any) -> OffsetPage[Chat]:
        """``GET /chats``, oldest first."""
        options = split_options(query)
        return self._page(OffsetPage, "/chats", query, options)

    def create(self, **body: Any) -> Chat:
        """``POST /chats`` ``{bot_id, name, settings?}``: an API chat."""
        options = split_options(body)
        return self._post_json("/chats", options, body)

    def retrieve(self, chat_id: str, **kwargs: Any) -> Chat:
        """``GET /chats/{chat_id}``."""
        options = split_options(kwargs)
        no_arguments("chats.retrieve", kwargs)
        return self._get(f"/chats/{path_param('chat_id', chat_id)}", options)

    def update(self, chat_id: str, **body: Any) -> Chat:
        """``POST /chats/{chat_id}`` ``{name?, settings?}`` (settings: a JSON merge patch)."""
        options = split_options(body)
        return self._post_json(f"/chats/{path_param('chat_id', chat_id)}", options, body)

    def delete(self, chat_id: str, **kwargs: Any) -> Deleted:
        """``DELETE /chats/{chat_id}``, with its threads."""
        options = split_options(kwargs)
        no_arguments("chats.delete", kwargs)
        return self._delete(f"/chats/{path_param('chat_id', chat_id)}", options)

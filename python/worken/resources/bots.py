"""``client.bots``: bots, their status and settings."""

from __future__ import annotations

from typing import Any

from .._pagination import OffsetPage
from ..types import Bot, BotSettings, Deleted
from ._base import APIResource, no_arguments, path_param, split_options


class BotStatus(APIResource):
    def update(self, bot_id: str, **body: Any) -> Bot:
        """``POST /bots/{bot_id}/status`` ``{status}``: activate or disable a bot.

        Example::

            client.bots.status.update(bot["id"], status="disabled")
        """
        options = split_options(body)
        return self._post_json(f"/bots/{path_param('bot_id', bot_id)}/status", options, body)


class BotSettingsResource(APIResource):
    def retrieve(self, bot_id: str, **kwargs: Any) -> BotSettings:
        """``GET /bots/{bot_id}/settings``."""
        options = split_options(kwargs)
        no_arguments("bots.settings.retrieve", kwargs)
        return self._get(f"/bots/{path_param('bot_id', bot_id)}/settings", options)

    def update(self, bot_id: str, **body: Any) -> BotSettings:
        """``POST /bots/{bot_id}/settings``: a partial update (only the given fields change).

        Example::

            client.bots.settings.update(bot["id"], ai={"model": {"id": "local/echo"}})
        """
        options = split_options(body)
        return self._post_json(f"/bots/{path_param('bot_id', bot_id)}/settings", options, body)


class Bots(APIResource):
    """Bots (AI agents) of the project.

    Example::

        bot = client.bots.create(name="Support Bot")
        for bot in client.bots.list():
            print(bot["id"], bot["status"])
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.status = BotStatus(client)
        self.settings = BotSettingsResource(client)

    def list(self, **query: Any) -> OffsetPage[Bot]:
        """``GET /bots`` (``limit``, ``offset``): a page; iterate it for every bot."""
        options = split_options(query)
        return self._page(OffsetPage, "/bots", query, options)

    def create(self, **body: Any) -> Bot:
        """``POST /bots`` ``{name, description?}``."""
        options = split_options(body)
        return self._post_json("/bots", options, body)

    def retrieve(self, bot_id: str, **kwargs: Any) -> Bot:
        """``GET /bots/{bot_id}``."""
        options = split_options(kwargs)
        no_arguments("bots.retrieve", kwargs)
        return self._get(f"/bots/{path_param('bot_id', bot_id)}", options)

    def update(self, bot_id: str, **body: Any) -> Bot:
        """``POST /bots/{bot_id}`` ``{name?, description?}``."""
        options = split_options(body)
        return self._post_json(f"/bots/{path_param('bot_id', bot_id)}", options, body)

    def clone(self, bot_id: str, **body: Any) -> Bot:
        """``POST /bots/{bot_id}/clone``: a new bot with identical settings."""
        options = split_options(body)
        return self._post(f"/bots/{path_param('bot_id', bot_id)}/clone", options, body)

    def delete(self, bot_id: str, **kwargs: Any) -> Deleted:
        """``POST /bots/{bot_id}/delete`` (with its chats, threads and messages)."""
        options = split_options(kwargs)
        no_arguments("bots.delete", kwargs)
        return self._post(f"/bots/{path_param('bot_id', bot_id)}/delete", options)

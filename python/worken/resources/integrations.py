"""``client.integrations``: connections to Telegram, CRMs and other vendors, and their chats."""

from __future__ import annotations

from typing import Any

from .._pagination import OffsetPage
from ..types import Chat, Deleted, Integration, IntegrationProfile, OAuthStart
from ._base import APIResource, no_arguments, path_param, split_options


def _integration(integration_id: str) -> str:
    return f"/integrations/{path_param('id', integration_id)}"


class IntegrationProfileResource(APIResource):
    def retrieve(self, id: str, **kwargs: Any) -> IntegrationProfile:
        """``GET /integrations/{id}/profile``: checks the credentials with the vendor."""
        options = split_options(kwargs)
        no_arguments("integrations.profile.retrieve", kwargs)
        return self._get(f"{_integration(id)}/profile", options)


class OAuth(APIResource):
    def start(self, id: str, **kwargs: Any) -> OAuthStart:
        """``POST /integrations/{id}/oauth/start``: ``{url}`` to send the user to."""
        options = split_options(kwargs)
        no_arguments("integrations.oauth.start", kwargs)
        return self._post(f"{_integration(id)}/oauth/start", options)


class IntegrationChatStatus(APIResource):
    def update(self, id: str, chat_id: str, **body: Any) -> Chat:
        """``POST /integrations/{id}/chats/{chat_id}/status`` ``{status}``."""
        options = split_options(body)
        return self._post_json(f"{_integration(id)}/chats/{path_param('chat_id', chat_id)}/status", options, body)


class IntegrationChats(APIResource):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.status = IntegrationChatStatus(client)

    def list(self, id: str, **query: Any) -> OffsetPage[Chat]:
        """``GET /integrations/{id}/chats``."""
        options = split_options(query)
        return self._page(OffsetPage, f"{_integration(id)}/chats", query, options)

    def create(self, id: str, **body: Any) -> Chat:
        """``POST /integrations/{id}/chats`` ``{bot_id, name, settings?}``."""
        options = split_options(body)
        return self._post_json(f"{_integration(id)}/chats", options, body)

    def update(self, id: str, chat_id: str, **body: Any) -> Chat:
        """``POST /integrations/{id}/chats/{chat_id}``."""
        options = split_options(body)
        return self._post_json(f"{_integration(id)}/chats/{path_param('chat_id', chat_id)}", options, body)

    def delete(self, id: str, chat_id: str, **kwargs: Any) -> Deleted:
        """``DELETE /integrations/{id}/chats/{chat_id}``."""
        options = split_options(kwargs)
        no_arguments("integrations.chats.delete", kwargs)
        return self._delete(f"{_integration(id)}/chats/{path_param('chat_id', chat_id)}", options)


class Integrations(APIResource):
    """Integrations with external platforms.

    Example::

        telegram = client.integrations.create(name="Shop bot", vendor="telegram",
                                              auth_data={"token": "123:abc"})
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.profile = IntegrationProfileResource(client)
        self.oauth = OAuth(client)
        self.chats = IntegrationChats(client)

    def list(self, **query: Any) -> OffsetPage[Integration]:
        """``GET /integrations``."""
        options = split_options(query)
        return self._page(OffsetPage, "/integrations", query, options)

    def create(self, **body: Any) -> Integration:
        """``POST /integrations`` ``{name, vendor, auth_data}``."""
        options = split_options(body)
        return self._post_json("/integrations", options, body)

    def retrieve(self, id: str, **kwargs: Any) -> Integration:
        """``GET /integrations/{id}``."""
        options = split_options(kwargs)
        no_arguments("integrations.retrieve", kwargs)
        return self._get(_integration(id), options)

    def update(self, id: str, **body: Any) -> Integration:
        """``POST /integrations/{id}`` ``{name?, status?, auth_data?, settings?}``."""
        options = split_options(body)
        return self._post_json(_integration(id), options, body)

    def delete(self, id: str, **kwargs: Any) -> Deleted:
        """``DELETE /integrations/{id}``."""
        options = split_options(kwargs)
        no_arguments("integrations.delete", kwargs)
        return self._delete(_integration(id), options)

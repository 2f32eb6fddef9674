"""``client.projects``: projects of the key's organization, and API keys."""

from __future__ import annotations

from typing import Any

from .._pagination import OffsetPage
from ..types import ApiKey, ApiKeyCreated, Deleted, Project, ProjectCreated
from ._base import APIResource, no_arguments, path_param, split_options


class ApiKeys(APIResource):
    def list(self, id: str, **query: Any) -> OffsetPage[ApiKey]:
        """``GET /projects/{id}/api-keys``: key metadata, never the secret."""
        options = split_options(query)
        return self._page(OffsetPage, f"/projects/{path_param('id', id)}/api-keys", query, options)

    def create(self, id: str, **body: Any) -> ApiKeyCreated:
        """``POST /projects/{id}/api-keys`` ``{name}``: ``key`` is shown only in this answer."""
        options = split_options(body)
        return self._post_json(f"/projects/{path_param('id', id)}/api-keys", options, body)

    def delete(self, id: str, key_id: str, **kwargs: Any) -> Deleted:
        """``DELETE /projects/{id}/api-keys/{key_id}``: the key stops working at once."""
        options = split_options(kwargs)
        no_arguments("projects.api_keys.delete", kwargs)
        return self._delete(f"/projects/{path_param('id', id)}/api-keys/{path_param('key_id', key_id)}", options)


class Projects(APIResource):
    """Projects and their API keys.

    Example::

        project = client.projects.create(name="Staging", organization_id=org_id)
        staging = WorkenClient(api_key=project["api_key"]["key"])
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.api_keys = ApiKeys(client)

    def list(self, **query: Any) -> OffsetPage[Project]:
        """``GET /projects``."""
        options = split_options(query)
        return self._page(OffsetPage, "/projects", query, options)

    def create(self, **body: Any) -> ProjectCreated:
        """``POST /projects`` ``{name, organization_id}``: the answer carries the first ``api_key``."""
        options = split_options(body)
        return self._post_json("/projects", options, body)

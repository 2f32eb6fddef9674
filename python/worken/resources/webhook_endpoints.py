"""``client.webhook_endpoints``: where Worken POSTs the project's events, and their delivery log."""

from __future__ import annotations

from typing import Any

from .._pagination import OffsetPage, StartingAfterPage
from ..types import CreatedWebhookEndpoint, Deleted, WebhookDelivery, WebhookEndpoint
from ._base import APIResource, no_arguments, path_param, split_options


def _endpoint(endpoint_id: str) -> str:
    return f"/webhook-endpoints/{path_param('id', endpoint_id)}"


class Deliveries(APIResource):
    def list(self, id: str, **query: Any) -> StartingAfterPage[WebhookDelivery]:
        """``GET /webhook-endpoints/{id}/deliveries`` (``limit``, ``starting_after``, ``status``),
        newest first; iterate the page for all of them."""
        options = split_options(query)
        return self._page(StartingAfterPage, f"{_endpoint(id)}/deliveries", query, options)

    def retrieve(self, id: str, delivery_id: str, **kwargs: Any) -> WebhookDelivery:
        """``GET /webhook-endpoints/{id}/deliveries/{delivery_id}``."""
        options = split_options(kwargs)
        no_arguments("webhook_endpoints.deliveries.retrieve", kwargs)
        return self._get(f"{_endpoint(id)}/deliveries/{path_param('delivery_id', delivery_id)}", options)

    def retry(self, id: str, delivery_id: str, **kwargs: Any) -> WebhookDelivery:
        """``POST …/deliveries/{delivery_id}/retry``: attempt a finished delivery again now."""
        options = split_options(kwargs)
        no_arguments("webhook_endpoints.deliveries.retry", kwargs)
        return self._post(f"{_endpoint(id)}/deliveries/{path_param('delivery_id', delivery_id)}/retry", options)


class WebhookEndpoints(APIResource):
    """Webhook endpoints. Verify what they receive with ``worken.webhooks.verify``.

    Example::

        endpoint = client.webhook_endpoints.create(url="https://hooks.example.test/worken")
        secret = endpoint["secret"]  # shown only in this answer
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.deliveries = Deliveries(client)

    def list(self, **query: Any) -> OffsetPage[WebhookEndpoint]:
        """``GET /webhook-endpoints``, oldest first."""
        options = split_options(query)
        return self._page(OffsetPage, "/webhook-endpoints", query, options)

    def create(self, **body: Any) -> CreatedWebhookEndpoint:
        """``POST /webhook-endpoints`` ``{url, secret?, event_types?, description?}``."""
        options = split_options(body)
        return self._post_json("/webhook-endpoints", options, body)

    def retrieve(self, id: str, **kwargs: Any) -> WebhookEndpoint:
        """``GET /webhook-endpoints/{id}``."""
        options = split_options(kwargs)
        no_arguments("webhook_endpoints.retrieve", kwargs)
        return self._get(_endpoint(id), options)

    def update(self, id: str, **body: Any) -> WebhookEndpoint:
        """``PUT /webhook-endpoints/{id}`` ``{status?, secret?, url?, event_types?, description?}``."""
        options = split_options(body)
        return self._put(_endpoint(id), options, body)

    def delete(self, id: str, **kwargs: Any) -> Deleted:
        """``DELETE /webhook-endpoints/{id}``, with its delivery log."""
        options = split_options(kwargs)
        no_arguments("webhook_endpoints.delete", kwargs)
        return self._delete(_endpoint(id), options)

    def test(self, id: str, **kwargs: Any) -> WebhookDelivery:
        """``POST /webhook-endpoints/{id}/test``: a ``webhook.test`` event to this endpoint only."""
        options = split_options(kwargs)
        no_arguments("webhook_endpoints.test", kwargs)
        return self._post(f"{_endpoint(id)}/test", options)

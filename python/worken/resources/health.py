"""``client.health``: liveness and readiness (no authentication needed)."""

from __future__ import annotations

from typing import Any, Dict

from ._base import APIResource, no_arguments, split_options


class Health(APIResource):
    def live(self, **kwargs: Any) -> Dict[str, Any]:
        """``GET /healthz``."""
        options = split_options(kwargs)
        no_arguments("health.live", kwargs)
        return self._get("/healthz", options)

    def ready(self, **kwargs: Any) -> Dict[str, Any]:
        """``GET /readyz``: 503 (InternalServerError) when the database does not answer."""
        options = split_options(kwargs)
        no_arguments("health.ready", kwargs)
        return self._get("/readyz", options)

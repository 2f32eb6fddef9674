"""The Worken Python SDK: ``from worken import WorkenClient``.

Example::

    from worken import WorkenClient

    with WorkenClient() as client:  # WORKEN_API_KEY, WORKEN_BASE_URL
        for bot in client.bots.list():
            print(bot["name"])
"""

from . import types, webhooks
from ._client import DEFAULT_BASE_URL, WorkenClient
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    StreamError,
    UnprocessableEntityError,
    WebhookVerificationError,
    WorkenError,
)
from ._operations import OPERATION_METHODS
from ._pagination import CursorPage, OffsetPage, Page, StartingAfterPage, ThreadCursorPage, TotalPage
from ._streaming import EventFeed, ReplyStream, StreamEvent
from ._version import __version__

__all__ = [
    "WorkenClient",
    "DEFAULT_BASE_URL",
    "OPERATION_METHODS",
    "types",
    "webhooks",
    "WorkenError",
    "APIError",
    "BadRequestError",
    "InsufficientCreditsError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RequestTimeoutError",
    "ConflictError",
    "PayloadTooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "APIConnectionError",
    "APITimeoutError",
    "StreamError",
    "WebhookVerificationError",
    "Page",
    "OffsetPage",
    "CursorPage",
    "StartingAfterPage",
    "ThreadCursorPage",
    "TotalPage",
    "ReplyStream",
    "EventFeed",
    "StreamEvent",
    "__version__",
]

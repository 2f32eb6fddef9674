"""The SDK's exceptions: one base class, API errors split by status, and transport errors."""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

__all__ = [
    "WorkenError",
    "APIError",
    "BadRequestError",
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
]


class WorkenError(Exception):
    """Base class of every error this SDK raises.

    Example::

        try:
            client.bots.retrieve("bot_missing")
        except worken.WorkenError as error:
            print(error)
    """


class APIError(WorkenError):
    """The server answered with an error status (4xx/5xx) in the error shape
    ``{"error", "code", "message"?, "details"?}``. Branch on ``code``, never on ``message``.

    Example::

        try:
            client.bots.retrieve("bot_missing")
        except worken.NotFoundError as error:
            assert error.status == 404 and error.code == "not_found"
    """

    status: int
    code: Optional[str]
    message: str
    headers: Dict[str, str]
    request_id: Optional[str]
    body: Any

    def __init__(
        self,
        status: int,
        code: Optional[str],
        message: str,
        headers: Optional[Mapping[str, str]] = None,
        request_id: Optional[str] = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.headers = {key.lower(): value for key, value in (headers or {}).items()}
        self.request_id = request_id
        self.body = body
        super().__init__(self._describe())

    @property
    def details(self) -> list:
        """On a 422: one ``{"path", "message"}`` per invalid field."""
        if isinstance(self.body, dict) and isinstance(self.body.get("details"), list):
            return self.body["details"]
        return []

    def _describe(self) -> str:
        text = f"{self.status}"
        if self.code:
            text += f" {self.code}"
        text += f": {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __reduce__(self):  # exceptions with extra constructor arguments must say how to pickle them
        return (type(self), (self.status, self.code, self.message, self.headers, self.request_id, self.body))


class BadRequestError(APIError):
    """400: the body is missing, not JSON, or the request cannot be parsed."""


class InsufficientCreditsError(APIError):
    """402 ``insufficient_credits``: no credits for a new turn; retrying will not help until a top-up."""


class AuthenticationError(APIError):
    """401: the API key is missing, malformed, unknown or deleted."""


class PermissionDeniedError(APIError):
    """403: the key may not act on this resource."""


class NotFoundError(APIError):
    """404: no such resource in the key's project."""


class RequestTimeoutError(APIError):
    """408: the server did not receive the request in time (retried)."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's state (retried unless ``x-should-retry: false``)."""


class PayloadTooLargeError(APIError):
    """413: the body or file is over the server's limit."""


class UnprocessableEntityError(APIError):
    """422: well-formed but invalid; ``details`` names the fields."""


class RateLimitError(APIError):
    """429: too many requests (retried, honouring ``Retry-After``)."""


class InternalServerError(APIError):
    """5xx: a fault of the server, or it is unavailable (retried)."""


class APIConnectionError(WorkenError):
    """The request could not reach the server, or the connection broke before an answer."""

    def __init__(self, message: str = "Connection error", cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.__cause__ = cause


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout."""

    def __init__(self, message: str = "Request timed out", cause: Optional[BaseException] = None) -> None:
        super().__init__(message, cause)


class StreamError(WorkenError):
    """A streamed reply ended with an ``error`` event (the model failed after the stream began).
    ``event`` is the event as received; nothing of the failed reply was stored.

    Example::

        try:
            for event in stream:
                ...
        except worken.StreamError as error:
            print("the reply failed:", error.message)
    """

    def __init__(self, message: str, event: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.event = event or {}


class WebhookVerificationError(WorkenError):
    """A webhook's signature, or its timestamp, did not verify."""


_BY_STATUS = {
    400: BadRequestError,
    402: InsufficientCreditsError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type:
    """The APIError subclass for an HTTP status (APIError itself for statuses without one)."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIError)


def api_error_from_response(status: int, headers: Mapping[str, str], raw: bytes, reason: str = "") -> APIError:
    """Builds the typed error for an error response, whatever its body (JSON error shape, text or nothing)."""
    body: Any = None
    code: Optional[str] = None
    message = ""
    text = raw.decode("utf-8", "replace") if raw else ""
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = text
    if isinstance(body, dict):
        code = body.get("code") if isinstance(body.get("code"), str) else None
        message = body.get("message") or body.get("error") or ""
        if not isinstance(message, str):
            message = str(message)
    elif text:
        message = text[:500]
    if not message:
        message = reason or "HTTP error"
    lowered = {key.lower(): value for key, value in headers.items()}
    cls = error_class_for_status(status)
    return cls(status, code, message, lowered, lowered.get("x-request-id"), body)

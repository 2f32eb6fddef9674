"""Verifying the webhooks Worken sends (docs/webhooks.md, "Signatures and headers").

Each delivery is signed twice with the endpoint's secret:

- ``x-worken-signature``: lowercase hex HMAC-SHA256 of the raw body, keyed with the secret as given
  (the spec's scheme);
- Standard Webhooks: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature: v1,<base64
  HMAC-SHA256 of "<id>.<timestamp>.<body>">``, keyed with the secret's UTF-8 bytes, or for a
  ``whsec_`` secret the bytes its base64 part decodes to. The timestamp lets a receiver refuse
  replays.

Example::

    from worken import webhooks

    def handle(request):  # any framework: the raw body bytes and the headers
        try:
            event = webhooks.verify(request.body, request.headers, secret=WEBHOOK_SECRET)
        except webhooks.WebhookVerificationError:
            return 401
        ...  # dedupe on event["id"] (the same as the webhook-id header), then act
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any, Dict, Mapping, Optional, Union

from ._errors import WebhookVerificationError

__all__ = ["verify", "verify_signature", "verify_standard", "sign_signature", "sign_standard", "WebhookVerificationError", "DEFAULT_TOLERANCE"]

# Standard Webhooks' recommended window: a retry carries a fresh timestamp, so only replays fail.
DEFAULT_TOLERANCE = 300

Payload = Union[bytes, bytearray, str]


def _bytes(payload: Payload) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError("payload must be the raw request body (bytes or str), not parsed JSON")


def _standard_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        encoded = secret[len("whsec_"):]
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=False)
        except (binascii.Error, ValueError) as error:
            raise WebhookVerificationError("The whsec_ secret is not valid base64") from error
    return secret.encode("utf-8")


def _lower_headers(headers: Any) -> Dict[str, str]:
    items = headers.items() if hasattr(headers, "items") else headers
    return {str(key).lower(): str(value) for key, value in items}


def sign_signature(payload: Payload, secret: str) -> str:
    """The ``x-worken-signature`` value for a body (what the server sends)."""
    return hmac.new(secret.encode("utf-8"), _bytes(payload), hashlib.sha256).hexdigest()


def sign_standard(payload: Payload, secret: str, webhook_id: str, timestamp: Union[int, str]) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) for a body, id and timestamp."""
    signed = f"{webhook_id}.{timestamp}.".encode("utf-8") + _bytes(payload)
    digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def verify_signature(payload: Payload, signature: str, secret: str) -> None:
    """Checks an ``x-worken-signature`` (hex HMAC-SHA256 of the raw body); raises
    WebhookVerificationError when it does not match."""
    expected = sign_signature(payload, secret)
    if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
        raise WebhookVerificationError("x-worken-signature does not match the body")


def verify_standard(
    payload: Payload,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> None:
    """Checks the Standard Webhooks headers: a timestamp within ``tolerance`` seconds of ``now`` and
    one ``v1`` signature (of possibly several, space-separated) matching; raises otherwise."""
    lowered = _lower_headers(headers)
    webhook_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not webhook_id or not timestamp or not signatures:
        raise WebhookVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError as error:
        raise WebhookVerificationError(f"webhook-timestamp is not a Unix time: {timestamp!r}") from error
    current = time.time() if now is None else now
    if sent_at < current - tolerance:
        raise WebhookVerificationError("webhook-timestamp is too old (a replay, or a clock far off)")
    if sent_at > current + tolerance:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    expected = sign_standard(payload, secret, webhook_id, timestamp).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, value):
            return
    raise WebhookVerificationError("No webhook-signature matches the body")


def verify(
    payload: Payload,
    headers: Mapping[str, str],
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> Dict[str, Any]:
    """Verifies a delivery and returns its event (``{id, type, created_at, data}``).

    Every signature present is checked: the Standard Webhooks headers (with the timestamp window)
    and ``x-worken-signature``; at least one must be there. ``payload`` is the raw body exactly as
    received; ``headers`` any mapping (names in any case). Raises WebhookVerificationError.
    """
    if not isinstance(secret, str) or not secret:
        raise WebhookVerificationError("The endpoint's secret is needed to verify a webhook")
    body = _bytes(payload)
    lowered = _lower_headers(headers)
    checked = False
    if "webhook-signature" in lowered or "webhook-id" in lowered:
        verify_standard(body, lowered, secret, tolerance=tolerance, now=now)
        checked = True
    if "x-worken-signature" in lowered:
        verify_signature(body, lowered["x-worken-signature"], secret)
        checked = True
    if not checked:
        raise WebhookVerificationError("The request carries no Worken signature header")
    try:
        event = json.loads(body)
    except ValueError as error:
        raise WebhookVerificationError("The signed body is not JSON") from error
    if not isinstance(event, dict):
        raise WebhookVerificationError("The signed body is not a webhook event object")
    return event

"""When to retry a request, and how long to wait first."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Mapping, Optional

INITIAL_DELAY = 0.5
MAX_DELAY = 8.0
# A server hint longer than this is not waited for: the backoff applies instead, so a
# misconfigured proxy cannot park a client for an hour.
MAX_HINT = 60.0

RETRYABLE_STATUSES = frozenset({408, 409, 429})


def should_retry_status(status: int, headers: Mapping[str, str]) -> bool:
    """408, 409, 429 and 5xx are retried; the server's ``x-should-retry`` has the last word."""
    hint = headers.get("x-should-retry", "").strip().lower()
    if hint == "true":
        return True
    if hint == "false":
        return False
    return status in RETRYABLE_STATUSES or status >= 500


def server_delay(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds the server asked us to wait (``retry-after-ms``, then ``Retry-After`` as seconds or an
    HTTP date), or None when it asked nothing usable (absent, malformed, negative or over 60 s)."""
    delay: Optional[float] = None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            delay = float(raw_ms) / 1000.0
        except ValueError:
            delay = None
    if delay is None:
        raw = headers.get("retry-after")
        if raw:
            try:
                delay = float(raw)
            except ValueError:
                parsed = email.utils.parsedate_tz(raw)
                if parsed is not None:
                    delay = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if delay is None or delay != delay or delay < 0 or delay > MAX_HINT:
        return None
    return delay


def backoff_delay(retries_done: int, headers: Optional[Mapping[str, str]] = None) -> float:
    """The wait before retry number ``retries_done + 1``: the server's hint when it gave one, else
    0.5 s × 2^n capped at 8 s, less up to 25 % jitter so that clients cut off together do not
    all come back at the same instant."""
    if headers is not None:
        hinted = server_delay(headers)
        if hinted is not None:
            return hinted
    delay = min(INITIAL_DELAY * (2 ** retries_done), MAX_DELAY)
    return delay * (1 - 0.25 * random.random())

"""The transport: ``http.client`` connections (kept alive and reused), retries, typed errors.

Everything goes through :meth:`Transport.request`. A plain request is read whole and its
connection goes back to the pool; a streaming one hands the open response to the caller, who
reads it line by line and closes it.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import quote, urlencode, urlsplit

from ._errors import APIConnectionError, APIError, APITimeoutError, WorkenError, api_error_from_response
from ._multipart import encode_multipart
from ._retry import backoff_delay, should_retry_status
from ._version import __version__

USER_AGENT = f"worken-python/{__version__}"
_POOL_SIZE = 8


@dataclass
class RequestOptions:
    """Per-call settings; every method accepts them as keyword arguments."""

    timeout: Optional[float] = None
    max_retries: Optional[int] = None
    idempotency_key: Optional[str] = None
    extra_headers: Dict[str, str] = field(default_factory=dict)


OPTION_NAMES = ("timeout", "max_retries", "idempotency_key", "extra_headers")


def split_options(kwargs: Dict[str, Any]) -> RequestOptions:
    """Takes the per-call options out of a method's keyword arguments (what is left is the body
    or the query, with the spec's field names)."""
    options = RequestOptions()
    for name in OPTION_NAMES:
        if name in kwargs:
            value = kwargs.pop(name)
            if name == "extra_headers":
                options.extra_headers = dict(value or {})
            else:
                setattr(options, name, value)
    if options.timeout is not None and (not isinstance(options.timeout, (int, float)) or options.timeout <= 0):
        raise WorkenError(f"timeout= must be a positive number of seconds, got {options.timeout!r}")
    if options.max_retries is not None and (not isinstance(options.max_retries, int) or options.max_retries < 0):
        raise WorkenError(f"max_retries= must be a non-negative integer, got {options.max_retries!r}")
    return options


def path_param(name: str, value: Any) -> str:
    """A path parameter, escaped; an empty or non-string id is refused before any request."""
    if not isinstance(value, str) or not value:
        raise WorkenError(f"{name} must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def encode_query(query: Optional[Mapping[str, Any]]) -> str:
    if not query:
        return ""
    pairs: List[Tuple[str, str]] = []
    for key, value in query.items():
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, bool):
                pairs.append((key, "true" if item else "false"))
            elif isinstance(item, (dict, list)):
                pairs.append((key, json.dumps(item, separators=(",", ":"))))
            else:
                pairs.append((key, str(item)))
    return urlencode(pairs)


class RawResponse:
    """A whole answer: status, headers (lower-case names) and body bytes."""

    def __init__(self, status: int, headers: Dict[str, str], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        if not self.content:
            return None
        try:
            return json.loads(self.content)
        except ValueError as error:
            raise WorkenError(f"The server answered {self.status} with a body that is not JSON: {self.content[:200]!r}") from error


class OpenResponse:
    """A streaming answer still being received: the caller reads ``response`` and must ``close()``."""

    def __init__(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self.connection = connection
        self.response = response
        self.status = response.status
        self.headers = {key.lower(): value for key, value in response.getheaders()}
        self._closed = False
        self._lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Closes the connection so the server sees the client go (a FIN at once, even while another
        thread is blocked reading it)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        sock = self.connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        try:
            self.response.close()
        finally:
            self.connection.close()


class _Connection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        # Small requests go out at once rather than waiting on Nagle's algorithm for an ACK.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _TlsConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Transport:
    """Connections to one server and the retry loop."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: float,
        max_retries: int,
        default_headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WorkenError(f"base_url must be an http(s) URL such as http://127.0.0.1:8080, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})
        self.sleep: Callable[[float], None] = time.sleep
        self._idle: List[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    # -- connections -------------------------------------------------------------------------

    def _new_connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return _TlsConnection(self.host, self.port, timeout=timeout, context=ssl.create_default_context())
        return _Connection(self.host, self.port, timeout=timeout)

    def _acquire(self, timeout: float) -> Tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if connection.sock is not None:
                    connection.timeout = timeout
                    connection.sock.settimeout(timeout)
                    return connection, True
        return self._new_connection(timeout), False

    def _release(self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        with self._lock:
            if not self._closed and not response.will_close and connection.sock is not None and len(self._idle) < _POOL_SIZE:
                self._idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    # -- requests ----------------------------------------------------------------------------

    def build_headers(self, method: str, options: RequestOptions, auth: bool, idempotency_key: Optional[str]) -> Dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        headers.update(self.default_headers)
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        options: RequestOptions,
        query: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        has_body: bool = False,
        form: Optional[Tuple[Dict[str, Any], Dict[str, Any]]] = None,
        stream: bool = False,
        auth: bool = True,
        accept: Optional[str] = None,
    ) -> Any:
        """Sends one API call with retries. Returns a RawResponse, or an OpenResponse when ``stream``
        (2xx only: an error answer is read and raised as its APIError)."""
        if self._closed:
            raise WorkenError("This client is closed")
        timeout = options.timeout if options.timeout is not None else self.timeout
        max_retries = options.max_retries if options.max_retries is not None else self.max_retries
        # One key for the call and all its retries, so the server can tell a retry from a new request.
        idempotency_key = options.idempotency_key or (f"worken-retry-{uuid.uuid4()}" if method == "POST" else None)
        headers = self.build_headers(method, options, auth, idempotency_key)
        if accept:
            headers["Accept"] = accept
        body: Optional[bytes] = None
        if form is not None:
            body, headers["Content-Type"] = encode_multipart(*form)
        elif has_body or json_body is not None:
            body = json.dumps({} if json_body is None else json_body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        # The caller's headers come last: they may override anything, Content-Type included.
        headers.update(options.extra_headers)
        target = self.prefix + path
        encoded = encode_query(query)
        if encoded:
            target += "?" + encoded

        retries_done = 0
        while True:
            try:
                result = self._attempt(method, target, headers, body, timeout, stream)
            except APIConnectionError:
                if retries_done >= max_retries:
                    raise
                self.sleep(backoff_delay(retries_done))
                retries_done += 1
                continue
            if isinstance(result, APIError):
                if retries_done < max_retries and should_retry_status(result.status, result.headers):
                    self.sleep(backoff_delay(retries_done, result.headers))
                    retries_done += 1
                    continue
                raise result
            return result

    @staticmethod
    def _exchange(connection: http.client.HTTPConnection, method: str, target: str, headers: Dict[str, str], body: Optional[bytes]) -> http.client.HTTPResponse:
        """Send the request and read the response head."""
        try:
            connection.request(method, target, body=body, headers=headers)
        except (BrokenPipeError, ConnectionResetError) as send_error:
            # A server may answer before it has read the whole body (a 413 for a body over its limit)
            # and close: then its answer is already waiting, and it is the answer, not a transport error.
            try:
                return connection.getresponse()
            except (OSError, http.client.HTTPException):
                raise send_error from None
        return connection.getresponse()

    def _attempt(self, method: str, target: str, headers: Dict[str, str], body: Optional[bytes], timeout: float, stream: bool) -> Any:
        """One try: the response, or the APIError it amounts to. Transport failures raise
        APIConnectionError / APITimeoutError."""
        connection, reused = self._acquire(timeout)
        try:
            try:
                response = self._exchange(connection, method, target, headers, body)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                if not reused:
                    raise
                # The server closed an idle kept-alive connection just as we reused it: nothing was
                # processed, so a fresh connection is the same request, not a retry.
                connection.close()
                connection = self._new_connection(timeout)
                response = self._exchange(connection, method, target, headers, body)
            if stream and 200 <= response.status < 300:
                return OpenResponse(connection, response)
            content = response.read()
            response_headers = {key.lower(): value for key, value in response.getheaders()}
        except socket.timeout as error:
            connection.close()
            raise APITimeoutError(f"{method} {target.split('?')[0]} timed out after {timeout} s", error) from error
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise APIConnectionError(f"{method} {target.split('?')[0]} failed: {error or type(error).__name__}", error) from error
        self._release(connection, response)
        if response.status >= 400:
            return api_error_from_response(response.status, response_headers, content, response.reason)
        return RawResponse(response.status, response_headers, content)

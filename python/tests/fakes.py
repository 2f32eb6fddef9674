"""Loopback doubles for what the real server cannot be made to do on demand: scripted HTTP answers
(503 then 200, 429 with Retry-After, slow answers, SSE that never ends) and a TCP proxy whose
connections a test can cut."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, List, Optional, Tuple


class Recorded:
    def __init__(self, method: str, path: str, headers: Dict[str, str], body: bytes) -> None:
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.at = time.monotonic()


# A handler gets the request and the raw handler (to write by hand, for streams); it returns
# (status, headers, body) or None when it wrote the answer itself.
Handler = Callable[[Recorded, BaseHTTPRequestHandler], Optional[Tuple[int, Dict[str, str], bytes]]]


def json_answer(status: int, payload: object, headers: Optional[Dict[str, str]] = None) -> Tuple[int, Dict[str, str], bytes]:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(payload).encode()


class FakeServer:
    """An HTTP/1.1 server on 127.0.0.1 answering from a list of handlers (one per request, the last
    one repeating) and recording every request."""

    def __init__(self, handlers: Optional[List[Handler]] = None) -> None:
        self.handlers: List[Handler] = list(handlers or [lambda request, raw: json_answer(200, {})])
        self.requests: List[Recorded] = []
        fake = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body are separate writes: without this, Nagle holds the body for the
                # client's delayed ACK (40 ms a request).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = Recorded(self.command, self.path, {key.lower(): value for key, value in self.headers.items()}, body)
                fake.requests.append(recorded)
                index = min(len(fake.requests) - 1, len(fake.handlers) - 1)
                answer = fake.handlers[index](recorded, self)
                if answer is None:
                    self.close_connection = True
                    return
                status, headers, content = answer
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TcpProxy:
    """Forwards 127.0.0.1:<port> to an upstream host:port. ``cut()`` breaks every open connection
    (as a network fault or a restarted load balancer would); new ones are still accepted. The first
    bytes each connection sent upstream (its request head) are kept in ``requests``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.requests: List[bytes] = []
        self._pairs: List[Tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.upstream)
            with self._lock:
                self._pairs.append((downstream, upstream))
            threading.Thread(target=self._pump, args=(downstream, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, downstream, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, record: bool) -> None:
        first = True
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if record and first:
                    self.requests.append(data)
                    first = False
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def stop(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

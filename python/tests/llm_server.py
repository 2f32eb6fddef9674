"""A tiny OpenAI-compatible Chat Completions server for the tests, scriptable per model name.

The Worken server is pointed at it with ``OPENAI_BASE_URL=<url>/v1`` and a bot uses it with the
model ``openai/<name>``. A script is a list of steps for the next streamed reply of that model:

- ``"text"``: one content delta;
- a ``threading.Event``: wait until the test sets it (so a test can hold the reply mid-way);
- ``FAIL``: an OpenAI error event, then the end of the stream (the provider failing mid-reply).

Non-streamed requests (title generation) get a short fixed answer and consume no script.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Union

FAIL = object()
Step = Union[str, threading.Event, object]


class LlmServer:
    def __init__(self) -> None:
        self._scripts: Dict[str, "queue.Queue[List[Step]]"] = {}
        self._lock = threading.Lock()
        self.requests: List[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                model = body.get("model", "")
                envelope = {"id": "chatcmpl-test", "created": int(time.time()), "model": model}
                if not body.get("stream"):
                    answer = json.dumps({
                        **envelope,
                        "object": "chat.completion",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "A test title"}, "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4},
                    }).encode()
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                steps = server._next_script(model)
                self.send_response(200)
                self.send_header("content-type", "text/event-stream; charset=utf-8")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                self.close_connection = True

                def send(delta: dict, finish: object = None) -> None:
                    chunk = {**envelope, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()

                try:
                    send({"role": "assistant", "content": ""})
                    for step in steps:
                        if isinstance(step, threading.Event):
                            step.wait(30)
                        elif step is FAIL:
                            error = {"error": {"message": "The server had an error while processing your request.", "type": "server_error", "param": None, "code": None}}
                            self.wfile.write(f"data: {json.dumps(error)}\n\n".encode())
                            self.wfile.flush()
                            return
                        else:
                            send({"content": step})
                    send({}, "stop")
                    usage = {**envelope, "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": len(steps), "total_tokens": 5 + len(steps)}}
                    self.wfile.write(f"data: {json.dumps(usage)}\n\ndata: [DONE]\n\n".encode())
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def script(self, model: str, steps: List[Step]) -> None:
        """Queues the steps of the next streamed reply of ``model`` (the part after ``openai/``)."""
        with self._lock:
            self._scripts.setdefault(model, queue.Queue()).put(steps)

    def _next_script(self, model: str) -> List[Step]:
        with self._lock:
            scripts = self._scripts.get(model)
        if scripts is None or scripts.empty():
            return ["Hello", " from", " the", " test", " model."]
        return scripts.get_nowait()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

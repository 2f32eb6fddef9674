"""Starts the real Worken server (``node packages/server/src/main.ts``) for the tests.

One server serves the whole run (``shared_server()``, started on first use and stopped at exit),
on random ports, a fresh PGlite data directory, a known bootstrap key, and the test LLM double
(``tests/llm_server.py``) as its OpenAI provider.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = PYTHON_DIR.parent
MAIN = REPO_ROOT / "packages" / "server" / "src" / "main.ts"

sys.path.insert(0, str(PYTHON_DIR))

from llm_server import LlmServer  # noqa: E402  (tests/ is on sys.path under unittest discover)

from worken import WorkenClient  # noqa: E402


def node_binary() -> str:
    """Node 24: ``WORKEN_NODE``, else the repository's pinned ``node`` package, else ``node`` on PATH."""
    explicit = os.environ.get("WORKEN_NODE")
    if explicit:
        return explicit
    pinned = REPO_ROOT / "node_modules" / "node" / "bin" / "node"
    if pinned.exists():
        return str(pinned)
    found = shutil.which("node")
    if not found:
        raise RuntimeError("node (v24) is needed to run the Worken server for these tests; put it on PATH or set WORKEN_NODE")
    return found


class ServerProcess:
    def __init__(self, env: Dict[str, str], timeout: float = 60.0) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="worken-python-sdk-")
        self.api_key = "sk-" + secrets.token_hex(32)
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "PORT": "0",
            "INTERNAL_PORT": "0",
            "WORKEN_DATA_DIR": self.data_dir,
            "WORKEN_BOOTSTRAP_API_KEY": self.api_key,
            "LOG_LEVEL": "info",
            "WORKEN_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            **env,
        }
        if os.environ.get("NODE_COMPILE_CACHE"):
            full_env["NODE_COMPILE_CACHE"] = os.environ["NODE_COMPILE_CACHE"]
        self.logs: List[dict] = []
        self.output: List[str] = []
        self._listening = threading.Event()
        self.process = subprocess.Popen(
            [node_binary(), str(MAIN)],
            cwd=str(REPO_ROOT),
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        # Drains stdout for the whole run: a full pipe would stall the server.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the Worken server did not start:\n" + "".join(self.output[-50:]))
        listening = next(entry for entry in self.logs if entry.get("msg") == "listening")
        self.public_url: str = listening["publicUrl"]
        self.internal_url: str = listening["internalUrl"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace")
            self.output.append(line)
            if line.startswith("{"):
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                self.logs.append(entry)
                if entry.get("msg") == "listening":
                    self._listening.set()

    def client(self, **kwargs) -> WorkenClient:
        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("base_url", self.public_url)
        return WorkenClient(**kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(5)
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


_shared: Optional[ServerProcess] = None
_llm: Optional[LlmServer] = None
_lock = threading.Lock()


def shared_server() -> ServerProcess:
    """The run's server, started on first use."""
    global _shared, _llm
    with _lock:
        if _shared is None:
            _llm = LlmServer()
            _shared = ServerProcess({
                "OPENAI_BASE_URL": _llm.url + "/v1",
                "OPENAI_API_KEY": "x",
                # Webhooks may go to the loopback receivers of the tests, over plain http.
                "WORKEN_WEBHOOKS_ALLOW_PRIVATE": "true",
                "WORKEN_WEBHOOK_POLL_MS": "200",
            })
            atexit.register(_stop_shared)
        return _shared


def shared_llm() -> LlmServer:
    shared_server()
    assert _llm is not None
    return _llm


def _stop_shared() -> None:
    if _shared is not None:
        _shared.stop()
    if _llm is not None:
        _llm.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def make_chat(client: WorkenClient, model: str = "local/echo") -> Dict[str, dict]:
    """A bot with ``model`` and an API chat for it (titles off, so no extra model calls)."""
    bot = client.bots.create(name=unique("bot"))
    client.bots.settings.update(bot["id"], ai={"model": {"id": model}, "memory": {"generateTitle": False}})
    chat = client.chats.create(bot_id=bot["id"], name=unique("chat"))
    return {"bot": bot, "chat": chat}

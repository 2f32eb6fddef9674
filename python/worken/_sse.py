"""A Server-Sent Events decoder that reads one line at a time, so each event is handed on as soon
as its blank line arrives (WHATWG HTML, "Interpreting an event stream")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional


@dataclass
class ServerSentEvent:
    """One dispatched frame. ``data`` is None for a frame without ``data:`` lines (an id-only or
    retry-only frame), which fires no message but still moves the position."""

    data: Optional[str]
    event: Optional[str] = None
    id: Optional[str] = None
    retry: Optional[int] = None


def iter_sse(readline: Callable[[], bytes]) -> Iterator[ServerSentEvent]:
    """Frames from a ``readline`` that returns b"" at the end of the stream. A frame cut off by the
    end of the stream is dropped, as a browser does."""
    data: List[str] = []
    event: Optional[str] = None
    last_id: Optional[str] = None
    id_changed = False
    retry: Optional[int] = None
    first = True
    while True:
        raw = readline()
        if not raw:
            return
        line = raw.decode("utf-8", "replace")
        if first:
            line = line.lstrip("\ufeff")
            first = False
        line = line.rstrip("\n").rstrip("\r")
        if line == "":
            if data or id_changed or retry is not None:
                yield ServerSentEvent(
                    data="\n".join(data) if data else None,
                    event=event,
                    id=last_id if (data or id_changed) else None,
                    retry=retry,
                )
            data, event, id_changed, retry = [], None, False, None
            continue
        if line.startswith(":"):
            continue  # a comment: `: keepalive`
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            data.append(value)
        elif name == "event":
            event = value
        elif name == "id":
            if "\0" not in value:
                last_id = value
                id_changed = True
        elif name == "retry":
            if value.isdigit():
                retry = int(value)

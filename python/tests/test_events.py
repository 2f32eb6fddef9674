"""The live event feed: events as they happen, resuming after a cut connection with
Last-Event-ID (nothing lost, nothing twice), the retry hint, refusals, and event tokens."""

from __future__ import annotations

import time
import unittest
from urllib.parse import urlsplit

from server import make_chat, shared_server, unique
from fakes import FakeServer, TcpProxy

import worken
from worken import EventFeed, WorkenClient

USER = [{"role": "user", "content": "hello"}]


def sse(*frames: str):
    """A handler answering one event stream made of these frames, then ending it."""

    def handle(request, raw):
        raw.send_response(200)
        raw.send_header("content-type", "text/event-stream")
        raw.send_header("connection", "close")
        raw.end_headers()
        raw.wfile.write("".join(frames).encode())
        raw.wfile.flush()
        return None

    return handle


class LiveFeedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.client = cls.server.client()
        cls.chat = make_chat(cls.client)["chat"]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def new_thread(self) -> str:
        thread_id = unique("thread")
        self.client.chats.threads.stream(self.chat["id"], thread_id, messages=USER).text()
        return thread_id

    def test_resumes_after_a_cut_connection_without_losing_or_repeating_events(self) -> None:
        thread_id = self.new_thread()
        public = urlsplit(self.server.public_url)
        proxy = TcpProxy(public.hostname, public.port)
        self.addCleanup(proxy.stop)
        client = WorkenClient(api_key=self.server.api_key, base_url=proxy.url)
        self.addCleanup(client.close)
        waits = []
        client._transport.sleep = lambda seconds: (waits.append(seconds), time.sleep(0.01))

        feed = client.threads.events(thread_id=thread_id)
        self.assertIsInstance(feed, EventFeed)
        self.client.chats.threads.mode.update(self.chat["id"], thread_id, mode="manual")
        first = next(feed)
        self.assertEqual((first["type"], first["thread_id"], first["mode"]), ("mode_changed", thread_id, "manual"))
        position = feed.last_event_id
        self.assertTrue(position and position.isdigit())

        hint = feed.retry_ms
        proxy.cut()
        # Written while the client is disconnected: it must get them from the backlog.
        sent = [self.client.threads.send(thread_id, text=f"operator message {n}")["id"] for n in range(3)]

        received = []
        while len([event for event in received if event["type"] == "message_created"]) < 3:
            received.append(next(feed))
        feed.close()

        self.assertEqual([event["message"]["id"] for event in received if event["type"] == "message_created"], sent)
        event_ids = [first["event_id"]] + [event["event_id"] for event in received]
        self.assertEqual(len(event_ids), len(set(event_ids)), "an event was yielded twice")
        self.assertGreaterEqual(feed.reconnects, 1)
        # It waited the server's retry: hint (1–5 s) before reconnecting, and said where it was.
        self.assertEqual(waits[0], hint / 1000.0)
        self.assertTrue(1.0 <= waits[0] <= 5.0, waits)
        self.assertEqual(len(proxy.requests), 2)
        self.assertIn(f"last-event-id: {position}", proxy.requests[1].decode().lower())

    def test_last_event_id_replays_the_backlog(self) -> None:
        thread_id = self.new_thread()
        with self.client.threads.events.stream_thread(thread_id, last_event_id=0) as feed:
            types = [next(feed)["type"] for _ in range(3)]
        self.assertEqual(types[0], "thread_created")
        self.assertIn("message_created", types)

    def test_project_feed_sees_new_threads(self) -> None:
        with self.client.threads.events() as feed:
            thread_id = self.new_thread()
            for event in feed:
                if event["type"] == "thread_created" and event["thread_id"] == thread_id:
                    break
        self.assertTrue(feed.closed)

    def test_an_event_token_opens_the_stream_without_the_key(self) -> None:
        thread_id = self.new_thread()
        token = self.client.threads.events.tokens.create(thread_id=thread_id, expires_in=60)
        self.assertTrue(token["token"].startswith("est_"))
        keyless = WorkenClient(api_key="sk-" + "0" * 64, base_url=self.server.public_url)
        self.addCleanup(keyless.close)
        with keyless.threads.events(thread_id=thread_id, token=token["token"], last_event_id=0) as feed:
            self.assertEqual(next(feed)["type"], "thread_created")

    def test_an_unknown_thread_is_refused_at_once(self) -> None:
        with self.assertRaises(worken.NotFoundError):
            self.client.threads.events(thread_id="no-such-thread")


class ReconnectionTest(unittest.TestCase):
    """Reconnection rules against a scripted server that ends its streams."""

    def feed_over(self, *handlers, **kwargs):
        fake = FakeServer(list(handlers))
        self.addCleanup(fake.stop)
        client = WorkenClient(api_key="sk-" + "4" * 64, base_url=fake.url)
        self.addCleanup(client.close)
        self.waits = []
        client._transport.sleep = self.waits.append
        return fake, client.threads.events(**kwargs)

    def test_a_replayed_event_is_not_yielded_twice(self) -> None:
        fake, feed = self.feed_over(
            sse("retry: 1234\nid: 0\n\n", 'id: 1\ndata: {"n":1}\n\n', 'id: 2\ndata: {"n":2}\n\n'),
            # A server that resends the last event after the reconnection.
            sse("retry: 2000\nid: 2\n\n", 'id: 2\ndata: {"n":2}\n\n', ": keepalive\n\n", 'id: 3\ndata: {"n":3}\n\n'),
            sse("id: 3\n\n"),
        )
        self.assertEqual([next(feed)["n"] for _ in range(3)], [1, 2, 3])
        feed.close()
        self.assertEqual(self.waits[0], 1.234)
        self.assertNotIn("last-event-id", fake.requests[0].headers)
        self.assertEqual(fake.requests[1].headers["last-event-id"], "2")
        self.assertEqual(feed.last_event_id, "3")

    def test_a_refused_reconnection_ends_the_feed_with_its_error(self) -> None:
        unauthorized = lambda request, raw: (401, {"content-type": "application/json"}, b'{"error":"Unauthorized","code":"unauthorized"}')
        _, feed = self.feed_over(sse('id: 5\ndata: {"n":5}\n\n'), unauthorized)
        self.assertEqual(next(feed)["n"], 5)
        with self.assertRaises(worken.AuthenticationError):
            next(feed)
        self.assertTrue(feed.closed)

    def test_unavailable_server_is_retried_with_growing_waits(self) -> None:
        unavailable = lambda request, raw: (503, {"content-type": "application/json"}, b'{"error":"Service Unavailable","code":"unavailable"}')
        fake, feed = self.feed_over(sse('id: 1\ndata: {"n":1}\n\n'), unavailable, unavailable, sse('id: 2\ndata: {"n":2}\n\n'), sse())
        self.assertEqual([next(feed)["n"] for _ in range(2)], [1, 2])
        feed.close()
        self.assertEqual(self.waits[:3], [1.0, 2.0, 4.0])
        self.assertEqual(fake.requests[3].headers["last-event-id"], "1")

    def test_max_reconnects_gives_up(self) -> None:
        _, feed = self.feed_over(sse('id: 1\ndata: {"n":1}\n\n'), sse(), max_reconnects=2)
        self.assertEqual(next(feed)["n"], 1)
        with self.assertRaises(worken.APIConnectionError):
            next(feed)


if __name__ == "__main__":
    unittest.main()

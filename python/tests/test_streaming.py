"""Streamed replies: events as they arrive, [DONE], error events, 202 answers, and hanging up."""

from __future__ import annotations

import gc
import threading
import time
import unittest

from llm_server import FAIL
from server import make_chat, shared_llm, shared_server, unique
from fakes import FakeServer

import worken
from worken import ReplyStream, WorkenClient

USER = [{"role": "user", "content": "Where is my parcel?"}]


class RealServerStreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.client = cls.server.client()
        cls.echo = make_chat(cls.client)["chat"]

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_echo_reply_streams_text_deltas_then_finish_and_is_stored(self) -> None:
        thread_id = unique("thread")
        with self.client.chats.threads.stream(self.echo["id"], thread_id, messages=USER) as stream:
            self.assertIsInstance(stream, ReplyStream)
            self.assertIsNone(stream.accepted)
            self.assertTrue(stream.request_id)
            events = list(stream)
        self.assertTrue(stream.closed)
        self.assertEqual(events[-1]["type"], "finish")
        self.assertEqual(events[-1]["finishReason"], "stop")
        text = "".join(event["textDelta"] for event in events if event["type"] == "text-delta")
        self.assertEqual(text, "You said: Where is my parcel?")
        # [DONE] comes after the reply is committed: it can be read back at once.
        history = self.client.chats.threads.messages.list(self.echo["id"], thread_id).data
        self.assertEqual([message["content"] for message in history], ["Where is my parcel?", text])

    def test_text_collects_the_reply(self) -> None:
        stream = self.client.chats.threads.stream(self.echo["id"], unique("thread"), messages=[{"role": "user", "content": "ping"}])
        self.assertEqual(stream.text(), "You said: ping")

    def test_events_arrive_while_the_model_is_still_answering(self) -> None:
        model = unique("slow")
        chat = make_chat(self.client, f"openai/{model}")["chat"]
        gate = threading.Event()
        shared_llm().script(model, ["First words", gate, " and the rest."])
        with self.client.chats.threads.stream(chat["id"], unique("thread"), messages=USER) as stream:
            first = next(stream)
            # The model is parked before its second delta: this event came through on its own.
            self.assertFalse(gate.is_set())
            self.assertEqual(first, {"type": "text-delta", "textDelta": "First words"})
            gate.set()
            rest = list(stream)
        self.assertEqual([event.get("textDelta") for event in rest if event["type"] == "text-delta"], [" and the rest."])
        self.assertEqual(rest[-1]["type"], "finish")

    def test_an_error_event_raises_stream_error(self) -> None:
        model = unique("broken")
        chat = make_chat(self.client, f"openai/{model}")["chat"]
        shared_llm().script(model, ["Half a reply", FAIL])
        stream = self.client.chats.threads.stream(chat["id"], unique("thread"), messages=USER)
        received = []
        with self.assertRaises(worken.StreamError) as caught:
            for event in stream:
                received.append(event)
        self.assertEqual(received[0], {"type": "text-delta", "textDelta": "Half a reply"})
        self.assertEqual(caught.exception.event["type"], "error")
        self.assertTrue(caught.exception.message)
        self.assertTrue(stream.closed)

    def test_a_thread_outside_auto_mode_answers_202_without_a_stream(self) -> None:
        thread_id = unique("thread")
        self.client.chats.threads.stream(self.echo["id"], thread_id, messages=USER).text()
        self.client.chats.threads.mode.update(self.echo["id"], thread_id, mode="manual")
        stream = self.client.chats.threads.stream(self.echo["id"], thread_id, messages=USER)
        self.assertEqual(list(stream), [])
        self.assertEqual(stream.accepted["status"], "pending_operator")
        self.assertEqual(stream.accepted["pending_count"], 1)

    def test_ui_message_stream_format(self) -> None:
        stream = self.client.chats.threads.stream(self.echo["id"], unique("thread"), messages=USER, format="ui-message-stream")
        types = [event["type"] for event in stream]
        self.assertEqual(types[0], "start")
        self.assertIn("text-delta", types)
        self.assertEqual(types[-1], "finish")

    def test_leaving_the_with_block_closes_the_connection(self) -> None:
        with self.client.chats.threads.stream(self.echo["id"], unique("thread"), messages=USER) as stream:
            next(stream)
            connection = stream._opened.connection
        self.assertTrue(stream.closed)
        self.assertIsNone(connection.sock)
        self.assertRaises(StopIteration, next, stream)

    def test_unknown_chat_raises_before_streaming(self) -> None:
        with self.assertRaises(worken.NotFoundError):
            self.client.chats.threads.stream("chat_missing", "t", messages=USER)
        with self.assertRaises(worken.WorkenError):
            self.client.chats.threads.stream(self.echo["id"], "t")


def endless_sse(disconnected: threading.Event):
    """A handler streaming text deltas until the client hangs up, which it then reports."""

    def handle(request, raw):
        raw.send_response(200)
        raw.send_header("content-type", "text/event-stream")
        raw.end_headers()
        try:
            for _ in range(500):
                raw.wfile.write(b'data: {"type":"text-delta","textDelta":"x"}\n\n')
                raw.wfile.flush()
                time.sleep(0.01)
        except (BrokenPipeError, ConnectionResetError):
            disconnected.set()
        return None

    return handle


class HangingUpTest(unittest.TestCase):
    """The server must see the client go: a scripted server streams until its writes fail."""

    def open_stream(self):
        disconnected = threading.Event()
        fake = FakeServer([endless_sse(disconnected)])
        self.addCleanup(fake.stop)
        client = WorkenClient(api_key="sk-" + "3" * 64, base_url=fake.url)
        self.addCleanup(client.close)
        return client, disconnected

    def test_with_block(self) -> None:
        client, disconnected = self.open_stream()
        with client.chats.threads.stream("chat", "thread", messages=USER) as stream:
            self.assertEqual(next(stream)["textDelta"], "x")
        self.assertTrue(disconnected.wait(3))

    def test_break_then_close(self) -> None:
        client, disconnected = self.open_stream()
        stream = client.chats.threads.stream("chat", "thread", messages=USER)
        for _ in stream:
            break
        self.assertFalse(disconnected.wait(0.1))
        stream.close()
        self.assertTrue(disconnected.wait(3))

    def test_garbage_collection(self) -> None:
        client, disconnected = self.open_stream()
        stream = client.chats.threads.stream("chat", "thread", messages=USER)
        next(stream)
        del stream
        gc.collect()
        self.assertTrue(disconnected.wait(3))

    def test_closing_the_client_closes_its_streams(self) -> None:
        client, disconnected = self.open_stream()
        with client:
            stream = client.chats.threads.stream("chat", "thread", messages=USER)
            next(stream)
        self.assertTrue(disconnected.wait(3))
        self.assertTrue(stream.closed)

    def test_a_stream_cut_before_done_is_a_connection_error(self) -> None:
        def short(request, raw):
            raw.send_response(200)
            raw.send_header("content-type", "text/event-stream")
            raw.send_header("content-length", "46")
            raw.end_headers()
            raw.wfile.write(b'data: {"type":"text-delta","textDelta":"x"}\n\n')
            return None

        fake = FakeServer([short])
        self.addCleanup(fake.stop)
        client = WorkenClient(api_key="sk-" + "3" * 64, base_url=fake.url)
        stream = client.chats.threads.stream("chat", "thread", messages=USER)
        self.assertEqual(next(stream)["textDelta"], "x")
        with self.assertRaises(worken.APIConnectionError):
            next(stream)


if __name__ == "__main__":
    unittest.main()

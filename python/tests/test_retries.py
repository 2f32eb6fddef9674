"""Retries against a scripted loopback server: which answers are retried, how long the client
waits, and the idempotency key that ties the attempts together."""

from __future__ import annotations

import email.utils
import time
import unittest

import server  # noqa: F401  (puts python/ on sys.path)
from fakes import FakeServer, free_port, json_answer

from worken import APIConnectionError, APITimeoutError, ConflictError, InternalServerError, NotFoundError, WorkenClient
from worken._retry import backoff_delay, server_delay

BOT = {"id": "bot_1", "name": "Retried"}


def answer(status, payload=None, headers=None):
    return lambda request, raw: json_answer(status, payload if payload is not None else {"error": "x", "code": "unavailable", "message": "try later"}, headers)


class RetryTest(unittest.TestCase):
    def client(self, fake: FakeServer, **kwargs) -> WorkenClient:
        client = WorkenClient(api_key="sk-" + "1" * 64, base_url=fake.url, **kwargs)
        self.sleeps = []
        client._transport.sleep = self.sleeps.append  # record the waits instead of waiting
        self.addCleanup(client.close)
        return client

    def fake(self, *handlers) -> FakeServer:
        fake = FakeServer(list(handlers))
        self.addCleanup(fake.stop)
        return fake

    def test_a_503_then_success_is_retried_with_the_same_idempotency_key(self) -> None:
        fake = self.fake(answer(503), answer(200, BOT))
        bot = self.client(fake).bots.create(name="Retried")
        self.assertEqual(bot, BOT)
        self.assertEqual(len(fake.requests), 2)
        keys = {request.headers["idempotency-key"] for request in fake.requests}
        self.assertEqual(len(keys), 1)
        self.assertRegex(keys.pop(), r"^worken-retry-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertEqual(fake.requests[0].body, fake.requests[1].body)
        self.assertEqual(len(self.sleeps), 1)
        self.assertTrue(0.375 <= self.sleeps[0] <= 0.5, self.sleeps)

    def test_each_call_gets_its_own_key_and_a_callers_key_is_used_as_given(self) -> None:
        fake = self.fake(answer(200, BOT))
        client = self.client(fake)
        client.bots.create(name="a")
        client.bots.create(name="b")
        client.bots.create(name="c", idempotency_key="order-42")
        keys = [request.headers["idempotency-key"] for request in fake.requests]
        self.assertNotEqual(keys[0], keys[1])
        self.assertEqual(keys[2], "order-42")
        client.bots.list()
        self.assertNotIn("idempotency-key", fake.requests[-1].headers)

    def test_429_waits_as_long_as_retry_after_says(self) -> None:
        fake = self.fake(answer(429, headers={"retry-after": "2"}), answer(200, BOT))
        self.client(fake).bots.retrieve("bot_1")
        self.assertEqual(self.sleeps, [2.0])

    def test_retry_after_ms_wins_over_retry_after(self) -> None:
        fake = self.fake(answer(429, headers={"retry-after-ms": "1500", "retry-after": "9"}), answer(200, BOT))
        self.client(fake).bots.retrieve("bot_1")
        self.assertEqual(self.sleeps, [1.5])

    def test_retry_after_as_an_http_date(self) -> None:
        when = email.utils.formatdate(time.time() + 4, usegmt=True)
        fake = self.fake(answer(503, headers={"retry-after": when}), answer(200, BOT))
        self.client(fake).bots.retrieve("bot_1")
        self.assertEqual(len(self.sleeps), 1)
        self.assertTrue(2.5 <= self.sleeps[0] <= 4.0, self.sleeps)

    def test_a_hint_over_60_seconds_falls_back_to_the_backoff(self) -> None:
        fake = self.fake(answer(429, headers={"retry-after": "3600"}), answer(200, BOT))
        self.client(fake).bots.retrieve("bot_1")
        self.assertTrue(0.375 <= self.sleeps[0] <= 0.5, self.sleeps)

    def test_backoff_doubles_then_gives_up_after_max_retries(self) -> None:
        fake = self.fake(answer(500))
        with self.assertRaises(InternalServerError) as caught:
            self.client(fake, max_retries=3).bots.list()
        self.assertEqual(caught.exception.status, 500)
        self.assertEqual(len(fake.requests), 4)
        for sleep, ceiling in zip(self.sleeps, (0.5, 1.0, 2.0)):
            self.assertTrue(0.75 * ceiling <= sleep <= ceiling, self.sleeps)

    def test_backoff_is_capped_at_8_seconds(self) -> None:
        for _ in range(20):
            self.assertTrue(6.0 <= backoff_delay(10) <= 8.0)

    def test_408_409_and_429_are_retried_but_404_is_not(self) -> None:
        for status in (408, 409, 429):
            with self.subTest(status):
                fake = self.fake(answer(status), answer(200, BOT))
                self.assertEqual(self.client(fake).bots.retrieve("bot_1"), BOT)
                self.assertEqual(len(fake.requests), 2)
        fake = self.fake(answer(404, {"error": "Not Found", "code": "not_found", "message": "no"}), answer(200, BOT))
        with self.assertRaises(NotFoundError):
            self.client(fake).bots.retrieve("bot_1")
        self.assertEqual(len(fake.requests), 1)

    def test_x_should_retry_false_stops_a_retry(self) -> None:
        fake = self.fake(answer(409, {"error": "Conflict", "code": "conflict", "message": "other body"}, {"x-should-retry": "false"}), answer(200, BOT))
        with self.assertRaises(ConflictError):
            self.client(fake).bots.create(name="x")
        self.assertEqual(len(fake.requests), 1)

    def test_x_should_retry_true_retries_any_status(self) -> None:
        fake = self.fake(answer(400, headers={"x-should-retry": "true"}), answer(200, BOT))
        self.assertEqual(self.client(fake).bots.retrieve("bot_1"), BOT)
        self.assertEqual(len(fake.requests), 2)

    def test_per_call_max_retries_overrides_the_clients(self) -> None:
        fake = self.fake(answer(503))
        with self.assertRaises(InternalServerError):
            self.client(fake, max_retries=5).bots.list(max_retries=0)
        self.assertEqual(len(fake.requests), 1)

    def test_connection_refused_is_retried_then_raised(self) -> None:
        client = WorkenClient(api_key="sk-" + "1" * 64, base_url=f"http://127.0.0.1:{free_port()}", max_retries=2)
        sleeps = []
        client._transport.sleep = sleeps.append
        with self.assertRaises(APIConnectionError) as caught:
            client.bots.list()
        self.assertNotIsInstance(caught.exception, APITimeoutError)
        self.assertIsInstance(caught.exception.__cause__, ConnectionRefusedError)
        self.assertEqual(len(sleeps), 2)

    def test_a_slow_answer_times_out(self) -> None:
        def slow(request, raw):
            time.sleep(1.0)
            return json_answer(200, BOT)

        fake = self.fake(slow)
        client = self.client(fake, max_retries=0)
        started = time.monotonic()
        with self.assertRaises(APITimeoutError):
            client.bots.retrieve("bot_1", timeout=0.2)
        self.assertLess(time.monotonic() - started, 0.9)

    def test_server_delay_ignores_garbage(self) -> None:
        self.assertIsNone(server_delay({"retry-after": "soon"}))
        self.assertIsNone(server_delay({"retry-after": "-1"}))
        self.assertEqual(server_delay({"retry-after": "0"}), 0.0)


if __name__ == "__main__":
    unittest.main()

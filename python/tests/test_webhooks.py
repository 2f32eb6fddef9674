"""worken.webhooks.verify against deliveries the real server signed and sent to a loopback receiver."""

from __future__ import annotations

import hashlib
import hmac
import time
import unittest

from server import shared_server, unique
from fakes import FakeServer

from worken import webhooks
from worken.webhooks import WebhookVerificationError


def wait_for(condition, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for a webhook delivery")


class WebhookVerificationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.client = cls.server.client()
        cls.receiver = FakeServer()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.receiver.stop()
        cls.client.close()

    def deliver_test_event(self, **create):
        endpoint = self.client.webhook_endpoints.create(url=f"{self.receiver.url}/hooks/{unique('endpoint')}", **create)
        self.addCleanup(self.client.webhook_endpoints.delete, endpoint["id"])
        path = endpoint["url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
        self.client.webhook_endpoints.test(endpoint["id"])
        request = wait_for(lambda: next((r for r in self.receiver.requests if r.path == "/" + path), None))
        return endpoint, request

    def test_a_plain_secret_verifies_both_signatures(self) -> None:
        secret = "plain-secret-" + unique("s")
        endpoint, request = self.deliver_test_event(secret=secret)
        event = webhooks.verify(request.body, request.headers, secret)
        self.assertEqual(event["type"], "webhook.test")
        self.assertEqual(event["id"], request.headers["webhook-id"])
        self.assertEqual(event["data"], {"endpoint_id": endpoint["id"]})
        # The spec's receiver snippet, verbatim in Python: hex HMAC-SHA256 of the raw body.
        self.assertEqual(hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest(), request.headers["x-worken-signature"])
        webhooks.verify_signature(request.body, request.headers["x-worken-signature"], secret)
        webhooks.verify_standard(request.body, request.headers, secret)

    def test_a_generated_whsec_secret_is_keyed_by_its_base64_bytes(self) -> None:
        endpoint, request = self.deliver_test_event()
        secret = endpoint["secret"]
        self.assertTrue(secret.startswith("whsec_"))
        self.assertEqual(webhooks.verify(request.body, request.headers, secret)["type"], "webhook.test")
        self.assertEqual(
            webhooks.sign_standard(request.body, secret, request.headers["webhook-id"], request.headers["webhook-timestamp"]),
            request.headers["webhook-signature"],
        )

    def test_tampering_a_wrong_secret_and_stale_timestamps_are_refused(self) -> None:
        secret = "another-secret-" + unique("s")
        _, request = self.deliver_test_event(secret=secret)
        headers, body = request.headers, request.body
        sent_at = int(headers["webhook-timestamp"])
        with self.assertRaises(WebhookVerificationError):
            webhooks.verify(body.replace(b"webhook.test", b"webhook.evil"), headers, secret)
        with self.assertRaises(WebhookVerificationError):
            webhooks.verify(body, headers, secret + "x")
        with self.assertRaises(WebhookVerificationError):
            webhooks.verify(body, headers, secret, now=sent_at + 301)
        with self.assertRaises(WebhookVerificationError):
            webhooks.verify(body, headers, secret, now=sent_at - 301)
        self.assertEqual(webhooks.verify(body, headers, secret, now=sent_at + 299)["type"], "webhook.test")
        self.assertEqual(webhooks.verify(body, headers, secret, tolerance=3600, now=sent_at + 1800)["type"], "webhook.test")
        # Only the spec's hex header: still verified. No signature at all: refused.
        only_hex = {"X-Worken-Signature": headers["x-worken-signature"]}
        self.assertEqual(webhooks.verify(body, only_hex, secret)["type"], "webhook.test")
        with self.assertRaises(WebhookVerificationError):
            webhooks.verify(body, {"content-type": "application/json"}, secret)
        # A good Standard signature does not excuse a bad hex one.
        with self.assertRaises(WebhookVerificationError):
            webhooks.verify(body, {**headers, "x-worken-signature": "0" * 64}, secret)
        # Rotation: any one of several space-separated signatures may match.
        rotated = {**headers, "webhook-signature": "v1,AAAA " + headers["webhook-signature"]}
        webhooks.verify_standard(body, rotated, secret)

    def test_the_delivery_log_matches_what_arrived(self) -> None:
        endpoint, request = self.deliver_test_event(secret="log-secret-" + unique("s"))
        delivery = wait_for(lambda: next((d for d in self.client.webhook_endpoints.deliveries.list(endpoint["id"]) if d["status"] == "succeeded"), None))
        self.assertEqual(delivery["event_id"], request.headers["webhook-id"])
        self.assertEqual(self.client.webhook_endpoints.deliveries.retrieve(endpoint["id"], delivery["id"])["id"], delivery["id"])


if __name__ == "__main__":
    unittest.main()

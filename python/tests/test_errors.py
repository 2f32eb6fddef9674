"""Every error status becomes its typed exception: produced by the real server where it can be
made to answer it, and by a scripted server for the rest."""

from __future__ import annotations

import unittest

from server import make_chat, shared_server, unique
from fakes import FakeServer, json_answer

import worken
from worken import WorkenClient

STATUS_CLASSES = {
    400: worken.BadRequestError,
    401: worken.AuthenticationError,
    403: worken.PermissionDeniedError,
    404: worken.NotFoundError,
    408: worken.RequestTimeoutError,
    409: worken.ConflictError,
    413: worken.PayloadTooLargeError,
    422: worken.UnprocessableEntityError,
    429: worken.RateLimitError,
    500: worken.InternalServerError,
    502: worken.InternalServerError,
    503: worken.InternalServerError,
}


class ErrorMappingTest(unittest.TestCase):
    def test_every_status_maps_to_its_class_with_the_error_body(self) -> None:
        for status, error_class in list(STATUS_CLASSES.items()) + [(405, worken.APIError), (418, worken.APIError)]:
            with self.subTest(status):
                body = {"error": "Some Error", "code": f"code_{status}", "message": f"message {status}"}
                fake = FakeServer([lambda request, raw, status=status, body=body: json_answer(status, body, {"x-request-id": "req-1"})])
                self.addCleanup(fake.stop)
                client = WorkenClient(api_key="sk-" + "2" * 64, base_url=fake.url, max_retries=0)
                self.addCleanup(client.close)
                with self.assertRaises(error_class) as caught:
                    client.bots.list()
                error = caught.exception
                self.assertIs(type(error), error_class)
                self.assertIsInstance(error, worken.APIError)
                self.assertIsInstance(error, worken.WorkenError)
                self.assertEqual((error.status, error.code, error.message, error.request_id), (status, f"code_{status}", f"message {status}", "req-1"))
                self.assertEqual(error.body, body)
                self.assertEqual(error.headers["x-request-id"], "req-1")
                self.assertIn(f"{status} code_{status}: message {status}", str(error))

    def test_a_body_that_is_not_json_still_gives_a_typed_error(self) -> None:
        fake = FakeServer([lambda request, raw: (502, {"content-type": "text/html"}, b"<h1>Bad gateway</h1>")])
        self.addCleanup(fake.stop)
        client = WorkenClient(api_key="sk-" + "2" * 64, base_url=fake.url, max_retries=0)
        with self.assertRaises(worken.InternalServerError) as caught:
            client.bots.list()
        self.assertIsNone(caught.exception.code)
        self.assertIn("Bad gateway", caught.exception.message)


class RealServerErrorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.client = cls.server.client(max_retries=0)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_400_a_body_that_is_not_json(self) -> None:
        with self.assertRaises(worken.BadRequestError) as caught:
            self.client.bots.create(name="x", extra_headers={"Content-Type": "text/plain"})
        self.assertEqual(caught.exception.code, "malformed_request")

    def test_401_an_unknown_key(self) -> None:
        stranger = WorkenClient(api_key="sk-" + "ab" * 32, base_url=self.server.public_url)
        with self.assertRaises(worken.AuthenticationError) as caught:
            stranger.bots.list()
        self.assertEqual(caught.exception.body, {"error": "Unauthorized", "code": "unauthorized"})
        self.assertTrue(caught.exception.request_id)

    def test_403_another_projects_keys(self) -> None:
        organization_id = self.client.projects.list().data[0]["organization_id"]
        sibling = self.client.projects.create(name=unique("sibling"), organization_id=organization_id)
        with self.assertRaises(worken.PermissionDeniedError) as caught:
            self.client.projects.api_keys.list(sibling["id"])
        self.assertEqual(caught.exception.code, "forbidden")

    def test_404_an_unknown_bot(self) -> None:
        with self.assertRaises(worken.NotFoundError) as caught:
            self.client.bots.retrieve("bot_does_not_exist")
        self.assertEqual(caught.exception.code, "not_found")

    def test_409_a_chat_name_taken(self) -> None:
        setup = make_chat(self.client)
        with self.assertRaises(worken.ConflictError) as caught:
            self.client.chats.create(bot_id=setup["bot"]["id"], name=setup["chat"]["name"].upper())
        self.assertEqual(caught.exception.code, "name_taken")

    def test_413_a_body_over_the_limit(self) -> None:
        with self.assertRaises(worken.PayloadTooLargeError) as caught:
            self.client.bots.create(name="big", description="x" * (1024 * 1024 + 10))
        self.assertEqual(caught.exception.code, "payload_too_large")

    def test_422_names_the_invalid_field(self) -> None:
        with self.assertRaises(worken.UnprocessableEntityError) as caught:
            self.client.bots.create(name="x", colour="blue")
        self.assertEqual(caught.exception.code, "invalid_request")
        self.assertTrue(caught.exception.details)

    def test_bad_input_is_refused_before_any_request(self) -> None:
        with self.assertRaises(worken.WorkenError):
            self.client.bots.retrieve("")
        with self.assertRaises(worken.WorkenError):
            self.client.bots.retrieve("bot_1", colour="blue")
        with self.assertRaises(worken.WorkenError):
            self.client.bots.list(timeout=-1)


if __name__ == "__main__":
    unittest.main()

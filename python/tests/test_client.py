"""Configuration, uploads and downloads, and what a closed client does."""

from __future__ import annotations

import os
import tempfile
import time
import unittest
from unittest import mock

from server import shared_server, unique
from fakes import FakeServer, json_answer

import worken
from worken import DEFAULT_BASE_URL, WorkenClient


class ConfigurationTest(unittest.TestCase):
    def test_api_key_and_base_url_come_from_the_environment(self) -> None:
        with mock.patch.dict(os.environ, {"WORKEN_API_KEY": "sk-" + "5" * 64, "WORKEN_BASE_URL": "http://127.0.0.1:9999/"}):
            client = WorkenClient()
        self.assertEqual((client.api_key, client.base_url), ("sk-" + "5" * 64, "http://127.0.0.1:9999"))

    def test_defaults(self) -> None:
        with mock.patch.dict(os.environ, {"WORKEN_API_KEY": "sk-" + "5" * 64}, clear=True):
            client = WorkenClient()
        self.assertEqual((client.base_url, client.timeout, client.max_retries), (DEFAULT_BASE_URL, 60.0, 2))
        self.assertEqual(DEFAULT_BASE_URL, "http://127.0.0.1:8080")

    def test_a_missing_key_says_how_to_give_one(self) -> None:
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaises(worken.WorkenError) as caught:
                WorkenClient()
        self.assertIn("WORKEN_API_KEY", str(caught.exception))

    def test_bad_settings_are_refused(self) -> None:
        for kwargs in ({"api_key": "not-a-key"}, {"base_url": "ftp://host.invalid"}, {"timeout": 0}, {"max_retries": -1}):
            with self.subTest(kwargs):
                with self.assertRaises(worken.WorkenError):
                    WorkenClient(**{"api_key": "sk-" + "5" * 64, **kwargs})

    def test_default_and_extra_headers_are_sent(self) -> None:
        fake = FakeServer()
        self.addCleanup(fake.stop)
        with WorkenClient(api_key="sk-" + "5" * 64, base_url=fake.url + "/prefix", default_headers={"X-Team": "support"}) as client:
            client.bots.list(limit=5, extra_headers={"X-Trace": "t-1"})
        request = fake.requests[0]
        self.assertEqual(request.path, "/prefix/bots?limit=5")
        self.assertEqual((request.headers["x-team"], request.headers["x-trace"]), ("support", "t-1"))
        self.assertTrue(request.headers["user-agent"].startswith("worken-python/"))

    def test_a_kept_alive_connection_the_server_closed_is_replaced_without_a_retry(self) -> None:
        def close_after_answering(request, raw):
            raw.close_connection = True  # no "Connection: close" header: the client keeps the socket
            return json_answer(200, [])

        fake = FakeServer([close_after_answering])
        self.addCleanup(fake.stop)
        with WorkenClient(api_key="sk-" + "5" * 64, base_url=fake.url, max_retries=0) as client:
            client.bots.list()
            time.sleep(0.05)
            client.bots.list()  # max_retries=0: only the stale-connection path can make this pass
        self.assertEqual(len(fake.requests), 2)

    def test_a_closed_client_refuses_requests(self) -> None:
        client = WorkenClient(api_key="sk-" + "5" * 64)
        client.close()
        with self.assertRaises(worken.WorkenError):
            client.bots.list()


class FilesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.client = shared_server().client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_upload_from_a_path_and_download_the_same_bytes(self) -> None:
        content = "Returns are accepted within 30 days. Ünïcode too.\n".encode()
        with tempfile.NamedTemporaryFile(suffix=".md", delete=False) as handle:
            handle.write(content)
        self.addCleanup(os.unlink, handle.name)
        uploaded = self.client.files.create(file=handle.name, purpose="assistants")
        self.assertEqual((uploaded["filename"], uploaded["bytes"]), (os.path.basename(handle.name), len(content)))
        self.assertEqual(self.client.files.content.retrieve(uploaded["id"]), content)
        self.assertEqual(self.client.files.delete(uploaded["id"])["deleted"], True)

    def test_upload_from_a_file_object_and_into_a_vector_store(self) -> None:
        store = self.client.vector_stores.create(name=unique("store"))
        with tempfile.TemporaryFile() as handle:
            handle.write(b"Delivery takes three days.")
            handle.seek(0)
            added = self.client.vector_stores.files.create(
                store["id"], file=("delivery.txt", handle), attributes={"topic": "delivery"}
            )
        self.assertEqual(added["attributes"], {"topic": "delivery"})
        self.assertEqual(self.client.vector_stores.files.retrieve(store["id"], added["id"])["filename"], "delivery.txt")

    def test_bad_file_arguments_are_refused(self) -> None:
        with self.assertRaises(worken.WorkenError):
            self.client.files.create(purpose="assistants")
        with self.assertRaises(worken.WorkenError):
            self.client.files.create(file="/no/such/file.txt", purpose="assistants")
        with self.assertRaises(worken.WorkenError):
            self.client.files.create(file=12, purpose="assistants")


if __name__ == "__main__":
    unittest.main()

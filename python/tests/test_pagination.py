"""Pages and walking them, for each kind of list, against the real server."""

from __future__ import annotations

import unittest

from server import make_chat, shared_server, unique
from fakes import FakeServer

from worken import CursorPage, OffsetPage, StartingAfterPage, ThreadCursorPage


def count_gets(test, client):
    """Counts the requests the client sends (to check pages are fetched lazily, one per page)."""
    transport = client._transport
    calls = []
    original = transport.request

    def counting(*args, **kwargs):
        calls.append(kwargs.get("query"))
        return original(*args, **kwargs)

    transport.request = counting
    test.addCleanup(delattr, transport, "request")
    return calls


class PaginationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_offset_list_with_x_total_count(self) -> None:
        for _ in range(5):
            self.client.bots.create(name=unique("paged"))
        everything = self.client.bots.list(limit=1000)
        page = self.client.bots.list(limit=2)
        self.assertIsInstance(page, OffsetPage)
        self.assertEqual(page.total, len(everything.data))
        self.assertGreaterEqual(page.total, 5)
        self.assertEqual(len(page), 2)
        self.assertEqual(page["data"], page.data)
        self.assertTrue(page.has_next_page())
        calls = count_gets(self, self.client)
        walked = [bot["id"] for bot in page]
        self.assertEqual(walked, [bot["id"] for bot in everything.data])
        self.assertEqual(len(calls), (page.total + 1) // 2 - 1)  # the first page was already there
        second = page.get_next_page()
        self.assertEqual(second.data[0]["id"], everything.data[2]["id"])

    def test_offset_list_of_messages(self) -> None:
        chat = make_chat(self.client)["chat"]
        thread_id = unique("thread")
        for word in ("one", "two", "three"):
            self.client.chats.threads.stream(chat["id"], thread_id, messages=[{"role": "user", "content": word}]).text()
        page = self.client.chats.threads.messages.list(chat["id"], thread_id, limit=4)
        self.assertEqual(page.total, 6)
        contents = [message["content"] for message in page.auto_paging_iter()]
        self.assertEqual(contents, ["one", "You said: one", "two", "You said: two", "three", "You said: three"])
        self.assertEqual(len(list(page.iter_pages())), 2)

    def test_thread_list_walks_next_cursor(self) -> None:
        chat = make_chat(self.client)["chat"]
        created = []
        for _ in range(3):
            thread_id = unique("thread")
            self.client.chats.threads.stream(chat["id"], thread_id, messages=[{"role": "user", "content": "hi"}]).text()
            created.append(thread_id)
        page = self.client.threads.list(chat_id=chat["id"], limit=1)
        self.assertIsInstance(page, ThreadCursorPage)
        self.assertTrue(page.next_cursor)
        self.assertEqual([thread["id"] for thread in page], list(reversed(created)))
        # offset applies to the first page only: the walk goes on from the cursor.
        offset_page = self.client.threads.list(chat_id=chat["id"], limit=1, offset=1)
        self.assertEqual([thread["id"] for thread in offset_page], list(reversed(created))[1:])

    def test_openai_cursor_list_of_files(self) -> None:
        uploaded = [self.client.files.create(file=(f"{unique('note')}.txt", f"note {n}".encode()), purpose="assistants")["id"] for n in range(3)]
        page = self.client.files.list(limit=1, order="asc")
        self.assertIsInstance(page, CursorPage)
        self.assertTrue(page.has_more)
        self.assertEqual(page["object"], "list")
        walked = [file["id"] for file in page]
        for file_id in uploaded:
            self.assertIn(file_id, walked)
        self.assertEqual(len(walked), len(set(walked)))

    def test_deliveries_walk_starting_after(self) -> None:
        receiver = FakeServer()
        self.addCleanup(receiver.stop)
        endpoint = self.client.webhook_endpoints.create(url=f"{receiver.url}/hooks")
        self.addCleanup(self.client.webhook_endpoints.delete, endpoint["id"])
        sent = [self.client.webhook_endpoints.test(endpoint["id"])["id"] for _ in range(3)]
        page = self.client.webhook_endpoints.deliveries.list(endpoint["id"], limit=1)
        self.assertIsInstance(page, StartingAfterPage)
        self.assertTrue(page.has_more)
        self.assertEqual([delivery["id"] for delivery in page], list(reversed(sent)))

    def test_an_empty_list_is_one_empty_page(self) -> None:
        chat = make_chat(self.client)["chat"]
        page = self.client.chats.threads.list(chat["id"])
        self.assertEqual((page.data, page.total, page.has_next_page(), list(page)), ([], 0, False, []))


if __name__ == "__main__":
    unittest.main()

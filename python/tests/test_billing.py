"""``client.billing`` against the real server: the account, offers, an invoice, and transactions paged across."""

from __future__ import annotations

import unittest

from server import make_chat, shared_server, unique

from worken import TotalPage


class BillingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.server = shared_server()
        cls.client = cls.server.client()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_account_offers_invoice_and_transactions(self) -> None:
        account = self.client.billing.account.retrieve()
        self.assertIn(account["tariff"], ("free", "starter", "pro", "enterprise"))
        offers = self.client.billing.offers.list()
        self.assertTrue(any(offer["id"] == "topup-1000" for offer in offers))
        created = self.client.billing.invoices.create(offer_id="topup-1000")
        self.assertEqual(created["invoice"]["status"], "pending")
        self.assertEqual(self.client.billing.invoices.retrieve(created["invoice"]["id"])["id"], created["invoice"]["id"])
        self.assertTrue(any(each["id"] == created["invoice"]["id"] for each in self.client.billing.invoices.list()))
        chat = make_chat(self.client)["chat"]
        thread_id = unique("billed")
        for word in ("one", "two", "three"):
            self.client.chats.threads.stream(chat["id"], thread_id, messages=[{"role": "user", "content": word}]).text()
        page = self.client.billing.transactions.list(limit=1)
        self.assertIsInstance(page, TotalPage)
        self.assertEqual(len(page.data), 1)
        walked = list(page)
        self.assertEqual(len(walked), page.total)
        self.assertGreaterEqual(len([txn for txn in walked if txn["type"] == "charge"]), 3)
        balance = self.client.billing.balance.retrieve()
        self.assertEqual(set(balance), {"credits", "bonus"})


if __name__ == "__main__":
    unittest.main()

"""``client.billing``: the organization's credits, transactions, invoices and offers."""

from __future__ import annotations

from typing import Any, List

from .._pagination import TotalPage
from ..types import Balance, BillingAccount, CreatedInvoice, Invoice, Offer, Transaction
from ._base import APIResource, no_arguments, path_param, split_options


class Account(APIResource):
    def retrieve(self, **kwargs: Any) -> BillingAccount:
        """``GET /billing/account``: tariff, credits, bonus, ``subscription_until``."""
        options = split_options(kwargs)
        no_arguments("billing.account.retrieve", kwargs)
        return self._get("/billing/account", options)


class Balance_(APIResource):
    def retrieve(self, **kwargs: Any) -> Balance:
        """``GET /billing/balance``: ``{credits, bonus}``."""
        options = split_options(kwargs)
        no_arguments("billing.balance.retrieve", kwargs)
        return self._get("/billing/balance", options)


class Transactions(APIResource):
    def list(self, **query: Any) -> TotalPage[Transaction]:
        """``GET /billing/transactions``: newest first; iterating walks every page."""
        options = split_options(query)
        return self._page(TotalPage, "/billing/transactions", query, options)


class Invoices(APIResource):
    def list(self, **kwargs: Any) -> List[Invoice]:
        """``GET /billing/invoices``: newest first."""
        options = split_options(kwargs)
        no_arguments("billing.invoices.list", kwargs)
        return self._get("/billing/invoices", options)

    def create(self, **body: Any) -> CreatedInvoice:
        """``POST /billing/invoices`` ``{offer_id, credits?}``: a pending invoice and its ``payment_url``."""
        options = split_options(body)
        return self._post_json("/billing/invoices", options, body)

    def retrieve(self, invoice_id: str, **kwargs: Any) -> Invoice:
        """``GET /billing/invoices/{invoice_id}``."""
        options = split_options(kwargs)
        no_arguments("billing.invoices.retrieve", kwargs)
        return self._get(f"/billing/invoices/{path_param('invoice_id', invoice_id)}", options)


class Offers(APIResource):
    def list(self, **kwargs: Any) -> List[Offer]:
        """``GET /billing/offers``: plans and top-ups."""
        options = split_options(kwargs)
        no_arguments("billing.offers.list", kwargs)
        return self._get("/billing/offers", options)


class Billing(APIResource):
    """Credits and payments.

    Example::

        print(client.billing.balance.retrieve())
        invoice = client.billing.invoices.create(offer_id="topup-1000")
    """

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.account = Account(client)
        self.balance = Balance_(client)
        self.transactions = Transactions(client)
        self.invoices = Invoices(client)
        self.offers = Offers(client)

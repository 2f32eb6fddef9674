"""Every operation of docs/openapi.json has a method, named by the rule, that sends the spec's
method and path."""

from __future__ import annotations

import functools
import json
import re
import unittest
from urllib.parse import urlsplit

from server import REPO_ROOT

from fakes import FakeServer
from worken import OPERATION_METHODS, WorkenClient

SPEC = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def spec_operations():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield operation["operationId"], method.upper(), path, operation


def method_name(operation_id: str) -> str:
    """The naming rule: camelCase segments → snake_case, a last segment ``get`` → ``retrieve``."""
    segments = [re.sub(r"(?<!^)([A-Z])", r"_\1", segment).lower() for segment in operation_id.split(".")]
    if segments[-1] == "get":
        segments[-1] = "retrieve"
    return ".".join(segments)


def resolve(client: WorkenClient, dotted: str):
    return functools.reduce(getattr, dotted.split("."), client)


class OperationCoverageTest(unittest.TestCase):
    def setUp(self) -> None:
        self.client = WorkenClient(api_key="sk-" + "0" * 64, base_url="http://127.0.0.1:9")

    def test_every_operation_of_the_spec_has_a_method(self) -> None:
        missing = [operation_id for operation_id, *_ in spec_operations() if operation_id not in OPERATION_METHODS]
        self.assertEqual(missing, [], "operations without a method in worken/_operations.py")

    def test_no_method_is_mapped_to_an_operation_the_spec_lacks(self) -> None:
        known = {operation_id for operation_id, *_ in spec_operations()}
        self.assertEqual(sorted(set(OPERATION_METHODS) - known), [])

    def test_each_method_resolves_to_a_callable_on_a_real_client(self) -> None:
        for operation_id, _, _, _ in spec_operations():
            with self.subTest(operation_id):
                self.assertTrue(callable(resolve(self.client, OPERATION_METHODS[operation_id])))

    def test_method_names_follow_the_rule(self) -> None:
        for operation_id, dotted in OPERATION_METHODS.items():
            with self.subTest(operation_id):
                self.assertEqual(dotted, method_name(operation_id))

    def test_each_method_sends_the_specs_method_and_path(self) -> None:
        fake = FakeServer()
        self.addCleanup(fake.stop)
        client = WorkenClient(api_key="sk-" + "0" * 64, base_url=fake.url, max_retries=0)
        self.addCleanup(client.close)
        for operation_id, http_method, template, operation in spec_operations():
            with self.subTest(operation_id):
                names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
                arguments = [f"p-{name}" for name in names]
                kwargs = {}
                if operation_id in ("chats.threads.stream",):
                    kwargs["messages"] = [{"role": "user", "content": "hi"}]
                if operation_id in ("files.create",):
                    kwargs["file"] = ("a.txt", b"a")
                before = len(fake.requests)
                result = resolve(client, OPERATION_METHODS[operation_id])(*arguments, **kwargs)
                close = getattr(result, "close", None)
                if callable(close):
                    close()
                self.assertEqual(len(fake.requests), before + 1)
                request = fake.requests[-1]
                expected = template
                for name in names:
                    expected = expected.replace("{" + name + "}", f"p-{name}")
                self.assertEqual((request.method, urlsplit(request.path).path), (http_method, expected))
                self.assertEqual(request.headers.get("authorization"), "Bearer sk-" + "0" * 64)
                # Every POST carries an idempotency key; other methods do not need one.
                self.assertEqual("idempotency-key" in request.headers, http_method == "POST")


if __name__ == "__main__":
    unittest.main()

"""worken/types.py is generated from docs/openapi.json and must match it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import typing
import unittest

from server import PYTHON_DIR, REPO_ROOT

import worken.types as types

SPEC_PATH = REPO_ROOT / "docs" / "openapi.json"


def load_generator():
    spec = importlib.util.spec_from_file_location("generate_types", PYTHON_DIR / "scripts" / "generate_types.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


class GeneratedTypesTest(unittest.TestCase):
    def test_committed_types_are_what_the_generator_makes_of_the_spec(self) -> None:
        expected = load_generator().generate(SPEC_PATH.read_bytes())
        committed = (PYTHON_DIR / "worken" / "types.py").read_text(encoding="utf-8")
        self.assertTrue(
            committed == expected,
            "worken/types.py is stale: run `python3 scripts/generate_types.py` in python/",
        )

    def test_header_names_the_sha256_of_the_spec(self) -> None:
        digest = hashlib.sha256(SPEC_PATH.read_bytes()).hexdigest()
        self.assertIn(f"sha256 {digest}", types.__doc__ or "")

    def test_every_schema_has_a_type_whose_annotations_resolve(self) -> None:
        schemas = json.loads(SPEC_PATH.read_bytes())["components"]["schemas"]
        for name in schemas:
            with self.subTest(name):
                self.assertIn(name, types.__all__)
                declared = getattr(types, name)
                if isinstance(declared, type):
                    typing.get_type_hints(declared)  # raises on a dangling forward reference

    def test_required_and_optional_fields_follow_the_spec(self) -> None:
        schemas = json.loads(SPEC_PATH.read_bytes())["components"]["schemas"]
        for name in ("Bot", "Message", "ThreadEvent", "WebhookDelivery", "VectorStoreSearch"):
            with self.subTest(name):
                schema = schemas[name]
                declared = getattr(types, name)
                self.assertEqual(set(declared.__required_keys__), set(schema.get("required", [])))
                self.assertEqual(set(declared.__required_keys__) | set(declared.__optional_keys__), set(schema["properties"]))

    def test_enums_become_literals(self) -> None:
        self.assertEqual(typing.get_args(types.BotStatus), ("active", "disabled", "error"))
        hints = typing.get_type_hints(types.Thread)
        self.assertEqual(typing.get_args(hints["mode"]), ("auto", "manual", "operator", "blocked"))


if __name__ == "__main__":
    unittest.main()

"""pyproject promises Python 3.9+: every module must parse as 3.9 and keep annotations lazy (so
``X | None`` or ``list[str]`` in an annotation is never evaluated on an older interpreter)."""

from __future__ import annotations

import ast
import unittest

from server import PYTHON_DIR

SOURCES = sorted((PYTHON_DIR / "worken").rglob("*.py")) + [PYTHON_DIR / "scripts" / "generate_types.py", PYTHON_DIR / "examples" / "quickstart.py"]


class Python39Test(unittest.TestCase):
    def test_sources_parse_with_python_3_9_grammar(self) -> None:
        for path in SOURCES:
            with self.subTest(str(path.relative_to(PYTHON_DIR))):
                ast.parse(path.read_text(encoding="utf-8"), filename=str(path), feature_version=(3, 9))

    def test_modules_with_annotations_postpone_their_evaluation(self) -> None:
        for path in SOURCES:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source)
            annotated = any(isinstance(node, (ast.AnnAssign, ast.arg)) and getattr(node, "annotation", None) is not None for node in ast.walk(tree))
            annotated = annotated or any(isinstance(node, ast.FunctionDef) and node.returns is not None for node in ast.walk(tree))
            if annotated:
                with self.subTest(str(path.relative_to(PYTHON_DIR))):
                    self.assertIn("from __future__ import annotations", source)

    def test_pyproject_declares_no_dependencies_and_python_3_9(self) -> None:
        text = (PYTHON_DIR / "pyproject.toml").read_text(encoding="utf-8")
        self.assertIn('requires-python = ">=3.9"', text)
        self.assertIn("dependencies = []", text)
        self.assertIn('name = "worken"', text)
        self.assertIn('version = "0.1.0"', text)


if __name__ == "__main__":
    unittest.main()

"""The README's quick start is examples/quickstart.py, and it runs against the server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unittest

from server import PYTHON_DIR, shared_server

MARKER = "<!-- quickstart: examples/quickstart.py"


class QuickstartTest(unittest.TestCase):
    def test_the_readme_block_is_the_example_file(self) -> None:
        readme = (PYTHON_DIR / "README.md").read_text(encoding="utf-8")
        self.assertIn(MARKER, readme)
        block = re.search(r"```python\n(.*?)```", readme[readme.index(MARKER):], re.S)
        self.assertIsNotNone(block)
        self.assertEqual(block.group(1), (PYTHON_DIR / "examples" / "quickstart.py").read_text(encoding="utf-8"))

    def test_the_example_runs_against_the_server(self) -> None:
        server = shared_server()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "WORKEN_API_KEY": server.api_key,
            "WORKEN_BASE_URL": server.public_url,
            "PYTHONPATH": str(PYTHON_DIR),
        }
        result = subprocess.run(
            [sys.executable, str(PYTHON_DIR / "examples" / "quickstart.py")],
            env=env, capture_output=True, text=True, timeout=60,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.splitlines(),
            ["You said: Hello, Worken!", "user: Hello, Worken!", "assistant: You said: Hello, Worken!"],
        )


if __name__ == "__main__":
    unittest.main()

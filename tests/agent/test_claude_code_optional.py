"""Without the claude-code extra the package still imports; only building the backend fails, clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
sys.modules["claude_agent_sdk"] = None  # as if the optional extra were not installed
from agent import claude_code
from core.errors import ConfigError
from core.settings import LLMSettings, RiskSettings
assert not claude_code.available()
try:
    claude_code.ClaudeCodeBackend(llm=LLMSettings(api_key="k"), risk=RiskSettings(), desk=None, journal=None)
except ConfigError as exc:
    print("refused:", exc)
"""


def test_module_imports_without_the_sdk() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "refused: the claude-code backend needs the optional extra" in done.stdout

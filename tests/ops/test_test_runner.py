"""``bin/test`` and CI's pytest calls say why each skipped test skipped (``-rs`` in the project's pytest
options, so every call of pytest in this project prints the reasons, whatever its own arguments)."""

import subprocess
import sys

from tests.support.processes import ROOT

SKIPPING = """
import pytest

def test_needs_a_tool():
    pytest.skip("the probe's tool is not installed here")
"""


def test_a_skipped_test_s_reason_is_printed(tmp_path):
    (tmp_path / "test_probe.py").write_text(SKIPPING)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path),
         "-p", "no:django", "-p", "no:randomly", "-p", "no:xdist", str(tmp_path / "test_probe.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SKIPPED" in result.stdout and "the probe's tool is not installed here" in result.stdout, result.stdout

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("copy", ["README.md", "docs/design.md"])
def test_the_documented_saga_table_is_the_one_the_code_declares(copy):
    table = subprocess.run(
        [sys.executable, "tools/saga_table.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    text = (ROOT / copy).read_text()
    block = text[text.index("<!-- saga-table:begin -->") : text.index("<!-- saga-table:end -->")]
    assert table in block, "run: .venv/bin/python tools/saga_table.py --write"

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_dependency_diagram_matches_the_code():
    diagram = subprocess.run(
        [sys.executable, "tools/context_graph.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert diagram in (ROOT / "README.md").read_text(), "run: .venv/bin/python tools/context_graph.py --write"

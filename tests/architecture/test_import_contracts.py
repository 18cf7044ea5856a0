"""Each import-linter contract bites: a violating module in a scratch copy makes lint-imports fail,
naming the contract that was broken."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / ".importlinter"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def scratch_tree(tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("commerce", "contexts"):
        shutil.copytree(ROOT / package, tree / package, ignore=ignore)
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


def test_the_real_tree_keeps_every_contract(scratch_tree):
    result = lint(scratch_tree)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "violation", "contract"),
    [
        (
            "contexts/catalogue/selectors.py",
            "from contexts.pricing import models",
            "A context imports only the api and events modules of another context BROKEN",
        ),
        (
            "contexts/pricing/services/__init__.py",
            "from contexts.catalogue import api",
            "Contexts depend on each other only down the DAG",
        ),
        ("commerce/health.py", "import contexts.inventory.api", "The kernel (commerce) imports no context BROKEN"),
        (
            "contexts/inventory/models.py",
            "from contexts.inventory import services",
            "Inside a context: interfaces above api, above services and selectors, above",
        ),
        ("contexts/orders/events.py", "from contexts.orders import models", "orders.events imports nothing of its own"),
        (
            "commerce/eventbus/delivery.py",
            "def _hidden():\n    from commerce.eventbus import dispatch",
            "The kernel in layers",
        ),
        ("commerce/eventbus/types.py", "from commerce.eventbus import subscriptions", "The kernel in layers"),
        ("commerce/errors.py", "from commerce.eventbus import publishing", "The kernel in layers"),
        (
            "contexts/notifications/handlers.py",
            "from contexts.orders import api",
            "notifications imports no other context's api",
        ),
        (
            "contexts/identity/services/personal_data.py",
            "from contexts.notifications import api",
            "Contexts depend on each other only down the DAG",
        ),
        (
            "contexts/notifications/services/messages.py",
            "from contexts.identity import models",
            "A context imports only the api and events modules of another context BROKEN",
        ),
    ],
    ids=[
        "public-interface",
        "context-dag",
        "kernel",
        "context-layers",
        "events-stand-alone",
        "kernel-layers-delivery-under-dispatch",
        "kernel-layers-types-at-the-bottom-of-the-bus",
        "kernel-layers-building-blocks-under-the-bus",
        "notifications-on-events-only",
        "identity-cannot-call-notifications",
        "notifications-public-interface",
    ],
)
def test_a_violation_breaks_its_contract(scratch_tree, module, violation, contract):
    path = scratch_tree / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{violation}  # deliberate violation\n")
        result = lint(scratch_tree)
    finally:
        path.write_text(original)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output
    assert contract in output
    assert "BROKEN" in output

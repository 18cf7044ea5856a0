"""The project describes itself (issue 14 point 7): the README links the API guide, and the guide lists
every error code the API can answer (that every link resolves: test_docs_links.py)."""

import importlib
import pkgutil
import re
from pathlib import Path

from django.conf import settings

from commerce.errors import _STATUS_CODES, DomainError

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "API.md"


def test_the_readme_links_the_api_guide():
    assert "](docs/API.md)" in (ROOT / "README.md").read_text()


def documented_codes() -> dict[str, str]:
    table = GUIDE.read_text().split("### Error codes", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = line.split("|")
            for code in re.findall(r"`([a-z_]+)`", cells[1]):
                rows[code] = cells[2]
    return rows


def error_classes() -> list[type[DomainError]]:
    # Every module of every context, so the answer does not depend on which tests ran before.
    for context in settings.BUSINESS_CONTEXTS:
        package = importlib.import_module(f"contexts.{context}")
        for module in pkgutil.walk_packages(package.__path__, prefix=f"contexts.{context}."):
            if ".migrations" not in module.name and ".tests" not in module.name:
                importlib.import_module(module.name)

    def walk(cls):
        for subclass in cls.__subclasses__():
            yield subclass
            yield from walk(subclass)

    # The context's base classes keep the placeholder code "error"; only their subclasses are raised.
    return [cls for cls in walk(DomainError) if cls.code != DomainError.code]


def test_every_error_code_the_api_answers_is_in_the_guide_with_its_status():
    documented = documented_codes()
    missing = []
    for cls in error_classes():
        row = documented.get(cls.code)
        if row is None or str(cls.http_status) not in row:
            missing.append(f"{cls.code} ({cls.http_status}, {cls.__module__}.{cls.__qualname__})")
    for status, code in _STATUS_CODES.items():
        if code not in documented or str(status) not in documented[code]:
            missing.append(f"{code} ({status}, commerce.errors)")
    assert not missing, (
        "docs/API.md's 'Error codes' table lacks these codes, or their HTTP status, "
        "(add a row | `code` | status | when |): " + "; ".join(sorted(set(missing)))
    )

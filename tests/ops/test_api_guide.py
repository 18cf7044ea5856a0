"""The project describes itself (issue 14 point 7): the README links the API guide, and the guide lists
every error code the API can answer (that every link resolves: test_docs_links.py)."""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest
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
    # Errors a test declares for its own endpoint (tests.*) are not the shop's.
    return [
        cls for cls in walk(DomainError) if cls.code != DomainError.code and not cls.__module__.startswith("tests.")
    ]


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


def test_every_code_the_kernel_gives_drf_s_own_errors_is_in_the_guide():
    """DRF raises its own exceptions (a malformed JSON body, a missing token, a method not served);
    the kernel's handler answers each with a code the guide lists, with its status: ``parse_error``, DRF's
    name for a body it cannot read, is the guide's ``bad_request``."""
    from rest_framework import exceptions as drf
    from rest_framework.test import APIRequestFactory

    from commerce.errors import api_exception_handler

    documented = documented_codes()
    raised = [
        drf.ParseError(),
        drf.NotAuthenticated(),
        drf.PermissionDenied(),
        drf.NotFound(),
        drf.MethodNotAllowed("PUT"),
        drf.NotAcceptable(),
        drf.UnsupportedMediaType("text/plain"),
        drf.Throttled(wait=3),
        drf.ValidationError({"email": ["This field is required."]}),
    ]
    context = {"request": APIRequestFactory().get("/api/v1/products"), "view": None}
    answered = {}
    for exc in raised:
        response = api_exception_handler(exc, context)
        answered[type(exc).__name__] = (response.data["code"], response.status_code)
    missing = {name: answer for name, answer in answered.items() if str(answer[1]) not in documented.get(answer[0], "")}
    assert not missing, f"codes docs/API.md does not list with that status: {missing}"
    assert answered["ParseError"] == ("bad_request", 400)


def _demo_section() -> str:
    return GUIDE.read_text().split("## The demo shop", 1)[1].split("\n## ", 1)[0]


def test_the_guide_states_the_currency_parameter_with_the_shop_s_currencies():
    section = _demo_section()
    assert "`?currency=`" in GUIDE.read_text()
    assert all(f"`{currency}`" in section for currency in settings.SHOP_CURRENCIES), "the default currencies"


@pytest.mark.django_db
def test_the_demo_the_guide_describes_is_the_one_seed_demo_creates():
    """The voucher, the promotion and the countries a reader of docs/API.md tries are what ``seed_demo`` made."""
    import io
    from decimal import Decimal

    from django.core.management import call_command

    from contexts.pricing import api as pricing_api

    call_command("seed_demo", stdout=io.StringIO(), stderr=io.StringIO())
    section = _demo_section()

    (voucher_code, percent, min_spend) = re.search(
        r"\*\*Voucher\*\* `([A-Z0-9]+)`: (\d+) % off .*?from ([\d.]+) EUR", section, re.S
    ).groups()
    voucher = pricing_api.get_voucher(code=voucher_code)
    assert (voucher.kind, voucher.value, voucher.min_spend) == ("percentage", Decimal(percent), Decimal(min_spend))

    (promotion_name, promotion_percent) = re.search(r"\*\*Promotion\*\* \*([^*]+?(\d+) % off)\*", section).groups()
    (promotion,) = pricing_api.find_promotions(name=promotion_name, active_only=True)
    assert (promotion.kind, promotion.value) == ("percentage", Decimal(promotion_percent))

    documented = set(re.findall(r"`([A-Z]{2})`", section.split("**Shipping**", 1)[1].split("\n- ", 1)[0]))
    served = {
        country
        for country in ("DE", "AT", "FR", "NL", "PL", "IT", "ES", "BE", "GB", "US", "CH", "DK", "SE")
        if pricing_api.shipping_methods(country=country, currency="EUR", subtotal=Decimal("10"))
    }
    assert documented == served, (documented, served)

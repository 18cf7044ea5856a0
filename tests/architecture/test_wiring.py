"""What one context lends another is wired in one declared place (``contexts/wiring.py``), and each
context's ``ready()`` registers its event subscriptions and nothing else (STYLE.md)."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def calls_to(name: str) -> list[str]:
    """The files under contexts/ that call a function named ``name`` (as ``x.name(...)`` or ``name(...)``)."""
    found = []
    for path in sorted((ROOT / "contexts").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append(str(path.relative_to(ROOT)))
    return found


def test_identitys_address_book_is_lent_to_orders_in_the_wiring_module_only():
    # orders.api passes it on to its services: the one call from outside orders is the wiring's
    outside = [path for path in calls_to("register_address_book") if not path.startswith("contexts/orders/")]
    assert outside == ["contexts/wiring.py"]
    apps = list(settings.INSTALLED_APPS)
    contexts = [apps.index(f"contexts.{name}") for name in settings.BUSINESS_CONTEXTS]
    assert apps.index("contexts.wiring.WiringConfig") > max(contexts), "the wiring runs once every context is ready"


def test_notifications_lend_identity_the_customers_messages_in_the_wiring_module_only():
    # notifications sits above identity (it listens to identity's events): identity cannot call it
    outside = [path for path in calls_to("register_message_history") if not path.startswith("contexts/identity/")]
    assert outside == ["contexts/wiring.py"]


@pytest.mark.parametrize("context", settings.BUSINESS_CONTEXTS)
def test_a_contexts_ready_imports_its_handlers_and_nothing_else(context):
    tree = ast.parse((ROOT / "contexts" / context / "apps.py").read_text())
    (ready,) = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == "ready"]
    body = [node for node in ready.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert len(body) == 1 and isinstance(body[0], ast.ImportFrom), ast.unparse(ready)
    assert body[0].module == f"contexts.{context}" and [alias.name for alias in body[0].names] == ["handlers"]


@pytest.mark.django_db
def test_checkout_resolves_a_saved_address_through_identity_once_started():
    from contexts.identity.models import Address
    from contexts.orders.services import _checkout
    from tests.identity.factories import CustomerFactory

    customer = CustomerFactory()
    saved = Address.objects.create(
        user=customer, full_name="Ann Lee", line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE"
    )

    (book,) = _checkout._address_book
    found = book(customer.pk, saved.pk)

    assert (found.full_name, found.city, found.country) == ("Ann Lee", "Berlin", "DE")
    assert book(customer.pk + 1, saved.pk) is None  # another customer's address is no address


def test_the_wiring_imports_only_the_contexts_published_apis():
    tree = ast.parse((ROOT / "contexts" / "wiring.py").read_text())
    imported = {
        f"{node.module}.{alias.name}" if node.module.startswith("contexts") else node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported - {"django.apps"} == {
        "contexts.identity.api",
        "contexts.notifications.api",
        "contexts.orders.api",
    }

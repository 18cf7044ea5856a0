"""The checkout's query budget (issue 24): what one checkout costs the customer, in SQL statements across
every database, is fixed and small, whatever the number of lines, in every dispatch mode.

Counted on every context's connection (``CaptureQueriesContext``), only before the response is sent: the
event handlers (the confirmation mail, the catalogue's listing refresh) run after it, in every mode
(``commerce.eventbus.after_response``; in celery mode, in the worker), and are not the customer's wait.
Two figures: the statements executed (what django-prometheus's ``django_db_execute_total`` counts, and so
``bin/bench``'s queries per request: the unit of the issue's "72 queries per checkout"), and every round
trip, ``BEGIN`` and ``COMMIT`` included (five short transactions: the order's creation, the reservation, its
commit, the confirmation, and none other). docs/benchmarks.md lists the statements one by one.
"""

import time
import uuid

import pytest
from django.db import connections

from commerce.database import database_for
from contexts.notifications.models import Message
from tests.eventbus.response import statements_around_the_response
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout
from tests.support.shop import make_product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.bus]

# A guest's checkout (the storefront's common case), statements executed: the bound.
EXECUTED = 30
# SQLite has no data-modifying WITH: the cart's claim and close, the reservation and its commit are one
# statement more each there (the embedded default, for development; the shop runs on PostgreSQL).
SQLITE_EXTRA = 4
# Five transactions, each a BEGIN and a COMMIT.
TRANSACTION_CONTROL_BUDGET = 10
# A signed-in customer's adds the erasure guard (issue 22): the customer's row is locked while the order is
# created, and checked again before money moves.
SIGNED_IN_EXTRA = 3

TRANSACTION_CONTROL = frozenset({"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"})  # as Django logs them


def executed_budget(extra: int = 0) -> int:
    sqlite = connections[database_for("orders")].vendor == "sqlite"
    return EXECUTED + extra + (SQLITE_EXTRA if sqlite else 0)


def _count(captured: dict[str, list]) -> int:
    return sum(len(statements) for statements in captured.values())


def _executed(captured: dict[str, list]) -> int:
    return sum(1 for statements in captured.values() for sql in statements if sql not in TRANSACTION_CONTROL)


def _listing(captured: dict[str, list]) -> str:
    return "\n".join(f"{alias}: {sql[:160]}" for alias, statements in captured.items() for sql in statements)


SKUS = [f"BUDGET-{index}" for index in range(6)]


@pytest.fixture
def budget_shop(settle_events):
    build_shop()
    for sku in SKUS:
        make_product(sku.lower(), sku.title(), {sku: ("One", "5.00", 50)})
    # one checkout first: what a running shop has cached (shipping zones, tax rates) is cached here too
    assert post_checkout(_client(), checkout_body(new_cart({"MUG": 1}))).status_code == 201
    settle_events()
    return settle_events


def _client():
    from rest_framework.test import APIClient

    return APIClient()


def _checkout(client, cart_id, **body) -> tuple[object, dict[str, list]]:
    with statements_around_the_response() as split:
        response = post_checkout(client, checkout_body(cart_id, **body), key=uuid.uuid4().hex)
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "confirmed"
    return response, split.in_request


def test_a_guest_checkout_costs_a_fixed_budget_whatever_its_lines_and_the_mail_goes_after_the_answer(budget_shop):
    one, one_line = _checkout(_client(), new_cart({SKUS[0]: 1}))
    five, five_lines = _checkout(_client(), new_cart(dict.fromkeys(SKUS[1:], 2)))

    assert len(five.json()["lines"]) == 5
    for captured in (one_line, five_lines):
        assert _executed(captured) <= executed_budget(), _listing(captured)
        assert _count(captured) <= executed_budget() + TRANSACTION_CONTROL_BUDGET, _listing(captured)
        assert not any("notifications_" in sql for statements in captured.values() for sql in statements), (
            "the confirmation mail was prepared inside the customer's request"
        )
    assert _count(five_lines) == _count(one_line), "the budget grows with the number of lines"

    budget_shop()  # the handlers ran after the answer (in celery mode: in the worker)
    for response in (one, five):
        confirmation = Message.objects.filter(order_id=response.json()["id"], kind="order_confirmation")
        deadline = time.monotonic() + 30
        while not confirmation.filter(status="sent").exists():  # the sender may still be at it (celery mode)
            assert time.monotonic() < deadline, list(confirmation.values("status", "last_error"))
            time.sleep(0.05)
        assert list(confirmation.values_list("recipient", flat=True)) == ["guest@example.com"]


def test_a_signed_in_checkout_costs_a_fixed_budget_whatever_its_lines(budget_shop, customer):
    from rest_framework_simplejwt.tokens import RefreshToken

    client = _client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(customer).access_token}")
    spent = []
    for lines in ({SKUS[0]: 1}, dict.fromkeys(SKUS[1:], 1)):
        _, captured = _checkout(client, new_cart(lines, customer_id=customer.pk), email=None)
        assert _executed(captured) <= executed_budget(SIGNED_IN_EXTRA), _listing(captured)
        assert _count(captured) <= executed_budget(SIGNED_IN_EXTRA) + TRANSACTION_CONTROL_BUDGET, _listing(captured)
        spent.append(_count(captured))
    assert spent[0] == spent[1], "the budget grows with the number of lines"

"""The checkout's query budget (issue 24): what one checkout costs the customer, in SQL statements across
every database, is fixed and small, whatever the number of lines, in every dispatch mode.

Counted as Django counts them (``CaptureQueriesContext`` on every context's connection): every statement,
``BEGIN``/``COMMIT``/``SAVEPOINT`` included, each a round trip to a database. Only what runs before the
response is handed to the server is the customer's wait: the event handlers (the confirmation mail, the
catalogue's listing refresh) run after it, in every mode, and are not counted here. The statements behind
each figure are listed in docs/performance.md.
"""

import time
import uuid

import pytest

from contexts.notifications.models import Message
from tests.eventbus.response import statements_around_the_response
from tests.support.checkout import build_shop, checkout_body, new_cart, post_checkout
from tests.support.shop import make_product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.bus]

# The guest checkout of the storefront: every statement, BEGIN and COMMIT included.
GUEST_BUDGET = 30
# A signed-in customer's adds the erasure guard (issue 22): the customer's row is locked while the order is
# created, and checked again before money moves.
CUSTOMER_BUDGET = GUEST_BUDGET + 3


TRANSACTION_CONTROL = frozenset({"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"})  # as Django logs them


def _count(captured: dict[str, list]) -> int:
    return sum(len(statements) for statements in captured.values())


def _executed(captured: dict[str, list]) -> int:
    """The statements executed, transaction control (BEGIN, COMMIT) aside: what django-prometheus's
    ``django_db_execute_total`` counts, and so ``bin/bench``'s queries per request."""
    return sum(1 for statements in captured.values() for sql in statements if sql not in TRANSACTION_CONTROL)


def _listing(captured: dict[str, list]) -> str:
    return "\n".join(f"{alias}: {sql[:160]}" for alias, statements in captured.items() for sql in statements)


@pytest.fixture
def budget_shop(settle_events):
    build_shop()
    for index in range(5):
        make_product(f"budget-{index}", f"Budget {index}", {f"BUDGET-{index}": ("One", "5.00", 50)})
    # one checkout first: what a running shop has cached (shipping zones, tax rates) is cached here too
    assert post_checkout(_client(), checkout_body(new_cart({"MUG": 1}))).status_code == 201
    settle_events()
    return settle_events


def _client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.mark.parametrize("skus", [["MUG"], [f"BUDGET-{index}" for index in range(5)]], ids=["one line", "five lines"])
def test_a_guest_checkout_costs_a_fixed_budget_and_the_mail_goes_after_the_answer(budget_shop, monkeypatch, skus):
    cart_id = new_cart(dict.fromkeys(skus, 1))

    with statements_around_the_response() as split:
        response = post_checkout(_client(), checkout_body(cart_id), key=uuid.uuid4().hex)
    captured = split.in_request

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "confirmed" and len(response.json()["lines"]) == len(skus)
    print(f"BUDGET guest {len(skus)} lines: {_executed(captured)} executed, {_count(captured)} with BEGIN/COMMIT")
    print(_listing(captured))
    assert _count(captured) <= GUEST_BUDGET, _listing(captured)
    assert not any("notifications_" in sql for statements in captured.values() for sql in statements), (
        "the confirmation mail was prepared inside the customer's request"
    )
    budget_shop()  # the handlers ran after the answer (in celery mode: in the worker)
    confirmation = Message.objects.filter(order_id=response.json()["id"], kind="order_confirmation")
    deadline = time.monotonic() + 30
    while not confirmation.filter(status="sent").exists():  # the sender may still be at it (celery mode)
        assert time.monotonic() < deadline, list(confirmation.values("status", "last_error"))
        time.sleep(0.05)
    assert list(confirmation.values_list("recipient", flat=True)) == ["guest@example.com"]


def test_a_signed_in_checkout_costs_a_fixed_budget(budget_shop, monkeypatch, customer):
    from rest_framework_simplejwt.tokens import RefreshToken

    client = _client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(customer).access_token}")
    budgets = []
    for skus in (["MUG"], [f"BUDGET-{index}" for index in range(5)]):
        cart_id = new_cart(dict.fromkeys(skus, 1), customer_id=customer.pk)
        with statements_around_the_response() as split:
            response = post_checkout(client, checkout_body(cart_id, email=None), key=uuid.uuid4().hex)
        captured = split.in_request
        assert response.status_code == 201, response.json()
        budgets.append(_count(captured))
        print(f"BUDGET customer {len(skus)} lines: {_executed(captured)} executed, {_count(captured)} with BEGIN/COMMIT")
        assert _count(captured) <= CUSTOMER_BUDGET, _listing(captured)
    assert budgets[0] == budgets[1], "the budget grows with the number of lines"

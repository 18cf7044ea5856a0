"""The saga's log is written once, at its end (issue 24): what a run left unwritten when it died must not
change how its saga is healed. A confirmed order stays confirmed with its money whatever happened to it
since; a runner never goes on past its lease; the answer built from memory is the order as read.
(Found by the issue's fresh-eyes review.)"""

import pytest

from contexts.orders import api as orders_api
from contexts.orders.models import CheckoutSaga, GatewayCharge, Order
from contexts.orders.services import _saga, money_position, recover_stuck_checkouts
from tests.support.checkout import checkout_body, expire_lease, new_cart, post_checkout, voucher_uses

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    pass


def crash_after(monkeypatch, step):
    def checkpoint(order_id, name):
        if name == step:
            raise Crash(name)

    monkeypatch.setattr(_saga, "checkpoint", checkpoint)


def test_a_crash_between_confirm_and_the_sagas_end_then_a_cancel_is_not_compensated(api_client, shop, monkeypatch):
    """The process dies after confirm_order committed, before the saga's end (log + state) is written.
    The customer cancels the confirmed order (refunded in full). Healing must not treat it as a
    checkout that never got its money (old code: the per-step log said confirm_order: forward)."""
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))
    crash_after(monkeypatch, "confirm_order")
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    order = Order.objects.get()
    assert order.status == "confirmed"
    orders_api.cancel_order(order_id=order.pk)
    expire_lease(order.pk)

    recover_stuck_checkouts()  # logs and swallows what a heal raises

    order.refresh_from_db()
    saga = CheckoutSaga.objects.get(pk=order.pk)
    charge = GatewayCharge.objects.get()
    assert order.status == "cancelled"
    assert charge.refunded == charge.captured
    assert voucher_uses() == 0
    assert money_position().differences == ()
    assert saga.state in ("running", "completed"), (saga.state, saga.position, saga.failure_code)


def test_a_partial_refund_of_a_confirmed_order_left_by_a_crash_is_not_turned_into_a_full_one(
    api_client, shop, monkeypatch
):
    """Same window; the confirmed order gets a partial refund (a return, a goodwill refund) before the
    saga is healed: healing must leave the order confirmed with its money, not refund the rest."""
    from decimal import Decimal

    from contexts.orders.services import gateway as gateways

    cart_id = new_cart({"TEE-M": 2})
    crash_after(monkeypatch, "confirm_order")
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    order = Order.objects.get()
    charge = GatewayCharge.objects.get()
    gateways.gateway().refund(idempotency_key="goodwill", charge_id=charge.id, amount=Decimal("1.00"))
    expire_lease(order.pk)

    recover_stuck_checkouts()

    order.refresh_from_db()
    charge.refresh_from_db()
    from tests.support.checkout import available

    problems = {
        "order": order.status,
        "refunded": str(charge.refunded),  # 1.00 expected: the goodwill refund only
        "available": available("TEE-M"),  # 8 expected: the confirmed order's 2 stay allocated
        "saga": CheckoutSaga.objects.get(pk=order.pk).state,
    }
    assert problems == {"order": "confirmed", "refunded": "1.00", "available": 8, "saga": "completed"}


def test_the_answer_built_from_memory_is_the_order_as_read(customer_client, shop):
    from contexts.orders import api as orders_api
    from contexts.orders.rest import serializers as s

    body = checkout_body(new_cart({"TEE-M": 2}, vouchers=("WELCOME10",)))
    response = post_checkout(customer_client, body)
    assert response.status_code == 201, response.json()
    answered = response.json()
    read = s.OrderOutput(orders_api.get_order(order_id=answered["id"])).data
    import json

    assert json.loads(json.dumps(read, default=str)) == answered


def test_a_heal_whose_gateway_lookup_was_slow_runs_on_after_its_lease_ran_out(api_client, shop, monkeypatch, settings):
    """heal() takes the lease, then asks the gateway (find_charge): the lease is counted from when it was
    written, so a slow lookup makes the runner renew (or stop) before its next step, never go on while
    another runner may already have taken the saga over."""
    import time

    from contexts.orders.services import gateway as gateways

    settings.ORDERS_SAGA_LEASE_SECONDS = 2
    crash_after(monkeypatch, "capture_payment")
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(new_cart({"MUG": 1})))
    monkeypatch.undo()
    order = Order.objects.get()
    expire_lease(order.pk)

    real = gateways.TestGateway.find_charge

    def slow(self, **kwargs):
        time.sleep(2.2)  # the provider answers slowly (under its own timeout)
        return real(self, **kwargs)

    monkeypatch.setattr(gateways.TestGateway, "find_charge", slow)
    taken_over = []

    def checkpoint(order_id, name):
        if name == "commit_reservation":  # the first step after the lookup, run without renewing
            taken_over.append(_saga.claim_lease(order_id, "another-runner"))

    monkeypatch.setattr(_saga, "checkpoint", checkpoint)
    ran = _saga.heal(order.pk, holder="first-runner")
    assert taken_over == [False] or not ran, (taken_over, ran)  # two runners at once otherwise

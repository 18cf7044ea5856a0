"""A process that dies after any step of the saga loses nothing: the recovery job (or the retried
request) ends every such checkout confirmed with its money, or failed with none."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from contexts.orders.models import GatewayCharge, Order
from contexts.orders.services import _saga, money_position, recover_stuck_checkouts
from tests.checkout.conftest import (
    assert_left_nothing_behind,
    available,
    checkout_body,
    expire_lease,
    gateway_net,
    new_cart,
    post_checkout,
    voucher_uses,
)

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """The process dies here: nothing below this point runs, no except clause of the app catches it."""


def crash_after(monkeypatch, step: str) -> None:
    def checkpoint(order_id, name):
        if name == step:
            raise Crash(step)

    monkeypatch.setattr(_saga, "checkpoint", checkpoint)


BEFORE_MONEY = ["create_order", "reserve_stock", "redeem_voucher", "authorize_payment"]
AFTER_MONEY = ["capture_payment", "commit_reservation", "close_cart"]


@pytest.mark.parametrize("step", BEFORE_MONEY)
def test_a_crash_before_the_money_was_taken_is_compensated_by_the_recovery_job(api_client, shop, monkeypatch, step):
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))
    crash_after(monkeypatch, step)
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    order = Order.objects.get()
    assert order.status == "pending"
    assert recover_stuck_checkouts() == 0  # its runner's lease and the timeout are not over yet

    expire_lease(order.pk)
    assert recover_stuck_checkouts() == 1

    assert_left_nothing_behind(order.pk, stock={"TEE-M": 10})
    assert money_position().differences == ()


@pytest.mark.parametrize("step", AFTER_MONEY)
def test_a_crash_after_the_money_was_taken_is_finished_by_the_recovery_job(api_client, shop, monkeypatch, step):
    cart_id = new_cart({"TEE-M": 2}, vouchers=("WELCOME10",))
    crash_after(monkeypatch, step)
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    order = Order.objects.get()
    expire_lease(order.pk)

    call_command("recover_checkouts")

    order.refresh_from_db()
    assert order.status == "confirmed" and order.saga.state == "completed"
    assert available("TEE-M") == 8 and voucher_uses() == 1
    assert gateway_net() == order.total and GatewayCharge.objects.get().captured == order.total
    assert money_position().differences == ()


def test_a_crash_after_capture_with_an_expired_reservation_ends_refunded(api_client, shop, monkeypatch):
    from contexts.inventory.models import Reservation

    cart_id = new_cart({"TEE-M": 2})
    crash_after(monkeypatch, "capture_payment")
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    order = Order.objects.get()
    from contexts.inventory import services as inventory_services

    Reservation.objects.update(expires_at=order.created_at)
    inventory_services.expire_reservations()  # the stock went back on sale meanwhile
    expire_lease(order.pk)

    recover_stuck_checkouts()

    assert_left_nothing_behind(order.pk, stock={"TEE-M": 10})
    charge = GatewayCharge.objects.get()
    assert charge.captured == order.total and charge.refunded == order.total


def test_the_retried_request_heals_its_own_checkout_and_answers_with_the_order(api_client, shop, monkeypatch):
    body = checkout_body(new_cart({"MUG": 1}))
    crash_after(monkeypatch, "capture_payment")
    with pytest.raises(Crash):
        post_checkout(api_client, body, key="retry-me")
    monkeypatch.undo()
    expire_lease(Order.objects.get().pk)

    retried = post_checkout(api_client, body, key="retry-me")

    assert retried.status_code == 201, retried.json()
    assert retried.json()["status"] == "confirmed"
    assert Order.objects.count() == 1 and GatewayCharge.objects.count() == 1
    assert gateway_net() == Decimal(retried.json()["total"]["amount"])


def test_a_timeout_whose_money_never_arrived_fails_cleanly(api_client, shop, monkeypatch):
    from contexts.orders.services import gateway as gateways

    def lost(self, *, charge_id, amount):  # the provider never got the capture
        raise gateways.GatewayTimeout("no answer")

    monkeypatch.setattr(gateways.TestGateway, "capture", lost)
    response = post_checkout(api_client, checkout_body(new_cart({"MUG": 1})))
    assert response.status_code == 502 and response.json()["code"] == "payment_error"
    order = Order.objects.get()
    assert order.payment.status == "voided"
    assert_left_nothing_behind(order.pk, stock={"MUG": 100})


def test_a_crash_while_compensating_a_declined_card_heals_to_the_declined_answer_not_a_generic_one(
    api_client, shop, monkeypatch
):
    from contexts.pricing import api as pricing_api

    body = checkout_body(new_cart({"TEE-M": 2}, vouchers=("WELCOME10",)), token="tok_declined")

    def crash(**kwargs):
        raise Crash("giving the voucher back")

    monkeypatch.setattr(pricing_api, "unredeem_voucher", crash)
    with pytest.raises(Crash):
        post_checkout(api_client, body, key="declined-then-crash")
    monkeypatch.undo()
    order = Order.objects.get()
    expire_lease(order.pk)

    assert recover_stuck_checkouts() == 1

    assert_left_nothing_behind(order.pk, stock={"TEE-M": 10})
    order.refresh_from_db()
    assert order.history.last().note == "payment_declined"
    retried = post_checkout(api_client, body, key="declined-then-crash")
    assert retried.status_code == 402, retried.json()
    assert retried.json()["code"] == "payment_declined" and retried.json()["order_id"] == str(order.pk)

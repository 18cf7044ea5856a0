"""A process that dies after any step of the saga loses nothing: the recovery job (or the retried
request) ends every such checkout confirmed with its money, or failed with none."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from contexts.orders.models import GatewayCharge, Order
from contexts.orders.services import _saga, money_position, recover_stuck_checkouts
from tests.support.checkout import (
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


BEFORE_MONEY = ["create_order", "claim_cart", "reserve_stock", "redeem_voucher", "authorize_payment"]
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


def test_while_a_checkout_runs_its_cart_refuses_edits_and_a_second_checkout_and_is_usable_again_when_it_fails(
    api_client, customer_client, shop, monkeypatch
):
    cart_id = new_cart({"TEE-M": 2})
    line_id = api_client.get(f"/api/v1/carts/{cart_id}").json()["lines"][0]["id"]
    crash_after(monkeypatch, "reserve_stock")  # the first checkout is still running: its process died here
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    running = Order.objects.get()
    cart = f"/api/v1/carts/{cart_id}"

    edits = [
        api_client.post(f"{cart}/lines", {"sku": "MUG", "quantity": 1}, format="json"),
        api_client.patch(f"{cart}/lines/{line_id}", {"quantity": 5}, format="json"),
        api_client.delete(f"{cart}/lines/{line_id}"),
        api_client.post(f"{cart}/vouchers", {"code": "WELCOME10"}, format="json"),
        api_client.patch(cart, {"country": "FR", "shipping_method": "standard"}, format="json"),
        customer_client.post(f"{cart}/assign"),
        post_checkout(api_client, checkout_body(cart_id)),  # another request, another key
    ]

    assert [(r.status_code, r.json()["code"]) for r in edits] == [(409, "checkout_in_progress")] * len(edits)
    assert [(line["sku"], line["quantity"]) for line in api_client.get(cart).json()["lines"]] == [("TEE-M", 2)]
    assert available("TEE-M") == 8 and available("MUG") == 100  # only the first checkout's reservation
    assert GatewayCharge.objects.count() == 0

    expire_lease(running.pk)
    assert recover_stuck_checkouts() == 1
    assert_left_nothing_behind(running.pk, stock={"TEE-M": 10})
    added = api_client.post(f"{cart}/lines", {"sku": "MUG", "quantity": 1}, format="json")
    assert added.status_code == 201, added.json()
    placed = post_checkout(api_client, checkout_body(cart_id))
    assert placed.status_code == 201, placed.json()
    assert [(line["sku"], line["quantity"]) for line in placed.json()["lines"]] == [("TEE-M", 2), ("MUG", 1)]


def test_a_checkout_refused_while_another_runs_can_be_retried_with_its_key_once_that_one_ends(
    api_client, shop, monkeypatch
):
    """``checkout_in_progress`` is an answer for now, not for the key's 24 hours: the same request with the
    same key buys the cart once the running checkout has ended (docs/API.md: "retry when it has ended")."""
    cart_id = new_cart({"TEE-M": 2})
    crash_after(monkeypatch, "reserve_stock")
    with pytest.raises(Crash):
        post_checkout(api_client, checkout_body(cart_id))
    monkeypatch.undo()
    running = Order.objects.get()

    refused = post_checkout(api_client, checkout_body(cart_id), key="second-click")
    assert (refused.status_code, refused.json()["code"]) == (409, "checkout_in_progress")
    assert refused.has_header("Retry-After")

    expire_lease(running.pk)
    assert recover_stuck_checkouts() == 1
    retried = post_checkout(api_client, checkout_body(cart_id), key="second-click")
    assert retried.status_code == 201, retried.json()
    assert retried.json()["status"] == "confirmed" and not retried.has_header("Idempotent-Replayed")

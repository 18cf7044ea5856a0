"""The built-in test gateway: API.md's tokens, its own record, one capture per charge, refunds once per key."""

from decimal import Decimal

import pytest

from contexts.orders.models import GatewayCharge
from contexts.orders.services import gateway as gateways

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway():
    return gateways.TestGateway()


def test_the_configured_adapter_is_loaded_by_its_dotted_path(settings):
    settings.ORDERS_PAYMENT_GATEWAY = "contexts.orders.services.gateway.TestGateway"
    assert isinstance(gateways.gateway(), gateways.TestGateway)


def test_tok_ok_is_authorized_then_captured_once_however_often_capture_is_repeated(gateway):
    charge = gateway.authorize(idempotency_key="k1", token="tok_ok", amount=Decimal("10.00"), currency="EUR")
    assert charge.status == "authorized" and charge.captured == 0
    for _ in range(3):
        captured = gateway.capture(charge_id=charge.id, amount=Decimal("10.00"))
    assert captured.captured == Decimal("10.00")
    assert GatewayCharge.objects.get().captured == Decimal("10.00")


def test_authorizing_again_with_the_same_key_returns_the_first_charge(gateway):
    first = gateway.authorize(idempotency_key="k1", token="tok_ok", amount=Decimal("10.00"), currency="EUR")
    again = gateway.authorize(idempotency_key="k1", token="tok_ok", amount=Decimal("10.00"), currency="EUR")
    assert first.id == again.id and GatewayCharge.objects.count() == 1


def test_tok_declined_is_declined_every_time_and_takes_nothing(gateway):
    for _ in range(2):
        with pytest.raises(gateways.GatewayDeclined):
            gateway.authorize(idempotency_key="k2", token="tok_declined", amount=Decimal("10.00"), currency="EUR")
    assert gateway.find_charge(idempotency_key="k2").captured == 0


def test_tok_error_fails_before_any_money_is_taken(gateway):
    with pytest.raises(gateways.GatewayUnavailable):
        gateway.authorize(idempotency_key="k3", token="tok_error", amount=Decimal("10.00"), currency="EUR")
    assert gateway.find_charge(idempotency_key="k3") is None


def test_tok_timeout_takes_the_money_loses_the_answer_and_the_key_finds_the_truth(gateway):
    charge = gateway.authorize(idempotency_key="k4", token="tok_timeout", amount=Decimal("10.00"), currency="EUR")
    with pytest.raises(gateways.GatewayTimeout):
        gateway.capture(charge_id=charge.id, amount=Decimal("10.00"))
    found = gateway.find_charge(idempotency_key="k4")
    assert found.status == "captured" and found.captured == Decimal("10.00")


def test_a_refund_is_applied_once_per_key_and_never_above_what_is_left(gateway):
    charge = gateway.authorize(idempotency_key="k5", token="tok_ok", amount=Decimal("10.00"), currency="EUR")
    gateway.capture(charge_id=charge.id, amount=Decimal("10.00"))
    gateway.refund(idempotency_key="r1", charge_id=charge.id, amount=Decimal("4.00"))
    gateway.refund(idempotency_key="r1", charge_id=charge.id, amount=Decimal("4.00"))
    assert gateway.find_charge(idempotency_key="k5").refunded == Decimal("4.00")
    with pytest.raises(gateways.GatewayRefused):
        gateway.refund(idempotency_key="r2", charge_id=charge.id, amount=Decimal("6.01"))
    assert gateway.find_charge(idempotency_key="k5").refunded == Decimal("4.00")


def test_a_hold_is_voided_but_a_capture_must_be_refunded(gateway):
    held = gateway.authorize(idempotency_key="k6", token="tok_ok", amount=Decimal("5.00"), currency="EUR")
    assert gateway.void(charge_id=held.id).status == "voided"
    taken = gateway.authorize(idempotency_key="k7", token="tok_ok", amount=Decimal("5.00"), currency="EUR")
    gateway.capture(charge_id=taken.id, amount=Decimal("5.00"))
    with pytest.raises(gateways.GatewayRefused):
        gateway.void(charge_id=taken.id)

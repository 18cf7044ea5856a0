from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.utils import timezone

from contexts.pricing import api as pricing_api
from contexts.pricing.models import Voucher, VoucherRedemption
from tests.pricing.factories import voucher

pytestmark = pytest.mark.django_db
D = Decimal


def redeem(code="ONCE", order_id=None, customer_id=None, amount="1.00"):
    return pricing_api.redeem_voucher(
        code=code, order_id=order_id or uuid4(), customer_id=customer_id, amount=D(amount), currency="EUR"
    )


def test_redeeming_uses_the_voucher_and_publishes(published):
    voucher("ONCE", usage_limit=1)
    order = uuid4()
    redemption = redeem("once", order, customer_id=3)
    assert (redemption.code, redemption.order_id, redemption.customer_id) == ("ONCE", order, 3)
    assert Voucher.objects.get().times_used == 1
    event = published("pricing.VoucherRedeemed")[0]
    assert (event["code"], event["order_id"], event["amount"]) == ("ONCE", str(order), "1.00")


def test_redeeming_twice_for_the_same_order_uses_it_once(published):
    voucher("ONCE", usage_limit=1)
    order = uuid4()
    first = redeem(order_id=order)
    assert redeem(order_id=order) == first
    assert Voucher.objects.get().times_used == 1
    assert len(published("pricing.VoucherRedeemed")) == 1


def test_a_used_up_voucher_is_refused_as_exhausted():
    voucher("ONCE", usage_limit=1)
    redeem()
    with pytest.raises(pricing_api.VoucherInvalid) as caught:
        redeem()
    assert caught.value.reason == "exhausted"


def test_the_per_customer_limit_binds_each_customer_separately():
    voucher("ONCE", per_customer_limit=1)
    redeem(customer_id=1)
    with pytest.raises(pricing_api.VoucherInvalid) as caught:
        redeem(customer_id=1)
    assert caught.value.reason == "exhausted"
    redeem(customer_id=2)


@pytest.mark.parametrize(
    ("terms", "reason"),
    [
        (
            {"ends_at": timezone.now() - timedelta(seconds=1), "starts_at": timezone.now() - timedelta(days=1)},
            "expired",
        ),
        ({"is_active": False}, "expired"),
        ({"starts_at": timezone.now() + timedelta(days=1)}, "not_applicable"),
        ({"kind": "fixed", "value": D("5"), "currency": "USD"}, "not_applicable"),
    ],
)
def test_redeeming_refuses_a_voucher_that_is_not_valid_now(terms, reason):
    voucher("ONCE", **terms)
    with pytest.raises(pricing_api.VoucherInvalid) as caught:
        redeem()
    assert caught.value.reason == reason
    assert not VoucherRedemption.objects.exists()


def test_an_unknown_code_is_refused_as_unknown():
    with pytest.raises(pricing_api.VoucherInvalid) as caught:
        redeem("NOPE")
    assert caught.value.reason == "unknown"


def test_one_order_holds_at_most_one_voucher():
    voucher("ONE")
    voucher("TWO")
    order = uuid4()
    redeem("ONE", order)
    with pytest.raises(pricing_api.VoucherInvalid) as caught:
        redeem("TWO", order)
    assert caught.value.reason == "not_applicable"


def test_unredeeming_gives_the_use_back_once(published):
    voucher("ONCE", usage_limit=1)
    order = uuid4()
    redeem(order_id=order)
    pricing_api.unredeem_voucher(order_id=order)
    pricing_api.unredeem_voucher(order_id=order)
    assert Voucher.objects.get().times_used == 0
    assert len(published("pricing.VoucherReleased")) == 1
    redeem()  # another order can now take it


def test_a_compensated_order_can_redeem_again():
    voucher("ONCE", usage_limit=1)
    order = uuid4()
    redeem(order_id=order)
    pricing_api.unredeem_voucher(order_id=order)
    redeem(order_id=order)
    assert Voucher.objects.get().times_used == 1


def test_a_negative_amount_is_refused():
    voucher("ONCE")
    with pytest.raises(pricing_api.InvalidPrice):
        redeem(amount="-1")


@pytest.mark.parametrize(
    "terms",
    [
        {"value": D("101")},
        {"value": D("0")},
        {"kind": "fixed", "value": D("5")},
        {"code": "has space"},
        {"usage_limit": 0},
        {"starts_at": timezone.now(), "ends_at": timezone.now() - timedelta(days=1)},
    ],
)
def test_bad_voucher_terms_are_refused_and_not_saved(terms):
    with pytest.raises(pricing_api.InvalidVoucherDefinition):
        voucher(**({"code": "X"} | terms))
    assert not Voucher.objects.exists()


def test_a_code_is_taken_whatever_its_case():
    voucher("SUMMER")
    with pytest.raises(pricing_api.InvalidVoucherDefinition):
        voucher("summer")

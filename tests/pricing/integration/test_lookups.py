"""get_voucher and find_promotions: reads that let seed data and tools be idempotent without parsing errors."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from contexts.pricing import api as pricing_api
from tests.pricing.factories import pricing_connection, promotion, voucher

pytestmark = pytest.mark.django_db


def test_a_voucher_is_found_by_its_code_in_any_case():
    created = voucher("Summer10", currency="EUR", min_spend=Decimal("20.00"))
    assert pricing_api.get_voucher(code="summer10") == created
    assert pricing_api.get_voucher(code="  SUMMER10 ") == created
    assert created.code == "SUMMER10"


def test_an_unknown_voucher_code_is_not_found():
    voucher("SUMMER10")
    for code in ("WINTER10", "", "   "):
        with pytest.raises(pricing_api.VoucherNotFound) as caught:
            pricing_api.get_voucher(code=code)
        assert (caught.value.code, caught.value.http_status) == ("not_found", 404)


def test_an_expired_or_switched_off_voucher_is_still_found_as_it_is():
    past = timezone.now() - timedelta(days=2)
    voucher("OLD", starts_at=past, ends_at=past + timedelta(days=1))
    voucher("OFF", is_active=False)
    assert pricing_api.get_voucher(code="old").ends_at < timezone.now()
    assert pricing_api.get_voucher(code="off").is_active is False


def test_promotions_are_found_by_exact_name(django_assert_max_num_queries):
    wanted = promotion(name="Kitchen week")
    promotion(name="Kitchen week 2")
    promotion(name="kitchen week")
    with django_assert_max_num_queries(1, connection=pricing_connection()):
        assert pricing_api.find_promotions(name="Kitchen week") == (wanted,)
    assert pricing_api.find_promotions(name="Nothing") == ()


def test_all_promotions_come_highest_priority_first():
    low = promotion(name="low", priority=0)
    high = promotion(name="high", priority=5)
    assert pricing_api.find_promotions() == (high, low)


def test_active_only_leaves_out_ended_and_scheduled_promotions():
    running = promotion(name="Sale")
    ended = pricing_api.end_promotion(promotion_id=promotion(name="Sale").id)
    promotion(name="Sale", starts_at=timezone.now() + timedelta(days=1))
    assert pricing_api.find_promotions(name="Sale", active_only=True) == (running,)
    assert len(pricing_api.find_promotions(name="Sale")) == 3
    assert ended.is_active is False


def test_seeding_twice_creates_one_promotion():
    def seed() -> None:
        if not pricing_api.find_promotions(name="Welcome"):
            promotion(name="Welcome")

    seed()
    seed()
    assert len(pricing_api.find_promotions(name="Welcome")) == 1

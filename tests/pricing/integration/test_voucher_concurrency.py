"""On PostgreSQL: simultaneous orders racing for the last use of a voucher."""

import threading
from decimal import Decimal
from uuid import uuid4

import pytest
from django.db import connections

from contexts.pricing import api as pricing_api
from contexts.pricing.models import Voucher, VoucherRedemption
from tests.pricing.factories import voucher

THREADS = 8


def race(customer_ids):
    """Each thread redeems for its own order at the same moment; returns (successes, refusal reasons)."""
    barrier = threading.Barrier(len(customer_ids))
    successes, reasons, crashes = [], [], []

    def attempt(customer_id):
        try:
            barrier.wait()
            pricing_api.redeem_voucher(
                code="LAST", order_id=uuid4(), customer_id=customer_id, amount=Decimal("1.00"), currency="EUR"
            )
            successes.append(customer_id)
        except pricing_api.VoucherInvalid as refused:
            reasons.append(refused.reason)
        except Exception as exc:  # pragma: no cover - reported below
            crashes.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(cid,)) for cid in customer_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not crashes, crashes
    return successes, reasons


@pytest.mark.django_db(transaction=True)
def test_the_last_use_goes_to_exactly_one_of_many_simultaneous_orders(postgresql_only):
    voucher("LAST", usage_limit=3)
    Voucher.objects.filter(code="LAST").update(times_used=2)
    successes, reasons = race(list(range(THREADS)))
    assert len(successes) == 1
    assert reasons == ["exhausted"] * (THREADS - 1)
    assert Voucher.objects.get().times_used == 3
    assert VoucherRedemption.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_customer_racing_with_itself_gets_its_single_use_once(postgresql_only):
    voucher("LAST", per_customer_limit=1)
    successes, reasons = race([42] * THREADS)
    assert len(successes) == 1
    assert reasons == ["exhausted"] * (THREADS - 1)
    assert VoucherRedemption.objects.filter(customer_id=42).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_vouchers_redeemed_at_once_for_one_order_never_both_stick(postgresql_only):
    """Issue 9 point 8: with one voucher per order, 20 orders each redeeming two different vouchers
    at the same moment end up with exactly one voucher each, and the other refused as not_applicable."""
    voucher("FIRST")
    voucher("SECOND")
    orders = [uuid4() for _ in range(20)]
    barrier = threading.Barrier(2)
    outcomes, crashes = [], []

    def attempt(order_id, code):
        try:
            barrier.wait()
            pricing_api.redeem_voucher(
                code=code, order_id=order_id, customer_id=None, amount=Decimal("1.00"), currency="EUR"
            )
            outcomes.append("redeemed")
        except pricing_api.VoucherInvalid as refused:
            outcomes.append(refused.reason)
        except Exception as exc:  # pragma: no cover - reported below
            crashes.append(exc)
        finally:
            connections.close_all()

    for order_id in orders:
        threads = [threading.Thread(target=attempt, args=(order_id, code)) for code in ("FIRST", "SECOND")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not crashes, crashes
    held = [VoucherRedemption.objects.current().filter(order_id=order_id).count() for order_id in orders]
    assert held == [1] * len(orders)
    assert sorted(outcomes) == sorted(["redeemed"] * 20 + ["not_applicable"] * 20)
    assert sum(Voucher.objects.values_list("times_used", flat=True)) == 20

"""The order's state machine and the refund rule, without a database."""

from decimal import Decimal

import pytest

from contexts.orders.domain import TRANSITIONS, OrderStatus, PaidLine, can_transition, refund_for_return

S = OrderStatus


def test_a_checkout_ends_confirmed_or_failed_and_nothing_comes_back_from_failed_or_cancelled():
    assert can_transition(S.PENDING, S.CONFIRMED) and can_transition(S.PENDING, S.FAILED)
    assert not can_transition(S.PENDING, S.SHIPPED)
    for final in (S.FAILED, S.CANCELLED, S.RETURNED):
        assert not any(can_transition(final, target) for target in S)


def test_a_shipped_order_cannot_be_cancelled_and_a_confirmed_one_cannot_be_returned():
    assert can_transition(S.CONFIRMED, S.CANCELLED)
    assert not can_transition(S.SHIPPED, S.CANCELLED)
    assert not can_transition(S.PARTIALLY_SHIPPED, S.CANCELLED)
    assert not can_transition(S.CONFIRMED, S.RETURNED)


def test_every_status_has_its_transitions_declared():
    assert set(TRANSITIONS) == set(S)


LINES = (
    PaidLine(sku="A", quantity=3, paid=Decimal("10.00"), tax=Decimal("1.60")),
    PaidLine(sku="B", quantity=1, paid=Decimal("5.55"), tax=Decimal("0.89")),
)


def test_partial_returns_add_up_to_exactly_what_was_paid_and_shipping_comes_back_with_the_last_unit():
    refunds = []
    before: dict[str, int] = {}
    for returning in ({"A": 1}, {"A": 1}, {"B": 1}, {"A": 1}):
        share = refund_for_return(
            lines=LINES,
            returned_before=before,
            returning=returning,
            shipping_paid=Decimal("4.90"),
            shipping_tax=Decimal("0.78"),
        )
        refunds.append(share)
        for sku, quantity in returning.items():
            before[sku] = before.get(sku, 0) + quantity
    assert [r.amount for r in refunds] == [
        Decimal("3.33"),
        Decimal("3.34"),
        Decimal("5.55"),
        Decimal("3.33") + Decimal("4.90"),
    ]
    assert sum(r.amount for r in refunds) == Decimal("10.00") + Decimal("5.55") + Decimal("4.90")
    assert sum(r.tax for r in refunds) == Decimal("1.60") + Decimal("0.89") + Decimal("0.78")
    assert [r.shipping for r in refunds][-1] == Decimal("4.90") and sum(r.shipping for r in refunds[:-1]) == 0


def test_returning_more_than_was_bought_is_refused():
    with pytest.raises(ValueError):
        refund_for_return(
            lines=LINES, returned_before={"B": 1}, returning={"B": 1}, shipping_paid=Decimal(0), shipping_tax=Decimal(0)
        )

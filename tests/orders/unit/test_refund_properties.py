"""The refund rule under any sequence of partial returns (hypothesis, no database).

Whatever the order comes back in, and in however many returns: no refund is negative or more than
what is left to refund, the refunds add up to exactly what was paid (tax and shipping included) once
everything is back, and shipping comes back once, with the return that completes the order.
"""

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from contexts.orders.domain import PaidLine, RefundShare, refund_for_return

CENT = Decimal("0.01")


@st.composite
def paid_lines(draw) -> tuple[PaidLine, ...]:
    count = draw(st.integers(min_value=1, max_value=4))
    lines = []
    for index in range(count):
        paid = draw(st.integers(min_value=0, max_value=100_000))
        lines.append(
            PaidLine(
                sku=f"SKU-{index}",
                quantity=draw(st.integers(min_value=1, max_value=7)),
                paid=paid * CENT,
                tax=draw(st.integers(min_value=0, max_value=paid)) * CENT,
            )
        )
    return tuple(lines)


@st.composite
def returns_of(draw, lines: tuple[PaidLine, ...], *, everything: bool) -> list[dict[str, int]]:
    """The units bought, in any order, cut into returns of any size (all of them, or a part)."""
    units = draw(st.permutations([line.sku for line in lines for _ in range(line.quantity)]))
    if not everything:
        units = units[: draw(st.integers(min_value=0, max_value=len(units) - 1))]
    returns: list[dict[str, int]] = []
    while units:
        size = draw(st.integers(min_value=1, max_value=len(units)))
        ret: dict[str, int] = {}
        for sku in units[:size]:
            ret[sku] = ret.get(sku, 0) + 1
        returns.append(ret)
        units = units[size:]
    return returns


@st.composite
def orders(draw, *, everything: bool):
    lines = draw(paid_lines())
    shipping = draw(st.integers(min_value=0, max_value=5_000))
    shipping_tax = draw(st.integers(min_value=0, max_value=shipping))
    return lines, shipping * CENT, shipping_tax * CENT, draw(returns_of(lines, everything=everything))


def refund_in_turn(lines, shipping, shipping_tax, returns) -> list[RefundShare]:
    """Each return's refund from what the ones before it brought back, checked against what remains."""
    remaining = sum((line.paid for line in lines), shipping)
    before: dict[str, int] = {}
    shares = []
    for returning in returns:
        share = refund_for_return(
            lines=lines,
            returned_before=dict(before),
            returning=returning,
            shipping_paid=shipping,
            shipping_tax=shipping_tax,
        )
        assert Decimal(0) <= share.amount <= remaining
        assert share.tax >= 0  # (not always <= amount: each is rounded on its own)
        assert share.amount == share.amount.quantize(CENT)
        remaining -= share.amount
        shares.append(share)
        for sku, quantity in returning.items():
            before[sku] = before.get(sku, 0) + quantity
    return shares


@given(orders(everything=True))
def test_returning_everything_in_any_sequence_refunds_exactly_what_was_paid(order):
    lines, shipping, shipping_tax, returns = order

    shares = refund_in_turn(lines, shipping, shipping_tax, returns)

    assert sum(share.amount for share in shares) == sum((line.paid for line in lines), shipping)
    assert sum(share.tax for share in shares) == sum((line.tax for line in lines), shipping_tax)
    assert [share.shipping for share in shares] == [Decimal(0)] * (len(shares) - 1) + [shipping]


@given(orders(everything=False))
def test_a_part_returned_never_refunds_more_than_its_share_nor_the_shipping(order):
    lines, shipping, shipping_tax, returns = order

    shares = refund_in_turn(lines, shipping, shipping_tax, returns)

    back = {sku: sum(ret.get(sku, 0) for ret in returns) for sku in (line.sku for line in lines)}
    proportional = sum(
        ((line.paid * back[line.sku] / line.quantity).quantize(CENT, ROUND_HALF_UP) for line in lines), Decimal(0)
    )
    assert sum(share.amount for share in shares) == proportional  # rounded once, whatever the sequence
    assert all(share.shipping == 0 for share in shares)

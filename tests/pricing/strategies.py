"""Hypothesis strategies for the pricing properties: baskets, promotions and vouchers of any shape."""

from decimal import Decimal

from hypothesis import strategies as st

from contexts.pricing.domain import BasketLine, DiscountKind, PromotionRule, PromotionScope, VoucherTerms

SKUS = ["A", "B", "C", "D"]
CATEGORIES = [1, 2, 3]

cents = st.integers(min_value=1, max_value=5_000_00).map(lambda n: Decimal(n) / 100)

lines = st.lists(
    st.builds(
        BasketLine,
        sku=st.sampled_from(SKUS),
        quantity=st.integers(min_value=1, max_value=50),
        unit_price=cents,
        category_ids=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True).map(tuple),
    ),
    min_size=1,
    max_size=8,
)


@st.composite
def promotions(draw):
    count = draw(st.integers(min_value=0, max_value=6))
    rules = []
    for index in range(count):
        kind = draw(st.sampled_from(list(DiscountKind)))
        value = (
            Decimal(draw(st.integers(min_value=1, max_value=10_000))) / 100
            if kind == DiscountKind.PERCENTAGE
            else draw(cents)
        )
        scope = draw(st.sampled_from(list(PromotionScope)))
        rules.append(
            PromotionRule(
                id=index + 1,
                name=f"p{index}",
                kind=kind,
                value=value,
                scope=scope,
                skus=frozenset(draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3))),
                category_ids=frozenset(draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2))),
                min_subtotal=draw(st.sampled_from([Decimal(0), Decimal(50), Decimal(500)])),
                priority=draw(st.integers(min_value=0, max_value=3)),
                stacks=draw(st.booleans()),
            )
        )
    return rules


vouchers = st.lists(
    st.builds(
        VoucherTerms,
        code=st.sampled_from(["V1", "V2"]),
        kind=st.just(DiscountKind.PERCENTAGE),
        value=st.integers(min_value=1, max_value=100).map(Decimal),
    ),
    max_size=2,
)

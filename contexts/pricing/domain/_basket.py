"""Pricing a basket: promotions per line, basket promotions, vouchers, spread to the cent."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from commerce.money import quantize, quantum
from contexts.pricing.domain._discounts import ZERO, PromotionRule, PromotionScope, VoucherTerms

# --- Pricing a basket ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class BasketLine:
    sku: str
    quantity: int
    unit_price: Decimal
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: Decimal
    gross: Decimal
    discount: Decimal
    total: Decimal
    promotion_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedBasket:
    currency: str
    lines: tuple[PricedLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    total: Decimal
    promotion_ids: tuple[int, ...]
    voucher_amounts: tuple[tuple[str, Decimal], ...]


def gross_subtotal(lines: Iterable[BasketLine], currency: str) -> Decimal:
    """Σ unit price × quantity, each line quantized: what eligibility is judged on."""
    return sum((quantize(line.unit_price * line.quantity, currency) for line in lines), quantize(ZERO, currency))


def _best_plus_stacking(candidates: Sequence[tuple[PromotionRule, Decimal]]) -> list[tuple[PromotionRule, Decimal]]:
    """The best non-stacking candidate (largest discount, then priority, then lowest id) and every stacking one."""
    stacking = [(rule, amount) for rule, amount in candidates if rule.stacks]
    exclusive = [(rule, amount) for rule, amount in candidates if not rule.stacks and amount > 0]
    chosen = []
    if exclusive:
        chosen.append(min(exclusive, key=lambda pair: (-pair[1], -pair[0].priority, pair[0].id)))
    chosen.extend(pair for pair in stacking if pair[1] > 0)
    return sorted(chosen, key=lambda pair: (-pair[0].priority, pair[0].id))


def spread(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split ``amount`` (quantized) over ``weights`` in proportion, by largest remainder, to the cent.

    No share exceeds its weight when ``amount <= sum(weights)``; ties go to the earlier line.
    """
    step = quantum(currency)
    whole = sum(weights, ZERO)
    if amount == 0 or whole == 0:
        return [ZERO.quantize(step)] * len(weights)
    exact = [amount * weight / whole for weight in weights]
    shares = [value.quantize(step, rounding=ROUND_DOWN) for value in exact]
    left = int((amount - sum(shares, ZERO)) / step)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - shares[i]), i))
    for index in by_remainder[:left]:
        shares[index] += step
    return shares


def price_basket(
    *,
    lines: Sequence[BasketLine],
    promotions: Iterable[PromotionRule],
    vouchers: Sequence[VoucherTerms] = (),
    currency: str,
) -> PricedBasket:
    """Price ``lines`` under the combining rule in this module's docstring.

    ``promotions`` must already be the live ones for this currency; ``vouchers`` the accepted ones.
    """
    promotions = tuple(promotions)
    gross = [quantize(line.unit_price * line.quantity, currency) for line in lines]
    gross_subtotal = sum(gross, ZERO)
    eligible = [rule for rule in promotions if gross_subtotal >= rule.min_subtotal]
    line_rules = [rule for rule in eligible if rule.scope != PromotionScope.BASKET]
    basket_rules = [rule for rule in eligible if rule.scope == PromotionScope.BASKET]
    applied: set[int] = set()

    line_discounts: list[Decimal] = []
    line_promotions: list[tuple[int, ...]] = []
    for line, amount in zip(lines, gross, strict=True):
        candidates = [
            (rule, rule.exact_discount(amount=amount, units=line.quantity))
            for rule in line_rules
            if rule.targets(sku=line.sku, category_ids=line.category_ids)
        ]
        chosen = _best_plus_stacking(candidates)
        discount = quantize(min(amount, sum((value for _, value in chosen), ZERO)), currency)
        line_discounts.append(discount)
        line_promotions.append(tuple(rule.id for rule, _ in chosen))
        applied.update(rule.id for rule, _ in chosen)

    after_lines = [amount - discount for amount, discount in zip(gross, line_discounts, strict=True)]
    remaining = sum(after_lines, ZERO)

    basket_chosen = _best_plus_stacking([(rule, rule.exact_discount(amount=remaining)) for rule in basket_rules])
    basket_discount = quantize(min(remaining, sum((value for _, value in basket_chosen), ZERO)), currency)
    applied.update(rule.id for rule, _ in basket_chosen)
    basket_ids = tuple(rule.id for rule, _ in basket_chosen)
    remaining -= basket_discount

    voucher_amounts: list[tuple[str, Decimal]] = []
    for voucher in vouchers:
        amount = quantize(min(remaining, voucher.exact_discount(amount=remaining)), currency)
        voucher_amounts.append((voucher.code, amount))
        remaining -= amount

    order_level = basket_discount + sum((amount for _, amount in voucher_amounts), ZERO)
    shares = spread(order_level, after_lines, currency)

    priced = tuple(
        PricedLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=quantize(line.unit_price, currency),
            gross=amount,
            discount=discount + share,
            total=amount - discount - share,
            promotion_ids=ids + basket_ids,
        )
        for line, amount, discount, share, ids in zip(
            lines, gross, line_discounts, shares, line_promotions, strict=True
        )
    )
    total = sum((line.total for line in priced), quantize(ZERO, currency))
    ordered_ids = tuple(rule.id for rule in sorted(promotions, key=lambda r: (-r.priority, r.id)) if rule.id in applied)
    return PricedBasket(
        currency=currency,
        lines=priced,
        subtotal=quantize(gross_subtotal, currency),
        discount_total=quantize(gross_subtotal, currency) - total,
        total=total,
        promotion_ids=ordered_ids,
        voucher_amounts=tuple(voucher_amounts),
    )


def listing_unit_price(
    *, sku: str, unit_price: Decimal, category_ids: Iterable[int], promotions: Iterable[PromotionRule], currency: str
) -> Decimal:
    """One unit of ``sku`` on a listing: line promotions without a minimum subtotal, no basket."""
    category_ids = tuple(category_ids)
    unconditional = [rule for rule in promotions if rule.scope != PromotionScope.BASKET and rule.min_subtotal <= 0]
    basket = price_basket(
        lines=[BasketLine(sku=sku, quantity=1, unit_price=unit_price, category_ids=category_ids)],
        promotions=unconditional,
        currency=currency,
    )
    return basket.total


def merge_category_ids(mapping: Mapping[str, Sequence[int]] | None, sku: str) -> tuple[int, ...]:
    return tuple(mapping.get(sku, ())) if mapping else ()

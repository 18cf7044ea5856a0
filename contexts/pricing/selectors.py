"""Reads inside the pricing context: prices, live promotions, quotes.

Query budget (asserted in tests): prices for any number of SKUs are one query, live promotions one
more; a quote adds one for vouchers and one for a customer's own redemptions when codes are given.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from contexts.pricing import domain
from contexts.pricing.conf import pricing_settings
from contexts.pricing.exceptions import InvalidPricingInput, InvalidQuantity, UnknownSku, UnsupportedCurrency
from contexts.pricing.models import Price, Promotion, Voucher, VoucherRedemption


def check_currency(currency: str) -> None:
    if message := domain.currency_error(currency, pricing_settings().currencies):
        raise UnsupportedCurrency({"currency": [message]})


def prices_by_sku(skus: Sequence[str], currency: str) -> dict[str, Price]:
    """One query, whatever the number of SKUs."""
    wanted = sorted({sku for sku in skus if isinstance(sku, str)})
    if not wanted:
        return {}
    rows = Price.objects.filter(currency=currency, sku__in=wanted).order_by()
    return {price.sku: price for price in rows}


def live_promotions(currency: str, now: datetime) -> list[domain.PromotionRule]:
    """Promotions running at ``now`` that can apply in ``currency`` (one query)."""
    rows = Promotion.objects.live_at(now).filter(Q(currency__isnull=True) | Q(currency=currency)).order_by()
    return sorted((promotion.rule() for promotion in rows), key=lambda rule: (-rule.priority, rule.id))


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingPrice:
    sku: str
    base_amount: Decimal
    amount: Decimal
    on_sale: bool


def listing_prices(
    *, skus: Sequence[str], currency: str, category_ids: Mapping[str, Sequence[int]] | None, now: datetime | None = None
) -> dict[str, ListingPrice]:
    check_currency(currency)
    errors: dict[str, list[str]] = {}
    if message := domain.sequence_error(skus):
        errors["skus"] = [message]
    if category_ids is not None and (
        not isinstance(category_ids, Mapping) or any(domain.category_ids_error(ids) for ids in category_ids.values())
    ):
        errors["category_ids"] = ["Give a mapping of SKU to a list of positive whole category ids."]
    if errors:
        raise InvalidPricingInput(errors)
    now = now or timezone.now()
    prices = prices_by_sku(skus, currency)
    if not prices:
        return {}
    promotions = [rule for rule in live_promotions(currency, now) if rule.scope != domain.PromotionScope.BASKET]
    result = {}
    for sku, price in prices.items():
        unit = price.effective_amount(now)
        amount = domain.listing_unit_price(
            sku=sku,
            unit_price=unit,
            category_ids=domain.merge_category_ids(category_ids, sku),
            promotions=promotions,
            currency=currency,
        )
        result[sku] = ListingPrice(sku=sku, base_amount=price.amount, amount=amount, on_sale=amount < price.amount)
    return result


# --- Quotes --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestedLine:
    sku: str
    quantity: int
    category_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RefusedCode:
    code: str
    reason: domain.VoucherRefusal


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteResult:
    basket: domain.PricedBasket
    promotion_names: dict[int, str]
    refused: tuple[RefusedCode, ...]
    on_sale_skus: frozenset[str]
    base_amounts: dict[str, Decimal]


def check_quote_request(*, lines: object, voucher_codes: object, customer_id: object) -> None:
    """The shape of a quote request, before its lines are read: lists where lists belong, ids as ids.

    :raises InvalidQuantity: ``lines`` is not a list, or a line's category ids are not positive whole numbers.
    :raises InvalidPricingInput: ``voucher_codes`` is not a list of texts, or ``customer_id`` not a whole number.
    """
    if message := domain.sequence_error(lines):
        raise InvalidQuantity({"lines": [message]})
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):  # type: ignore[arg-type]
        if message := domain.category_ids_error(getattr(line, "category_ids", ())):
            errors[f"lines[{index}].category_ids"] = [message]
    if errors:
        raise InvalidQuantity(errors)
    if domain.sequence_error(voucher_codes) or any(not isinstance(code, str) for code in voucher_codes):  # type: ignore[attr-defined]
        errors["voucher_codes"] = ["Give a list of voucher codes."]
    if customer_id is not None and (
        message := domain.int_error(customer_id, minimum=-domain.MAX_ID - 1, maximum=domain.MAX_ID)
    ):
        errors["customer_id"] = [message]
    if errors:
        raise InvalidPricingInput(errors)


def check_lines(lines: Sequence[RequestedLine]) -> None:
    settings = pricing_settings()
    if len(lines) > settings.max_quote_lines:
        raise InvalidQuantity({"lines": [f"A quote has at most {settings.max_quote_lines} lines."]})
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        quantity = getattr(line, "quantity", None)
        if (
            not isinstance(quantity, int)
            or isinstance(quantity, bool)
            or not 1 <= quantity <= settings.max_line_quantity
        ):
            errors[f"lines[{index}].quantity"] = [
                f"A quantity is a whole number from 1 to {settings.max_line_quantity} (got {quantity!r})."
            ]
        if not isinstance(getattr(line, "sku", None), str) or not line.sku.strip():
            errors[f"lines[{index}].sku"] = ["A SKU is a non-empty string."]
    if errors:
        raise InvalidQuantity(errors)


def quote_basket(
    *,
    lines: Sequence[RequestedLine],
    currency: str,
    voucher_codes: Sequence[str],
    customer_id: int | None,
    now: datetime | None = None,
) -> QuoteResult:
    """Price a basket with the authoritative figures.

    :raises UnsupportedCurrency, InvalidQuantity, UnknownSku:
    """
    check_currency(currency)
    check_lines(lines)
    now = now or timezone.now()
    prices = prices_by_sku([line.sku for line in lines], currency)
    unknown = tuple(dict.fromkeys(line.sku for line in lines if line.sku not in prices))
    if unknown:
        raise UnknownSku(skus=unknown, currency=currency)
    rules = live_promotions(currency, now)
    basket_lines = [
        domain.BasketLine(
            sku=line.sku,
            quantity=line.quantity,
            unit_price=prices[line.sku].effective_amount(now),
            category_ids=tuple(line.category_ids),
        )
        for line in lines
    ]
    accepted, refused = _judge_vouchers(
        codes=voucher_codes,
        currency=currency,
        customer_id=customer_id,
        gross_subtotal=domain.gross_subtotal(basket_lines, currency),
        now=now,
    )
    basket = domain.price_basket(lines=basket_lines, promotions=rules, vouchers=accepted, currency=currency)
    return QuoteResult(
        basket=basket,
        promotion_names={rule.id: rule.name for rule in rules},
        refused=refused,
        on_sale_skus=frozenset(sku for sku, price in prices.items() if price.is_on_sale(now)),
        base_amounts={sku: price.amount for sku, price in prices.items()},
    )


def _judge_vouchers(
    *, codes: Sequence[str], currency: str, customer_id: int | None, gross_subtotal: Decimal, now: datetime
) -> tuple[list[domain.VoucherTerms], tuple[RefusedCode, ...]]:
    normalized = list(dict.fromkeys(domain.normalize_code(code) for code in codes if isinstance(code, str)))
    normalized = [code for code in normalized if code]
    if not normalized:
        return [], ()
    vouchers = {voucher.code: voucher for voucher in Voucher.objects.filter(code__in=normalized).order_by()}
    uses = customer_redemption_counts([v.pk for v in vouchers.values()], customer_id)
    accepted: list[domain.VoucherTerms] = []
    refused: list[RefusedCode] = []
    limit = pricing_settings().max_vouchers_per_order
    for code in normalized:
        voucher = vouchers.get(code)
        reason = domain.voucher_refusal(
            voucher=voucher.terms() if voucher else None,
            now=now,
            currency=currency,
            gross_subtotal=gross_subtotal,
            customer_uses=uses.get(voucher.pk, 0) if voucher else 0,
            customer_id=customer_id,
        )
        if reason is None and len(accepted) >= limit:
            reason = domain.VoucherRefusal.NOT_APPLICABLE
        if reason is None:
            accepted.append(voucher.terms())  # type: ignore[union-attr]
        else:
            refused.append(RefusedCode(code=code, reason=reason))
    return accepted, tuple(refused)


def customer_redemption_counts(voucher_ids: Sequence[int], customer_id: int | None) -> dict[int, int]:
    if customer_id is None or not voucher_ids:
        return {}
    rows = (
        VoucherRedemption.objects.current()
        .filter(voucher_id__in=voucher_ids, customer_id=customer_id)
        .order_by()
        .values("voucher_id")
        .annotate(uses=Count("id"))
    )
    return {row["voucher_id"]: row["uses"] for row in rows}


def voucher_by_code(code: str) -> Voucher | None:
    return Voucher.objects.filter(code=domain.normalize_code(code)).first()


def redemptions_for_order(order_id) -> list[VoucherRedemption]:
    return list(VoucherRedemption.objects.current().filter(order_id=order_id).select_related("voucher"))


# --- Lookups -------------------------------------------------------------------------------------


def promotions(*, name: str | None, active_only: bool, now: datetime | None = None) -> list[Promotion]:
    """Promotions named exactly ``name`` (any when None), only those running at ``now`` if asked; one query."""
    rows = Promotion.objects.all()
    if name is not None:
        rows = rows.filter(name=name)
    if active_only:
        rows = rows.live_at(now or timezone.now())
    return list(rows.order_by("-priority", "id"))

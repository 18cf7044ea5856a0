"""The pricing rules, pure: no ORM, no settings, no clock (``now`` is always passed in).

How a basket is priced (the combining rule, part of the context's contract):

1. **Unit price**: the sale price while its window is open (``starts_at <= now < ends_at``, either
   bound optional), otherwise the base price.
2. **Gross subtotal** = Σ unit price × quantity. Every eligibility test (a promotion's minimum
   subtotal, a voucher's minimum spend) is judged on the gross subtotal, so one discount never
   disqualifies another and adding a promotion can never raise a total.
3. **Line promotions** (scoped to SKUs or to category ids): for each line, the best non-stacking
   promotion (the largest discount; on a tie the higher priority, then the lower id) plus every
   stacking one. Each is computed on the line's gross amount (percentages never compound); a fixed
   amount is taken off each unit. The sum is capped at the line's gross amount.
4. **Basket promotions** (whole basket): the same best-plus-stacking rule, on the subtotal left after
   line promotions; a fixed amount is taken once per basket. Capped at what is left.
5. **Vouchers**, in the order given, each on what is left after steps 3–4 and earlier vouchers.
6. **Rounding**: each discount is computed exactly and quantized once, half-up to the currency's
   minor unit (``commerce.money.quantize``): per line in step 3, per basket in step 4, per voucher
   in step 5. Order-level discounts (steps 4 and 5) are spread over the lines in proportion to the
   lines' amounts after step 3, by largest remainder, so the lines add up to the total to the cent.
   Nothing is ever priced below zero.

Listing prices (``listing_unit_price``) are step 1 and 3 for one unit of a SKU with no basket:
promotions that need a minimum subtotal, basket promotions and vouchers are left out.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

from commerce.money import MoneyError, minor_units, quantize, quantum

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# DecimalField(max_digits=12, decimal_places=2) holds at most this.
MAX_AMOUNT = Decimal("9999999999.99")


class DiscountKind(StrEnum):
    PERCENTAGE = "percentage"
    FIXED = "fixed"


class PromotionScope(StrEnum):
    SKUS = "skus"
    CATEGORIES = "categories"
    BASKET = "basket"


class VoucherRefusal(StrEnum):
    """The reasons API.md names for refusing a voucher."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    NOT_APPLICABLE = "not_applicable"
    MIN_SPEND = "min_spend"


# --- Time windows -------------------------------------------------------------------------------


def window_is_open(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> bool:
    """Half-open window ``[starts_at, ends_at)``; a missing bound is unbounded."""
    return (starts_at is None or starts_at <= now) and (ends_at is None or now < ends_at)


def effective_unit_price(
    *,
    base_amount: Decimal,
    sale_amount: Decimal | None,
    sale_starts_at: datetime | None,
    sale_ends_at: datetime | None,
    now: datetime,
) -> Decimal:
    if sale_amount is not None and window_is_open(sale_starts_at, sale_ends_at, now):
        return sale_amount
    return base_amount


# --- Promotions and vouchers as rules -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionRule:
    id: int
    name: str
    kind: DiscountKind
    value: Decimal
    scope: PromotionScope
    skus: frozenset[str] = frozenset()
    category_ids: frozenset[int] = frozenset()
    min_subtotal: Decimal = ZERO
    priority: int = 0
    stacks: bool = False

    def targets(self, *, sku: str, category_ids: Iterable[int]) -> bool:
        if self.scope == PromotionScope.SKUS:
            return sku in self.skus
        if self.scope == PromotionScope.CATEGORIES:
            return not self.category_ids.isdisjoint(category_ids)
        return False

    def exact_discount(self, *, amount: Decimal, units: int = 1) -> Decimal:
        """Discount on ``amount`` (exact, unquantized); a fixed amount counts once per unit."""
        if self.kind == DiscountKind.PERCENTAGE:
            return amount * self.value / HUNDRED
        return min(amount, self.value * units)


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherTerms:
    code: str
    kind: DiscountKind
    value: Decimal
    currency: str | None = None
    min_spend: Decimal = ZERO
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    is_active: bool = True
    usage_limit: int | None = None
    times_used: int = 0
    per_customer_limit: int | None = None

    def exact_discount(self, *, amount: Decimal) -> Decimal:
        if self.kind == DiscountKind.PERCENTAGE:
            return amount * self.value / HUNDRED
        return min(amount, self.value)


def voucher_refusal(
    *,
    voucher: VoucherTerms | None,
    now: datetime,
    currency: str,
    gross_subtotal: Decimal | None,
    customer_uses: int = 0,
    customer_id: int | None = None,
) -> VoucherRefusal | None:
    """Why ``voucher`` cannot be used now, or ``None`` when it can.

    ``gross_subtotal`` is ``None`` at redemption, where the quote already judged minimum spend.
    A per-customer limit binds identified customers; a guest is bound by the total limit only.
    """
    if voucher is None:
        return VoucherRefusal.UNKNOWN
    if not voucher.is_active or (voucher.ends_at is not None and now >= voucher.ends_at):
        return VoucherRefusal.EXPIRED
    if voucher.starts_at is not None and now < voucher.starts_at:
        return VoucherRefusal.NOT_APPLICABLE
    if voucher.currency is not None and voucher.currency != currency:
        return VoucherRefusal.NOT_APPLICABLE
    if voucher.usage_limit is not None and voucher.times_used >= voucher.usage_limit:
        return VoucherRefusal.EXHAUSTED
    per_customer = voucher.per_customer_limit
    if customer_id is not None and per_customer is not None and customer_uses >= per_customer:
        return VoucherRefusal.EXHAUSTED
    if gross_subtotal is not None and gross_subtotal < voucher.min_spend:
        return VoucherRefusal.MIN_SPEND
    return None


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


# --- Validation (shared by services and models' clean(), so admin and API refuse alike) ----------


Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


MAX_INT = 2**31 - 1  # an IntegerField / PositiveIntegerField column
MAX_ID = 2**63 - 1  # a BigIntegerField column
MAX_TEXT = 200


def text_error(value: object, *, max_length: int = MAX_TEXT, required: bool = True) -> str | None:
    if not isinstance(value, str) or (required and not value.strip()):
        return "Give a non-empty text." if required else "Give a text."
    if len(value) > max_length:
        return f"At most {max_length} characters."
    return None


def int_error(value: object, *, minimum: int, maximum: int) -> str | None:
    """``value`` is a whole number (not a bool, not a string) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        return f"Give a whole number from {minimum} to {maximum}."
    return None


def bool_error(value: object) -> str | None:
    return None if isinstance(value, bool) else "Give true or false."


def datetime_error(value: object) -> str | None:
    """``None`` or a timezone-aware ``datetime`` (a naive one is ambiguous, a string is not a time)."""
    if value is None or (isinstance(value, datetime) and value.utcoffset() is not None):
        return None
    return "Give a date and time with a time zone."


def sequence_error(value: object) -> str | None:
    """A list of items, not a bare string (which would be read character by character) nor None."""
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        return "Give a list."
    return None


def category_ids_error(value: object) -> str | None:
    if message := sequence_error(value):
        return message
    if any(int_error(cid, minimum=1, maximum=MAX_ID) for cid in value):  # type: ignore[attr-defined]
        return "Category ids are positive whole numbers."
    return None


def currency_error(currency: str | None, currencies: Iterable[str]) -> str | None:
    currencies = tuple(currencies)
    if not isinstance(currency, str) or currency not in currencies:
        return f"The shop does not sell in {currency!r}; it sells in {', '.join(currencies)}."
    return None


def amount_error(amount: object, currency: str | None, *, allow_zero: bool = False) -> str | None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return "Give a finite decimal amount."
    if amount < 0 or (amount == 0 and not allow_zero):
        return "The amount must be greater than zero." if not allow_zero else "The amount cannot be negative."
    if amount > MAX_AMOUNT:
        return f"The amount cannot exceed {MAX_AMOUNT}."
    try:
        places = minor_units(currency) if isinstance(currency, str) and currency else 2
    except MoneyError:
        places = 2
    if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        return f"At most {places} decimal places."
    return None


def window_errors(
    starts_at: datetime | None,
    ends_at: datetime | None,
    *,
    ends_field: str = "ends_at",
    starts_field: str = "starts_at",
) -> Errors:
    errors: Errors = {}
    for field, value in ((starts_field, starts_at), (ends_field, ends_at)):
        if message := datetime_error(value):
            _add(errors, field, message)
    if errors:
        return errors
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        _add(errors, ends_field, "The end must be after the start.")
    return errors


def price_errors(
    *,
    currency: str,
    amount: object,
    sale_amount: object | None,
    sale_starts_at: datetime | None,
    sale_ends_at: datetime | None,
    currencies: Iterable[str],
) -> Errors:
    errors: Errors = {}
    if message := currency_error(currency, currencies):
        _add(errors, "currency", message)
    if message := amount_error(amount, currency):
        _add(errors, "amount", message)
    if sale_amount is not None:
        if message := amount_error(sale_amount, currency):
            _add(errors, "sale_amount", message)
        elif "amount" not in errors and sale_amount > amount:  # type: ignore[operator]
            _add(errors, "sale_amount", "The sale price cannot be above the base price.")
    elif sale_starts_at is not None or sale_ends_at is not None:
        _add(errors, "sale_amount", "A sale window needs a sale price.")
    for field, messages in window_errors(
        sale_starts_at, sale_ends_at, ends_field="sale_ends_at", starts_field="sale_starts_at"
    ).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def discount_errors(*, kind: str, value: object, currency: str | None, currencies: Iterable[str]) -> Errors:
    errors: Errors = {}
    if kind not in DiscountKind.__members__.values():
        _add(errors, "kind", f"Choose one of {', '.join(DiscountKind)}.")
        return errors
    if currency is not None and (message := currency_error(currency, currencies)):
        _add(errors, "currency", message)
    if kind == DiscountKind.PERCENTAGE:
        if not isinstance(value, Decimal) or not value.is_finite() or not (0 < value <= HUNDRED):
            _add(errors, "value", "A percentage must be above 0 and at most 100.")
        elif value != value.quantize(Decimal("0.01"), rounding=ROUND_DOWN):  # the column holds 2 decimals
            _add(errors, "value", "At most 2 decimal places.")
    else:
        if currency is None:
            _add(errors, "currency", "A fixed amount needs a currency.")
        if message := amount_error(value, currency):
            _add(errors, "value", message)
    return errors


def promotion_errors(
    *,
    name: object = "promotion",
    priority: object = 0,
    stacks: object = False,
    is_active: object = True,
    kind: str,
    value: object,
    currency: str | None,
    scope: str,
    skus: Sequence[str],
    category_ids: Sequence[int],
    min_subtotal: object,
    starts_at: datetime | None,
    ends_at: datetime | None,
    currencies: Iterable[str],
) -> Errors:
    errors = discount_errors(kind=kind, value=value, currency=currency, currencies=currencies)
    if message := text_error(name):
        _add(errors, "name", message)
    if message := int_error(priority, minimum=-MAX_INT - 1, maximum=MAX_INT):
        _add(errors, "priority", message)
    for field, flag in (("stacks", stacks), ("is_active", is_active)):
        if message := bool_error(flag):
            _add(errors, field, message)
    if message := sequence_error(skus):
        _add(errors, "skus", message)
        skus = ()
    elif any(not isinstance(sku, str) or not sku.strip() or len(sku.strip()) > 64 for sku in skus):
        _add(errors, "skus", "SKUs are strings of 1 to 64 characters.")
    if message := category_ids_error(category_ids):
        _add(errors, "category_ids", message)
        category_ids = ()
    if scope not in PromotionScope.__members__.values():
        _add(errors, "scope", f"Choose one of {', '.join(PromotionScope)}.")
    elif scope == PromotionScope.SKUS and not skus and "skus" not in errors:
        _add(errors, "skus", "A promotion scoped to SKUs needs at least one SKU.")
    elif scope == PromotionScope.CATEGORIES and not category_ids and "category_ids" not in errors:
        _add(errors, "category_ids", "A promotion scoped to categories needs at least one category id.")
    errors.update(_min_amount_errors("min_subtotal", min_subtotal, currency))
    for field, messages in window_errors(starts_at, ends_at).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def _min_amount_errors(field: str, value: object, currency: str | None) -> Errors:
    errors: Errors = {}
    if message := amount_error(value, currency, allow_zero=True):
        _add(errors, field, message)
    elif value and currency is None:  # type: ignore[truthy-bool]
        _add(errors, "currency", "A minimum amount needs a currency.")
    return errors


def voucher_errors(
    *,
    code: str,
    kind: str,
    value: object,
    currency: str | None,
    min_spend: object,
    starts_at: datetime | None,
    ends_at: datetime | None,
    usage_limit: int | None,
    per_customer_limit: int | None,
    currencies: Iterable[str],
    times_used: int = 0,
    description: object = "",
    is_active: object = True,
) -> Errors:
    errors = discount_errors(kind=kind, value=value, currency=currency, currencies=currencies)
    if message := text_error(description, required=False):
        _add(errors, "description", message)
    if message := bool_error(is_active):
        _add(errors, "is_active", message)
    if (
        not isinstance(code, str)
        or not code.strip()
        or len(code.strip()) > 64
        or any(ch.isspace() for ch in code.strip())
    ):
        _add(errors, "code", "A code is 1 to 64 characters without spaces.")
    errors.update(_min_amount_errors("min_spend", min_spend, currency))
    for field, limit in (("usage_limit", usage_limit), ("per_customer_limit", per_customer_limit)):
        if limit is not None and int_error(limit, minimum=1, maximum=MAX_INT):
            _add(errors, field, f"A limit is a whole number from 1 to {MAX_INT} (leave it empty for no limit).")
    if "usage_limit" not in errors and usage_limit is not None and usage_limit < times_used:
        _add(errors, "usage_limit", f"The voucher has already been used {times_used} times: the limit cannot be lower.")
    for field, messages in window_errors(starts_at, ends_at).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def normalize_code(code: str) -> str:
    """Voucher codes are case-insensitive: stored and compared in upper case."""
    return code.strip().upper() if isinstance(code, str) else ""


def merge_category_ids(mapping: Mapping[str, Sequence[int]] | None, sku: str) -> tuple[int, ...]:
    return tuple(mapping.get(sku, ())) if mapping else ()

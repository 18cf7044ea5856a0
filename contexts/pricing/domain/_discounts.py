"""Promotions and vouchers as rules: what they are, when they run, what they take off."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)
HUNDRED = Decimal(100)


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


def normalize_code(code: str) -> str:
    """Voucher codes are case-insensitive: stored and compared in upper case."""
    return code.strip().upper() if isinstance(code, str) else ""

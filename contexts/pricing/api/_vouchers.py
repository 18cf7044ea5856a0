"""Vouchers: definitions, lookups and their redemption by orders."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from contexts.pricing import domain, selectors, services
from contexts.pricing.exceptions import (
    InvalidPricingInput,
    VoucherNotFound,
)
from contexts.pricing.models import Voucher as VoucherRow


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherRedemption:
    code: str
    order_id: UUID
    customer_id: int | None
    amount: Decimal
    currency: str
    redeemed_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Voucher:
    code: str
    kind: str
    value: Decimal
    currency: str | None
    min_spend: Decimal
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    times_used: int
    is_active: bool


def redeem_voucher(
    *, code: str, order_id: UUID, customer_id: int | None, amount: Decimal, currency: str
) -> VoucherRedemption:
    """Use the voucher for ``order_id`` (the discount ``amount`` comes from the quote).

    Idempotent by order id: redeeming again for the same order returns the first redemption. Safe
    under concurrency: with one use left, exactly one of many simultaneous orders gets it.
    Publishes ``VoucherRedeemed``.

    :raises VoucherInvalid: reason ``unknown``, ``expired``, ``exhausted`` (total or per-customer limit)
        or ``not_applicable`` (not started yet, another currency, the order already has a voucher).
    :raises InvalidPrice: a negative or malformed amount.
    :raises InvalidPricingInput: ``code`` not a text, ``order_id`` not a UUID, ``customer_id`` not a whole number.
    :raises UnsupportedCurrency:
    """
    redemption = services.redeem_voucher(
        code=code, order_id=order_id, customer_id=customer_id, amount=amount, currency=currency
    )
    return VoucherRedemption(
        code=redemption.voucher.code,
        order_id=redemption.order_id,
        customer_id=redemption.customer_id,
        amount=redemption.amount,
        currency=redemption.currency,
        redeemed_at=redemption.redeemed_at,
    )


def unredeem_voucher(*, order_id: UUID) -> None:
    """Give back the voucher uses ``order_id`` holds (a compensation step); repeating it does nothing.

    Publishes ``VoucherReleased`` per use given back.

    :raises InvalidPricingInput: ``order_id`` is not a UUID.
    """
    services.unredeem_voucher(order_id=order_id)


def create_voucher(
    *,
    code: str,
    kind: str,
    value: Decimal,
    currency: str | None = None,
    description: str = "",
    min_spend: Decimal = Decimal(0),
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    usage_limit: int | None = None,
    per_customer_limit: int | None = None,
    is_active: bool = True,
) -> Voucher:
    """Create a voucher (codes are case-insensitive). ``kind`` is ``percentage`` or ``fixed``;
    ``currency`` is required for a fixed amount or a minimum spend.

    :raises InvalidVoucherDefinition: bad terms or a code already taken; nothing saved.
    """
    voucher = services.create_voucher(
        definition=services.VoucherDefinition(
            code=code,
            kind=kind,
            value=value,
            currency=currency,
            description=description,
            min_spend=min_spend,
            starts_at=starts_at,
            ends_at=ends_at,
            usage_limit=usage_limit,
            per_customer_limit=per_customer_limit,
            is_active=is_active,
        )
    )
    return _voucher(voucher)


def _voucher(row: VoucherRow) -> Voucher:
    return Voucher(
        code=row.code,
        kind=row.kind,
        value=row.value,
        currency=row.currency,
        min_spend=row.min_spend,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        usage_limit=row.usage_limit,
        per_customer_limit=row.per_customer_limit,
        times_used=row.times_used,
        is_active=row.is_active,
    )


def get_voucher(*, code: str) -> Voucher:
    """The voucher with ``code``, compared case-insensitively (surrounding spaces ignored), whatever its state.

    Looking a voucher up is not using it: an expired, exhausted or switched-off voucher is returned
    as it is (see ``is_active``, ``ends_at``, ``times_used``); ``check_voucher`` judges use.

    :raises VoucherNotFound: no voucher has this code (404 ``not_found``, like the other lookups;
        ``VoucherInvalid(reason="unknown")`` stays the answer of *using* an unknown code).
    :raises InvalidPricingInput: ``code`` is not a text, or holds a NUL character.
    """
    if not isinstance(code, str) or domain.NUL in code:
        raise InvalidPricingInput({"code": ["A voucher code is a text without NUL characters."]})
    row = selectors.voucher_by_code(code)
    if row is None:
        raise VoucherNotFound(f"No voucher has the code {code!r}.")
    return _voucher(row)

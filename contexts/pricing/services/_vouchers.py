"""Vouchers: definitions, and their redemptions by orders (the checkout saga's step and its compensation)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.pricing import checks, domain
from contexts.pricing.conf import pricing_settings
from contexts.pricing.events import VoucherRedeemed, VoucherReleased
from contexts.pricing.exceptions import InvalidPrice, InvalidPricingInput, InvalidVoucherDefinition, VoucherInvalid
from contexts.pricing.models import OrderVoucherClaim, Voucher, VoucherRedemption

CONTEXT = "pricing"


@dataclass(frozen=True, slots=True, kw_only=True)
class VoucherDefinition:
    code: str
    kind: str
    value: Decimal
    currency: str | None = None
    description: str = ""
    min_spend: Decimal = Decimal(0)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = None
    per_customer_limit: int | None = None
    is_active: bool = True


def create_voucher(*, definition: VoucherDefinition) -> Voucher:
    """:raises InvalidVoucherDefinition: bad terms or a code already taken (nothing saved)."""
    voucher = Voucher(
        code=domain.normalize_code(definition.code),
        description=definition.description,
        kind=definition.kind,
        value=definition.value,
        currency=definition.currency or None,
        min_spend=definition.min_spend,
        starts_at=definition.starts_at,
        ends_at=definition.ends_at,
        usage_limit=definition.usage_limit,
        per_customer_limit=definition.per_customer_limit,
        is_active=definition.is_active,
    )
    errors = voucher.term_errors()
    if errors:
        raise InvalidVoucherDefinition(errors)
    taken = InvalidVoucherDefinition({"code": ["A voucher with this code already exists."]})
    if Voucher.objects.filter(code=voucher.code).exists():
        raise taken
    try:
        with atomic_in(CONTEXT):
            voucher.save()
    except IntegrityError:
        raise taken from None
    return voucher


def save_voucher(voucher: Voucher) -> None:
    """Save a voucher edited in the admin, its terms judged against the uses made so far (row locked).

    :raises InvalidVoucherDefinition: bad terms, e.g. a usage limit below the uses already made.
    """
    with atomic_in(CONTEXT):
        if voucher.pk is not None:
            locked = _lock_vouchers([voucher.pk]).get(voucher.pk)
            voucher.times_used = locked.times_used if locked is not None else voucher.times_used
        errors = voucher.term_errors()
        if errors:
            raise InvalidVoucherDefinition(errors)
        voucher.save()


def _lock_order(order_id: UUID) -> None:
    """Lock the order's claim row (created on first use): every redemption and release of one order
    queues behind it, so the per-order voucher limit is judged on what the order really holds.

    Always taken before any voucher row, so the lock order is the same everywhere: order, then vouchers.
    """
    OrderVoucherClaim.objects.get_or_create(order_id=order_id)
    OrderVoucherClaim.objects.select_for_update().filter(order_id=order_id).first()


def _lock_vouchers(voucher_ids: Sequence[int]) -> dict[int, Voucher]:
    """The one place voucher rows are locked: always in primary-key order, so two orders never deadlock."""
    rows = Voucher.objects.select_for_update().filter(pk__in=sorted(set(voucher_ids))).order_by("pk")
    return {voucher.pk: voucher for voucher in rows}


def redeem_voucher(
    *, code: str, order_id: UUID, customer_id: int | None, amount: Decimal, currency: str
) -> VoucherRedemption:
    """Use one of the voucher's redemptions for ``order_id``; again for the same order returns the first.

    The order's claim row and then the voucher row are locked for the duration, so the per-order
    limit and the voucher's total and per-customer limits hold under concurrency; the use counter
    moves by a conditional UPDATE and a CheckConstraint backs it.

    :raises VoucherInvalid: reason unknown / expired / exhausted / not_applicable.
    :raises InvalidPrice: a negative or malformed amount.
    :raises UnsupportedCurrency:
    """
    if not isinstance(code, str) or domain.NUL in code:
        raise InvalidPricingInput({"code": ["A voucher code is a text without NUL characters."]})
    checks.check_order_id(order_id)
    if customer_id is not None:
        checks.check_id("customer_id", customer_id)
    checks.check_currency(currency)
    if message := domain.amount_error(amount, currency, allow_zero=True):
        raise InvalidPrice({"amount": [message]})
    normalized = domain.normalize_code(code)
    found = Voucher.objects.filter(code=normalized).values_list("pk", flat=True).first()
    if found is None:
        raise VoucherInvalid(reason=domain.VoucherRefusal.UNKNOWN, code=normalized)
    now = timezone.now()
    with atomic_in(CONTEXT):
        _lock_order(order_id)
        voucher = _lock_vouchers([found])[found]
        existing = VoucherRedemption.objects.filter(voucher=voucher, order_id=order_id).first()
        if existing is not None and existing.released_at is None:
            return existing  # idempotent: the order already holds this voucher
        others = VoucherRedemption.objects.current().filter(order_id=order_id).exclude(voucher=voucher).count()
        if others >= pricing_settings().max_vouchers_per_order:
            raise VoucherInvalid(
                reason=domain.VoucherRefusal.NOT_APPLICABLE,
                code=normalized,
                detail="This order already uses as many vouchers as allowed.",
            )
        uses = 0
        if customer_id is not None and voucher.per_customer_limit is not None:
            uses = VoucherRedemption.objects.current().filter(voucher=voucher, customer_id=customer_id).count()
        reason = domain.voucher_refusal(
            voucher=voucher.terms(),
            now=now,
            currency=currency,
            gross_subtotal=None,
            customer_uses=uses,
            customer_id=customer_id,
        )
        if reason is not None:
            raise VoucherInvalid(reason=reason, code=normalized)
        claimed = (
            Voucher.objects.filter(pk=voucher.pk)
            .filter(Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit")))
            .update(times_used=F("times_used") + 1)
        )
        if not claimed:
            raise VoucherInvalid(reason=domain.VoucherRefusal.EXHAUSTED, code=normalized)
        if existing is not None:  # released earlier (a compensated attempt of the same order): take it again
            existing.released_at = None
            existing.redeemed_at = now
            existing.customer_id, existing.amount, existing.currency = customer_id, amount, currency
            existing.save()
            redemption = existing
        else:
            redemption = VoucherRedemption.objects.create(
                voucher=voucher,
                order_id=order_id,
                customer_id=customer_id,
                amount=amount,
                currency=currency,
                redeemed_at=now,
            )
        publish(
            VoucherRedeemed(
                code=voucher.code, order_id=order_id, customer_id=customer_id, amount=amount, currency=currency
            )
        )
    return redemption


def unredeem_voucher(*, order_id: UUID) -> int:
    """Give back every voucher use held by ``order_id``; a second call does nothing. Returns uses released."""
    checks.check_order_id(order_id)
    held = list(VoucherRedemption.objects.current().filter(order_id=order_id).values_list("voucher_id", flat=True))
    if not held:
        return 0
    now = timezone.now()
    released = 0
    with atomic_in(CONTEXT):
        _lock_order(order_id)
        vouchers = _lock_vouchers(held)
        for redemption in VoucherRedemption.objects.current().filter(order_id=order_id).order_by("voucher_id"):
            voucher = (
                vouchers.get(redemption.voucher_id) or _lock_vouchers([redemption.voucher_id])[redemption.voucher_id]
            )
            redemption.released_at = now
            redemption.save(update_fields=["released_at"])
            Voucher.objects.filter(pk=voucher.pk, times_used__gt=0).update(times_used=F("times_used") - 1)
            publish(VoucherReleased(code=voucher.code, order_id=order_id, customer_id=redemption.customer_id))
            released += 1
    return released

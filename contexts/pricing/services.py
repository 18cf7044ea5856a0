"""Writes of the pricing context: atomic on its own database, validate first, publish events last."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish, publish_many
from commerce.money import quantize
from contexts.pricing import domain
from contexts.pricing.conf import pricing_settings
from contexts.pricing.events import PriceChanged, PromotionsChanged, VoucherRedeemed, VoucherReleased
from contexts.pricing.exceptions import (
    InvalidPrice,
    InvalidPriceBatch,
    InvalidPricingInput,
    InvalidPromotion,
    InvalidVoucherDefinition,
    PriceBatchTooLarge,
    PriceNotFound,
    PromotionNotFound,
    UnsupportedCurrency,
    VoucherInvalid,
)
from contexts.pricing.models import Price, Promotion, Voucher, VoucherRedemption

CONTEXT = "pricing"

# --- Prices --------------------------------------------------------------------------------------


def _check_currency(currency: str) -> None:
    if message := domain.currency_error(currency, pricing_settings().currencies):
        raise UnsupportedCurrency({"currency": [message]})


def _check_sku(sku: str) -> str:
    if not isinstance(sku, str) or not sku.strip() or len(sku.strip()) > 64:
        raise InvalidPrice({"sku": ["A SKU is 1 to 64 characters."]})
    return sku.strip()


def _validate_price(price: Price) -> None:
    errors = price.term_errors()
    if errors:
        raise InvalidPrice(errors)


def _locked_price(sku: str, currency: str) -> Price | None:
    return Price.objects.select_for_update().filter(sku=sku, currency=currency).first()


def _announce(price: Price, *, old_base: Decimal | None, old_effective: Decimal | None, now: datetime) -> None:
    """Save ``price`` and publish PriceChanged, if its base or effective price moved. Call inside the transaction."""
    new_effective = price.effective_amount(now)
    price.announced_amount = new_effective
    price.save()
    if old_base != price.amount or old_effective != new_effective:
        publish(
            PriceChanged(sku=price.sku, currency=price.currency, old_amount=old_effective, new_amount=new_effective)
        )


def _upsert_price(sku: str, currency: str, change) -> Price:
    """Lock (or create) the price row, apply ``change``, validate, save and announce; no-op writes nothing."""
    now = timezone.now()
    for attempt in range(2):
        try:
            with atomic_in(CONTEXT):
                price = _locked_price(sku, currency)
                old_base = old_effective = None
                before: tuple[Any, ...] | None = None
                if price is None:
                    price = Price(sku=sku, currency=currency)
                else:
                    old_base, old_effective = price.amount, price.effective_amount(now)
                    before = _price_state(price)
                change(price)
                _validate_price(price)
                if before is not None and before == _price_state(price):
                    return price
                _announce(price, old_base=old_base, old_effective=old_effective, now=now)
                return price
        except IntegrityError:  # a concurrent first write of the same (sku, currency) won; retry as an update
            if attempt:
                raise
    raise AssertionError("unreachable")


def _price_state(price: Price) -> tuple[Any, ...]:
    return (price.amount, price.sale_amount, price.sale_starts_at, price.sale_ends_at)


def set_base_price(*, sku: str, currency: str, amount: Decimal) -> Price:
    """Create or change the base price; re-setting the same price writes and publishes nothing.

    :raises InvalidPrice: the amount is not positive, has too many decimals, or falls below the sale price.
    :raises UnsupportedCurrency: the shop does not sell in ``currency``.
    """
    sku = _check_sku(sku)
    _check_currency(currency)

    def change(price: Price) -> None:
        price.amount = amount

    return _upsert_price(sku, currency, change)


def set_sale_price(
    *, sku: str, currency: str, amount: Decimal | None, starts_at: datetime | None, ends_at: datetime | None
) -> Price:
    """Set (or with ``amount=None`` remove) the scheduled sale price of an existing price.

    :raises PriceNotFound: no base price for this SKU and currency.
    :raises InvalidPrice: not positive, above the base price, or the window ends before it starts.
    :raises UnsupportedCurrency:
    """
    sku = _check_sku(sku)
    _check_currency(currency)
    if not Price.objects.filter(sku=sku, currency=currency).exists():
        raise PriceNotFound(f"No base price for {sku} in {currency}; set one first.")

    def change(price: Price) -> None:
        if price.pk is None:
            raise PriceNotFound(f"No base price for {sku} in {currency}; set one first.")
        price.sale_amount = amount
        price.sale_starts_at = starts_at if amount is not None else None
        price.sale_ends_at = ends_at if amount is not None else None

    return _upsert_price(sku, currency, change)


def remove_price(*, sku: str, currency: str) -> bool:
    """Delete the price; the SKU can no longer be quoted in that currency. Publishes PriceChanged(new=None)."""
    with atomic_in(CONTEXT):
        price = _locked_price(sku, currency)
        if price is None:
            return False
        old = price.effective_amount()
        price.delete()
        publish(PriceChanged(sku=sku, currency=currency, old_amount=old, new_amount=None))
    return True


def save_price(price: Price) -> None:
    """Save a price edited in the admin, announcing it like the api does.

    A price is identified by its (sku, currency): an existing one cannot move to another SKU or
    currency (remove it and add the new one, so both sides are announced).

    :raises InvalidPrice: bad terms, or the SKU or currency of a saved price changed.
    """
    _validate_price(price)
    now = timezone.now()
    with atomic_in(CONTEXT):
        old = Price.objects.select_for_update().filter(pk=price.pk).first() if price.pk else None
        if old is not None:
            moved = {
                field: [f"A saved price keeps its {field}; remove it and add a new price instead."]
                for field in ("sku", "currency")
                if getattr(old, field) != getattr(price, field)
            }
            if moved:
                raise InvalidPrice(moved)
            if _price_state(old) == _price_state(price):
                return
        _announce(
            price,
            old_base=old.amount if old else None,
            old_effective=old.effective_amount(now) if old else None,
            now=now,
        )


def announce_scheduled_price_changes(*, now: datetime | None = None) -> int:
    """Publish PriceChanged for sales that started or ended since they were last announced.

    Run periodically; each boundary is announced once (``announced_amount`` remembers).
    """
    now = now or timezone.now()
    on_sale = (
        Q(sale_amount__isnull=False)
        & (Q(sale_starts_at__isnull=True) | Q(sale_starts_at__lte=now))
        & (Q(sale_ends_at__isnull=True) | Q(sale_ends_at__gt=now))
    )
    stale = (on_sale & ~Q(announced_amount=F("sale_amount"))) | (~on_sale & ~Q(announced_amount=F("amount")))
    stale |= Q(announced_amount__isnull=True)
    count = 0
    for pk in Price.objects.filter(stale).order_by("pk").values_list("pk", flat=True)[:1000]:
        with atomic_in(CONTEXT):
            price = Price.objects.select_for_update().filter(pk=pk).first()
            if price is None:
                continue
            effective = price.effective_amount(now)
            if effective == price.announced_amount:
                continue
            old = price.announced_amount
            Price.objects.filter(pk=pk).update(announced_amount=effective)
            publish(PriceChanged(sku=price.sku, currency=price.currency, old_amount=old, new_amount=effective))
            count += 1
    return count


# --- Prices in bulk ------------------------------------------------------------------------------
# An import sets thousands of base prices: one transaction, one read, one insert and a few updates
# per batch instead of a transaction per SKU. The rules are ``set_base_price``'s, judged for the
# whole batch before anything is written.

UPDATE_BATCH_SIZE = 1000  # rows per UPDATE … CASE statement: PostgreSQL evaluates the CASE per row


@dataclass(frozen=True, slots=True, kw_only=True)
class BasePrice:
    sku: str
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchOutcome:
    created: int
    updated: int
    unchanged: int


Problems = dict[int, tuple[str, dict[str, list[str]]]]


def _checked_items(items: Sequence[BasePrice]) -> list[BasePrice]:
    """Each item on its own (and against the others): SKU, currency, amount, no duplicate pair.

    Returns the items with SKUs stripped and amounts quantized to the currency's minor unit.

    :raises PriceBatchTooLarge:
    :raises InvalidPriceBatch: every bad item, by index.
    """
    conf = pricing_settings()
    if len(items) > conf.max_price_batch:
        raise PriceBatchTooLarge(given=len(items), limit=conf.max_price_batch)
    problems: Problems = {}
    first_index: dict[tuple[str, str], int] = {}
    clean: list[BasePrice] = []
    for index, item in enumerate(items):
        sku = item.sku.strip() if isinstance(item.sku, str) else ""
        errors: dict[str, list[str]] = {}
        if not sku or len(sku) > 64:
            errors["sku"] = ["A SKU is 1 to 64 characters."]
        errors |= domain.price_errors(
            currency=item.currency,
            amount=item.amount,
            sale_amount=None,
            sale_starts_at=None,
            sale_ends_at=None,
            currencies=conf.currencies,
        )
        if not errors:
            key = (sku, item.currency)
            if key in first_index:
                errors["sku"] = [
                    f"{sku} in {item.currency} is already at index {first_index[key]}: one price per SKU and currency."
                ]
            else:
                first_index[key] = index
        if errors:
            problems[index] = (str(item.sku), errors)
        else:
            clean.append(BasePrice(sku=sku, currency=item.currency, amount=quantize(item.amount, item.currency)))
    if problems:
        raise InvalidPriceBatch(items=problems)
    return clean


def _stored_prices(items: Sequence[BasePrice], *, lock: bool) -> dict[tuple[str, str], Price]:
    """The stored rows of the items' (sku, currency) pairs in one query; locked in (sku, currency) order."""
    by_currency: dict[str, set[str]] = {}
    for item in items:
        by_currency.setdefault(item.currency, set()).add(item.sku)
    wanted = Q()
    for currency, skus in sorted(by_currency.items()):
        wanted |= Q(currency=currency, sku__in=sorted(skus))
    rows = Price.objects.filter(wanted).order_by("sku", "currency")
    if lock:
        rows = rows.select_for_update()
    return {(row.sku, row.currency): row for row in rows}


def _check_against_stored(items: Sequence[BasePrice], stored: dict[tuple[str, str], Price]) -> None:
    """The rules that need the stored row: a base price cannot fall below the SKU's sale price.

    :raises InvalidPriceBatch:
    """
    problems: Problems = {}
    currencies = pricing_settings().currencies
    for index, item in enumerate(items):
        row = stored.get((item.sku, item.currency))
        if row is None or row.sale_amount is None:
            continue
        errors = domain.price_errors(
            currency=item.currency,
            amount=item.amount,
            sale_amount=row.sale_amount,
            sale_starts_at=row.sale_starts_at,
            sale_ends_at=row.sale_ends_at,
            currencies=currencies,
        )
        if errors:
            problems[index] = (item.sku, errors)
    if problems:
        raise InvalidPriceBatch(items=problems)


def check_base_prices(*, items: Sequence[BasePrice]) -> list[BasePrice]:
    """Validate a batch against the rules and the stored prices (one query), writing nothing.

    :raises PriceBatchTooLarge:
    :raises InvalidPriceBatch:
    """
    clean = _checked_items(items)
    if clean:
        _check_against_stored(clean, _stored_prices(clean, lock=False))
    return clean


def set_base_prices(*, items: Sequence[BasePrice]) -> BatchOutcome:
    """Create or change many base prices in one transaction: all of them, or none if any is refused.

    Unchanged prices are neither written nor announced; every created or changed one publishes
    ``PriceChanged`` as ``set_base_price`` would.

    :raises PriceBatchTooLarge:
    :raises InvalidPriceBatch: every bad item, by index; nothing written, nothing published.
    """
    clean = _checked_items(items)
    if not clean:
        return BatchOutcome(created=0, updated=0, unchanged=0)
    for attempt in range(2):
        try:
            return _write_base_prices(clean)
        except IntegrityError:  # a concurrent first write of one of the pairs won; retry with it as an update
            if attempt:
                raise
    raise AssertionError("unreachable")


def _write_base_prices(items: Sequence[BasePrice]) -> BatchOutcome:
    with atomic_in(CONTEXT):
        now = timezone.now()
        stored = _stored_prices(items, lock=True)
        _check_against_stored(items, stored)
        created: list[Price] = []
        changed: list[Price] = []
        events: list[PriceChanged] = []
        for item in items:
            price = stored.get((item.sku, item.currency))
            if price is None:
                created.append(
                    Price(sku=item.sku, currency=item.currency, amount=item.amount, announced_amount=item.amount)
                )
                events.append(
                    PriceChanged(sku=item.sku, currency=item.currency, old_amount=None, new_amount=item.amount)
                )
            elif price.amount != item.amount:
                old_effective = price.effective_amount(now)
                price.amount = item.amount
                price.announced_amount = price.effective_amount(now)
                price.updated_at = now
                changed.append(price)
                # the base moved, so announce even when a running sale keeps the effective price (as set_base_price)
                events.append(
                    PriceChanged(
                        sku=item.sku,
                        currency=item.currency,
                        old_amount=old_effective,
                        new_amount=price.announced_amount,
                    )
                )
        if created:
            Price.objects.bulk_create(created)
        if changed:
            Price.objects.bulk_update(
                changed, ["amount", "announced_amount", "updated_at"], batch_size=UPDATE_BATCH_SIZE
            )
        publish_many(events)
    return BatchOutcome(created=len(created), updated=len(changed), unchanged=len(items) - len(created) - len(changed))


# --- Promotions ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionTerms:
    name: str
    kind: str
    value: Decimal
    scope: str
    currency: str | None = None
    skus: tuple[str, ...] = ()
    category_ids: tuple[int, ...] = ()
    min_subtotal: Decimal = Decimal(0)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int = 0
    stacks: bool = False
    is_active: bool = True


def _validate_promotion(promotion: Promotion) -> None:
    errors = promotion.term_errors()
    if errors:
        raise InvalidPromotion(errors)


def create_promotion(*, terms: PromotionTerms) -> Promotion:
    """:raises InvalidPromotion: bad terms (nothing saved)."""
    promotion = Promotion(
        name=terms.name,
        kind=terms.kind,
        value=terms.value,
        scope=terms.scope,
        currency=terms.currency or None,
        skus=terms.skus,  # judged as given (a bare string is refused, not split), then normalized
        category_ids=terms.category_ids,
        min_subtotal=terms.min_subtotal,
        starts_at=timezone.now() if terms.starts_at is None else terms.starts_at,
        ends_at=terms.ends_at,
        priority=terms.priority,
        stacks=terms.stacks,
        is_active=terms.is_active,
    )
    _validate_promotion(promotion)
    promotion.skus = sorted({sku.strip() for sku in promotion.skus})
    promotion.category_ids = sorted(set(promotion.category_ids))
    save_promotion(promotion)
    return promotion


def save_promotion(promotion: Promotion) -> None:
    """Validate, save and publish PromotionsChanged (api and admin alike)."""
    _validate_promotion(promotion)
    with atomic_in(CONTEXT):
        promotion.save()
        publish(PromotionsChanged(promotion_id=promotion.pk))


def end_promotion(*, promotion_id: int, now: datetime | None = None) -> Promotion:
    """:raises PromotionNotFound:
    :raises InvalidPricingInput: the id is not a whole number.
    """
    _check_id("promotion_id", promotion_id)
    now = now or timezone.now()
    with atomic_in(CONTEXT):
        promotion = Promotion.objects.select_for_update().filter(pk=promotion_id).first()
        if promotion is None:
            raise PromotionNotFound()
        promotion.is_active = False
        promotion.save(update_fields=["is_active", "updated_at"])
        publish(PromotionsChanged(promotion_id=promotion.pk))
    return promotion


def delete_promotion(*, promotion_id: int) -> None:
    """:raises InvalidPricingInput: the id is not a whole number."""
    _check_id("promotion_id", promotion_id)
    with atomic_in(CONTEXT):
        deleted, _ = Promotion.objects.filter(pk=promotion_id).delete()
        if deleted:
            publish(PromotionsChanged(promotion_id=promotion_id))


# --- Vouchers ------------------------------------------------------------------------------------


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


def _check_id(field: str, value: object) -> None:
    if message := domain.int_error(value, minimum=-domain.MAX_ID - 1, maximum=domain.MAX_ID):
        raise InvalidPricingInput({field: [message]})


def _check_order_id(order_id: object) -> None:
    if not isinstance(order_id, UUID):
        raise InvalidPricingInput({"order_id": ["Give the order's id as a UUID."]})


def _lock_vouchers(voucher_ids: Sequence[int]) -> dict[int, Voucher]:
    """The one place voucher rows are locked: always in primary-key order, so two orders never deadlock."""
    rows = Voucher.objects.select_for_update().filter(pk__in=sorted(set(voucher_ids))).order_by("pk")
    return {voucher.pk: voucher for voucher in rows}


def redeem_voucher(
    *, code: str, order_id: UUID, customer_id: int | None, amount: Decimal, currency: str
) -> VoucherRedemption:
    """Use one of the voucher's redemptions for ``order_id``; again for the same order returns the first.

    The voucher row is locked for the duration, so its total and per-customer limits hold under
    concurrency; the use counter moves by a conditional UPDATE and a CheckConstraint backs it.

    :raises VoucherInvalid: reason unknown / expired / exhausted / not_applicable.
    :raises InvalidPrice: a negative or malformed amount.
    :raises UnsupportedCurrency:
    """
    if not isinstance(code, str):
        raise InvalidPricingInput({"code": ["A voucher code is a text."]})
    _check_order_id(order_id)
    if customer_id is not None:
        _check_id("customer_id", customer_id)
    _check_currency(currency)
    if message := domain.amount_error(amount, currency, allow_zero=True):
        raise InvalidPrice({"amount": [message]})
    normalized = domain.normalize_code(code)
    found = Voucher.objects.filter(code=normalized).values_list("pk", flat=True).first()
    if found is None:
        raise VoucherInvalid(reason=domain.VoucherRefusal.UNKNOWN, code=normalized)
    now = timezone.now()
    with atomic_in(CONTEXT):
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
    _check_order_id(order_id)
    held = list(VoucherRedemption.objects.current().filter(order_id=order_id).values_list("voucher_id", flat=True))
    if not held:
        return 0
    now = timezone.now()
    released = 0
    with atomic_in(CONTEXT):
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

"""Prices in bulk: an import sets thousands of base prices in one transaction, one read, one insert
and a few updates per batch instead of a transaction per SKU. The rules are ``set_base_price``'s,
judged for the whole batch before anything is written."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError
from django.db.models import Q
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish_many
from commerce.money import quantize
from contexts.pricing import domain
from contexts.pricing.conf import pricing_settings
from contexts.pricing.events import PriceChanged
from contexts.pricing.exceptions import InvalidPriceBatch, PriceBatchTooLarge
from contexts.pricing.models import Price

CONTEXT = "pricing"

UPDATE_BATCH_SIZE = 1000  # rows per UPDATE … CASE statement: PostgreSQL evaluates the CASE per row


@dataclass(frozen=True, slots=True, kw_only=True)
class BasePrice:
    sku: str
    currency: str
    amount: Decimal
    tax_class: str = domain.TaxClass.STANDARD


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
        if message := domain.sku_error(item.sku):
            errors["sku"] = [message]
        errors |= domain.price_errors(
            currency=item.currency,
            amount=item.amount,
            sale_amount=None,
            sale_starts_at=None,
            sale_ends_at=None,
            currencies=conf.currencies,
        )
        if message := domain.tax_class_error(item.tax_class):
            errors["tax_class"] = [message]
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
            clean.append(
                BasePrice(
                    sku=sku,
                    currency=item.currency,
                    amount=quantize(item.amount, item.currency),
                    tax_class=item.tax_class,
                )
            )
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
                    Price(
                        sku=item.sku,
                        currency=item.currency,
                        amount=item.amount,
                        announced_amount=item.amount,
                        tax_class=item.tax_class,
                    )
                )
                events.append(
                    PriceChanged(sku=item.sku, currency=item.currency, old_amount=None, new_amount=item.amount)
                )
            elif price.amount == item.amount and price.tax_class != item.tax_class:
                price.tax_class = item.tax_class  # the listed price stays: nothing to announce
                price.updated_at = now
                changed.append(price)
            elif price.amount != item.amount:
                old_effective = price.effective_amount(now)
                price.tax_class = item.tax_class
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
                changed, ["amount", "announced_amount", "tax_class", "updated_at"], batch_size=UPDATE_BATCH_SIZE
            )
        publish_many(events)
    return BatchOutcome(created=len(created), updated=len(changed), unchanged=len(items) - len(created) - len(changed))

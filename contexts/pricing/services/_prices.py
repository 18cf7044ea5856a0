"""Prices one by one: base and sale prices, the admin's saves, scheduled sale boundaries."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db.models import F, Q
from django.utils import timezone

from commerce.database import atomic_in
from commerce.eventbus import publish
from contexts.pricing import checks, domain
from contexts.pricing.events import PriceChanged
from contexts.pricing.exceptions import InvalidPrice, PriceNotFound
from contexts.pricing.models import Price

CONTEXT = "pricing"


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
    return (price.amount, price.sale_amount, price.sale_starts_at, price.sale_ends_at, price.tax_class)


def set_base_price(*, sku: str, currency: str, amount: Decimal, tax_class: str = domain.TaxClass.STANDARD) -> Price:
    """Create or change the base price and the SKU's tax class; re-setting the same writes and publishes nothing.

    :raises InvalidPrice: the amount is not positive, has too many decimals, or falls below the sale
        price; the tax class is not one of standard, reduced, zero.
    :raises UnsupportedCurrency: the shop does not sell in ``currency``.
    """
    sku = checks.check_sku(sku)
    checks.check_currency(currency)

    def change(price: Price) -> None:
        price.amount = amount
        price.tax_class = tax_class

    return _upsert_price(sku, currency, change)


def set_sale_price(
    *, sku: str, currency: str, amount: Decimal | None, starts_at: datetime | None, ends_at: datetime | None
) -> Price:
    """Set (or with ``amount=None`` remove) the scheduled sale price of an existing price.

    :raises PriceNotFound: no base price for this SKU and currency.
    :raises InvalidPrice: not positive, above the base price, or the window ends before it starts.
    :raises UnsupportedCurrency:
    """
    sku = checks.check_sku(sku)
    checks.check_currency(currency)
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
    """Delete the price; the SKU can no longer be quoted in that currency. Publishes PriceChanged(new=None).

    :raises InvalidPrice: a malformed SKU.
    :raises UnsupportedCurrency:
    """
    sku = checks.check_sku(sku)
    checks.check_currency(currency)
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

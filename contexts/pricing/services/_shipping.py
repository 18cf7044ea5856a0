"""Shipping zones, methods and rates, and tax rates: saved from the admin, or created once (``ensure_*``)
by the demo, which never changes what staff edited. Each validates through the model's ``term_errors``
(the same rules as the admin forms) and writes nothing when refused."""

from decimal import Decimal

from django.db import IntegrityError

from commerce.database import atomic_in
from contexts.pricing import checks, domain
from contexts.pricing.conf import known_countries
from contexts.pricing.exceptions import InvalidShipping, InvalidTaxRate
from contexts.pricing.models import ShippingMethod, ShippingRate, ShippingZone, TaxRate

CONTEXT = "pricing"


def save_shipping_zone(zone: ShippingZone) -> None:
    """Save a zone; a country belongs to at most one zone, so a country's shipping price is never ambiguous.

    :raises InvalidShipping: a bad name or country code, or a country another zone covers.
    """
    if errors := zone.term_errors():
        raise InvalidShipping(errors)
    with atomic_in(CONTEXT):
        if taken := zone.countries_in_other_zones(lock=True):  # judged again under lock: two saves racing
            listed = ", ".join(f"{code} ({name})" for code, name in sorted(taken.items()))
            raise InvalidShipping({"countries": [f"Already in another zone: {listed}. A country is in one zone."]})
        try:
            with atomic_in(CONTEXT):
                zone.save()
        except IntegrityError:
            raise InvalidShipping({"name": ["A zone with this name already exists."]}) from None


def save_shipping_method(method: ShippingMethod) -> None:
    """:raises InvalidShipping: a bad code, name or delivery time, or a code already taken."""
    if errors := method.term_errors():
        raise InvalidShipping(errors)
    try:
        with atomic_in(CONTEXT):
            method.save()
    except IntegrityError:
        raise InvalidShipping({"code": ["A shipping method with this code already exists."]}) from None


def save_shipping_rate(rate: ShippingRate) -> None:
    """:raises InvalidShipping: a currency the shop does not sell in, a negative price or threshold, too many
    decimals, or a second rate for the same method, zone and currency."""
    if errors := rate.term_errors():
        raise InvalidShipping(errors)
    try:
        with atomic_in(CONTEXT):
            rate.save()
    except IntegrityError:
        raise InvalidShipping(
            {"currency": ["This method already has a rate for this zone in this currency."]}
        ) from None


def save_tax_rate(rate: TaxRate) -> None:
    """:raises InvalidTaxRate: an unknown country or class, a rate outside 0 to 100, or a second rate for the pair."""
    if errors := rate.term_errors():
        raise InvalidTaxRate(errors)
    try:
        with atomic_in(CONTEXT):
            rate.save()
    except IntegrityError:
        raise InvalidTaxRate({"tax_class": ["This country already has a rate for this tax class."]}) from None


# --- Create once, never overwrite ----------------------------------------------------------------


def ensure_shipping_zone(*, name: str, countries: list[str]) -> tuple[ShippingZone, bool]:
    """The zone named ``name`` as stored, or a new one with ``countries``; ``True`` when created.

    :raises InvalidShipping: as ``save_shipping_zone`` (nothing written).
    """
    # judged as given: the model's field would quietly upper-case "de"
    if errors := domain.shipping_zone_errors(name=name, countries=countries, known=known_countries()):
        raise InvalidShipping(errors)
    existing = ShippingZone.objects.filter(name=name).first()
    if existing is not None:
        return existing, False
    zone = ShippingZone(name=name, countries=list(countries))
    save_shipping_zone(zone)
    return zone, True


def ensure_shipping_method(*, code: str, name: str, delivery_days: int) -> tuple[ShippingMethod, bool]:
    """:raises InvalidShipping: as ``save_shipping_method``."""
    if message := domain.code_error(code, what="method code"):
        raise InvalidShipping({"code": [message]})
    existing = ShippingMethod.objects.filter(code=code).first()
    if existing is not None:
        return existing, False
    method = ShippingMethod(code=code, name=name, delivery_days=delivery_days)
    save_shipping_method(method)
    return method, True


def ensure_shipping_rate(
    *, method: str, zone: str, currency: str, price: Decimal, free_over: Decimal | None = None
) -> tuple[ShippingRate, bool]:
    """The rate of ``method`` for ``zone`` in ``currency`` as stored, or a new one.

    :raises InvalidShipping: an unknown method or zone, or as ``save_shipping_rate``.
    """
    errors = {
        field: [message]
        for field, message in (
            ("method", domain.text_error(method, max_length=64)),
            ("zone", domain.text_error(zone, max_length=100)),
        )
        if message
    }
    if errors:
        raise InvalidShipping(errors)
    method_row = ShippingMethod.objects.filter(code=method).first()
    zone_row = ShippingZone.objects.filter(name=zone).first()
    errors = {}
    if method_row is None:
        errors["method"] = [f"No shipping method has the code {method!r}."]
    if zone_row is None:
        errors["zone"] = [f"No shipping zone is named {zone!r}."]
    if errors:
        raise InvalidShipping(errors)
    checks.check_currency(currency)
    existing = ShippingRate.objects.filter(method=method_row, zone=zone_row, currency=currency).first()
    if existing is not None:
        return existing, False
    rate = ShippingRate(method=method_row, zone=zone_row, currency=currency, price=price, free_over=free_over)
    save_shipping_rate(rate)
    return rate, True


def ensure_tax_rate(*, country: str, tax_class: str, rate: Decimal) -> tuple[TaxRate, bool]:
    """:raises InvalidTaxRate: as ``save_tax_rate``; :raises UnknownCountry:."""
    checks.check_country(country)
    if message := domain.tax_class_error(tax_class):
        raise InvalidTaxRate({"tax_class": [message]})
    existing = TaxRate.objects.filter(country=country, tax_class=tax_class).first()
    if existing is not None:
        return existing, False
    row = TaxRate(country=country, tax_class=tax_class, rate=rate)
    save_tax_rate(row)
    return row, True

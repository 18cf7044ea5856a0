"""The demo shop's shipping methods and VAT rates (pricing's part of ``seed_demo``), created only where missing.

Two methods, ``standard`` (free from a subtotal of 50.00 after discounts) and ``express``, for two
zones (Germany; AT, FR, NL, PL) in every currency the shop sells, and the standard, reduced and zero
VAT rates of those countries. Each zone, method, rate and tax rate is created only when pricing has
none by that key: what staff changed (a price, a threshold, a rate, a zone's countries) is left as
it is, and a re-run creates nothing. Books carry the reduced rate (``tax_class_for``).
"""

from collections.abc import Callable
from decimal import Decimal

from django.conf import settings

from contexts.pricing import api as pricing_api

ZONES = {"Germany": ("DE",), "EU": ("AT", "FR", "NL", "PL")}
METHODS = (("standard", "Standard shipping", 3), ("express", "Express shipping", 1))
FREE_OVER = Decimal("50.00")  # standard shipping, in EUR (other currencies at the demo's rates)
# (method, zone) -> EUR price; standard is free over FREE_OVER
RATES = {
    ("standard", "Germany"): Decimal("4.90"),
    ("express", "Germany"): Decimal("9.90"),
    ("standard", "EU"): Decimal("7.90"),
    ("express", "EU"): Decimal("19.90"),
}
# country -> (standard, reduced) VAT, percent; the zero class is 0 everywhere
VAT = {
    "DE": (Decimal("19"), Decimal("7")),
    "AT": (Decimal("20"), Decimal("10")),
    "FR": (Decimal("20"), Decimal("5.5")),
    "NL": (Decimal("21"), Decimal("9")),
    "PL": (Decimal("23"), Decimal("5")),
}
REDUCED_CATEGORIES = frozenset({"Books", "Food"})  # top-level demo categories taxed at the reduced rate


def tax_class_for(category: tuple[str, ...]) -> str:
    """The demo's tax class of a product in ``category`` (its path from the top)."""
    return "reduced" if category and category[0] in REDUCED_CATEGORIES else "standard"


def ensure_shipping_and_tax(*, amount_in: Callable[[Decimal, str], Decimal]) -> int:
    """Create whatever of the demo's zones, methods, rates and VAT rates is missing; returns how many.

    ``amount_in(eur, currency)`` converts a EUR amount at the demo's rates.
    """
    results = []
    for name, countries in ZONES.items():
        results.append(pricing_api.ensure_shipping_zone(name=name, countries=countries))
    for code, name, days in METHODS:
        results.append(pricing_api.ensure_shipping_method(code=code, name=name, delivery_days=days))
    for currency in settings.SHOP_CURRENCIES:
        for (method, zone), eur in RATES.items():
            results.append(
                pricing_api.ensure_shipping_rate(
                    method=method,
                    zone=zone,
                    currency=currency,
                    price=amount_in(eur, currency),
                    free_over=amount_in(FREE_OVER, currency) if method == "standard" else None,
                )
            )
    for country, (standard, reduced) in VAT.items():
        for tax_class, rate in (("standard", standard), ("reduced", reduced), ("zero", Decimal(0))):
            results.append(pricing_api.ensure_tax_rate(country=country, tax_class=tax_class, rate=rate))
    return sum(result.created for result in results)

"""Builders for pricing tests: thin wrappers over the published api, so tests use what callers use."""

from decimal import Decimal

from django.db import connections

from commerce.database import database_for
from contexts.pricing import api as pricing_api
from contexts.pricing.domain import BasketLine, DiscountKind, PromotionRule, PromotionScope


def price(sku: str = "SKU-1", amount: str = "10.00", currency: str = "EUR") -> pricing_api.SkuPrice:
    return pricing_api.set_base_price(sku=sku, currency=currency, amount=Decimal(amount))


def promotion(**overrides) -> pricing_api.Promotion:
    fields = {"name": "Promo", "kind": "percentage", "value": Decimal("10"), "scope": "basket"} | overrides
    return pricing_api.create_promotion(**fields)


def voucher(code: str = "WELCOME10", **overrides) -> pricing_api.Voucher:
    fields = {"code": code, "kind": "percentage", "value": Decimal("10")} | overrides
    return pricing_api.create_voucher(**fields)


def rule(id: int = 1, *, kind: str = "percentage", value: str = "10", scope: str = "basket", **kw) -> PromotionRule:
    return PromotionRule(
        id=id,
        name=f"rule {id}",
        kind=DiscountKind(kind),
        value=Decimal(value),
        scope=PromotionScope(scope),
        **kw,
    )


def line(sku: str = "A", quantity: int = 1, unit: str = "10.00", categories: tuple[int, ...] = ()) -> BasketLine:
    return BasketLine(sku=sku, quantity=quantity, unit_price=Decimal(unit), category_ids=categories)


def pricing_connection():
    """The connection pricing's queries run on (its own database in split mode), for query counts."""
    return connections[database_for("pricing")]

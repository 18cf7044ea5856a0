"""Input and output of the cart's REST endpoints (API.md, Cart).

Inputs are taken as given and judged by the cart context (a quantity of ``"2"`` or ``2.0`` is refused
there, not coerced here); unknown fields are refused. Outputs are built from the ``Cart`` DTO.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from commerce.money import Money
from commerce.openapi import SPACE_CHARACTERS, any_case_pattern, country_code_pattern
from commerce.rest import MoneySerializer, StrictSerializer
from contexts.cart import api, domain
from contexts.cart.conf import cart_settings
from contexts.cart.services._delivery import MAX_METHOD_LENGTH


class AsGiven(serializers.Field):
    """A JSON value passed on untouched, for the cart context to judge. ``schema`` (a function, read
    when the schema is built, so that settings count) documents what the context accepts."""

    def __init__(self, *, schema: Callable[[], dict[str, Any]], **kwargs: Any) -> None:
        self.schema = schema
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


# Text without control characters (Unicode category Cc) and with a character other than a space
# (what ``str.strip()`` removes, spelled out: commerce.openapi.SPACE_CHARACTERS).
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
_PLAIN_TEXT = f"^[^{_CONTROL}]*[^{SPACE_CHARACTERS}{_CONTROL}][^{_CONTROL}]*$"


def _code(*, max_length: int) -> Callable[[], dict[str, Any]]:
    return lambda: {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": _PLAIN_TEXT}


def _quantity(*, minimum: int) -> Callable[[], dict[str, Any]]:
    return lambda: {"type": "integer", "minimum": minimum, "maximum": cart_settings().max_line_quantity}


def _currency() -> dict[str, Any]:
    return {"type": "string", "pattern": any_case_pattern(cart_settings().currencies)}


def country_schema() -> dict[str, Any]:
    return {"type": "string", "pattern": country_code_pattern()}  # clean_country: any case, spaces ignored


class CartCreateInput(StrictSerializer):
    currency = AsGiven(
        schema=_currency, required=False, help_text="ISO 4217, any case; the shop's default currency when omitted."
    )


class LineInput(StrictSerializer):
    sku = AsGiven(schema=_code(max_length=domain.MAX_SKU_LENGTH))
    quantity = AsGiven(schema=_quantity(minimum=1), help_text="1 to the per-line maximum (default 99).")


class QuantityInput(StrictSerializer):
    partial_on_patch = False  # PATCH /carts/{id}/lines/{line_id} needs the quantity

    quantity = AsGiven(schema=_quantity(minimum=0), help_text="0 removes the line.")


class VoucherInput(StrictSerializer):
    code = AsGiven(schema=_code(max_length=domain.MAX_VOUCHER_CODE_LENGTH))


class DeliveryInput(StrictSerializer):
    country = AsGiven(
        schema=country_schema, required=False, allow_null=True, help_text="ISO 3166-1 alpha-2, e.g. DE; null clears it."
    )
    shipping_method = AsGiven(
        schema=_code(max_length=MAX_METHOD_LENGTH),
        required=False,
        allow_null=True,
        help_text="A method's code; null clears it.",
    )


# --- Output (documentation of the shape ``cart_json`` builds) ------------------------------------


class CartLineOutput(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    product_slug = serializers.CharField(allow_null=True)
    quantity = serializers.IntegerField()
    unit_price = MoneySerializer()
    line_total = MoneySerializer()
    discount = MoneySerializer()
    tax_rate = serializers.CharField(allow_null=True, help_text='Percent, e.g. "19.00".')
    purchasable = serializers.BooleanField(help_text="False when the SKU is no longer sold; checkout refuses it.")


class RefusedVoucherOutput(serializers.Serializer):
    code = serializers.CharField()
    reason = serializers.CharField()
    detail = serializers.CharField()


class CartOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["open", "checked_out"])
    lines = CartLineOutput(many=True)
    vouchers = serializers.ListField(child=serializers.CharField())
    refused_vouchers = RefusedVoucherOutput(many=True)
    country = serializers.CharField(allow_null=True)
    shipping_method = serializers.CharField(allow_null=True)
    shipping_available = serializers.BooleanField()
    subtotal = MoneySerializer()
    discount_total = MoneySerializer()
    shipping_total = MoneySerializer()
    tax_total = MoneySerializer()
    total = MoneySerializer()
    prices_include_tax = serializers.BooleanField()
    currency = serializers.CharField()
    item_count = serializers.IntegerField()


class ShippingOptionOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    price = MoneySerializer()
    delivery_days = serializers.IntegerField()
    free_over = MoneySerializer(allow_null=True)


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return Money(amount=amount, currency=currency).as_json()


def _rate(rate: Decimal | None) -> str | None:
    return None if rate is None else f"{rate:.2f}"


def cart_json(cart: api.Cart) -> dict[str, Any]:
    c = cart.currency
    return {
        "id": str(cart.id),
        "status": cart.status,
        "lines": [
            {
                "id": line.id,
                "sku": line.sku,
                "name": line.name,
                "product_slug": line.product_slug,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price, c),
                "line_total": _money(line.line_total, c),
                "discount": _money(line.discount, c),
                "tax_rate": _rate(line.tax_rate),
                "purchasable": line.purchasable,
            }
            for line in cart.lines
        ],
        "vouchers": list(cart.vouchers),
        "refused_vouchers": [{"code": r.code, "reason": r.reason, "detail": r.detail} for r in cart.refused_vouchers],
        "country": cart.country,
        "shipping_method": cart.shipping_method,
        "shipping_available": cart.shipping_available,
        "subtotal": _money(cart.subtotal, c),
        "discount_total": _money(cart.discount_total, c),
        "shipping_total": _money(cart.shipping_total, c),
        "tax_total": _money(cart.tax_total, c),
        "total": _money(cart.total, c),
        "prices_include_tax": cart.prices_include_tax,
        "currency": c,
        "item_count": cart.item_count,
    }


def shipping_option_json(option: api.ShippingOption) -> dict[str, Any]:
    return {
        "code": option.code,
        "name": option.name,
        "price": _money(option.price, option.currency),
        "delivery_days": option.delivery_days,
        "free_over": _money(option.free_over, option.currency) if option.free_over is not None else None,
    }

"""Input and output shapes of the orders context's REST API."""

import dataclasses
from typing import Any

from django_countries import countries
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce.money import Money
from commerce.openapi import country_code_pattern
from commerce.rest import EmailField, StrictSerializer
from contexts.orders.domain import OrderStatus

# --- Input ---------------------------------------------------------------------------------------


class StrictCharField(serializers.CharField):
    """A text field that refuses numbers, lists and the like instead of turning them into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "pattern": country_code_pattern()})
class CountryCodeInputField(StrictCharField):
    """ISO 3166-1 alpha-2 in any case (``validate_country`` upper-cases it); the schema lists the codes."""


class ShippingAddressInput(StrictSerializer):
    full_name = StrictCharField(max_length=200)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    city = StrictCharField(max_length=100)
    postal_code = StrictCharField(max_length=20)
    country = CountryCodeInputField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. DE.")
    phone = StrictCharField(max_length=40, required=False, allow_blank=True, default="")

    def validate_country(self, value: str) -> str:
        code = value.upper()
        if code not in dict(countries):
            raise serializers.ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code


class CheckoutPaymentInput(StrictSerializer):
    token = StrictCharField(max_length=64)


class GuestCartInput(serializers.Serializer):
    """The cart a guest checks out, read first: it scopes the guest's Idempotency-Key."""

    cart_id = serializers.UUIDField()


class CheckoutInput(StrictSerializer):
    cart_id = serializers.UUIDField()
    email = EmailField(required=False, max_length=254)
    shipping_address = ShippingAddressInput(required=False)
    address_id = serializers.IntegerField(required=False, min_value=1)
    shipping_method = StrictCharField(max_length=64, required=False)
    payment = CheckoutPaymentInput()


class OrderReturnLineInput(StrictSerializer):
    sku = StrictCharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class OrderReturnInput(StrictSerializer):
    lines = serializers.ListField(child=OrderReturnLineInput(), allow_empty=False, min_length=1, max_length=500)
    reason = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


class OrderListQuery(serializers.Serializer):
    """``GET /orders``'s filter: without it, the orders the customer placed."""

    status = serializers.ChoiceField(
        choices=OrderStatus.choices,
        required=False,
        help_text="Only orders in this status (e.g. `failed` for checkout attempts that failed).",
    )


# --- Output --------------------------------------------------------------------------------------


def _money(amount, currency: str) -> dict[str, str]:
    return Money(amount=amount, currency=currency).as_json()


class OrderOutput(serializers.Serializer):
    """An ``orders.api.Order`` in API.md's shape."""

    id = serializers.UUIDField()
    number = serializers.CharField(
        allow_null=True, help_text="Given when the order is confirmed; null before and for failed attempts."
    )
    status = serializers.CharField()
    email = serializers.CharField()
    lines = serializers.SerializerMethodField()
    subtotal = serializers.SerializerMethodField()
    discount_total = serializers.SerializerMethodField()
    shipping_method = serializers.CharField()
    shipping_total = serializers.SerializerMethodField()
    tax_total = serializers.SerializerMethodField()
    total = serializers.SerializerMethodField()
    currency = serializers.CharField()
    vouchers = serializers.ListField(child=serializers.CharField())
    shipping_address = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()
    shipments = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_lines(self, order) -> list[dict[str, Any]]:
        return [
            {
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price, order.currency),
                "discount": _money(line.discount, order.currency),
                "tax_rate": f"{line.tax_rate:.2f}",
                "tax": _money(line.tax, order.currency),
                "line_total": _money(line.line_total, order.currency),
            }
            for line in order.lines
        ]

    def get_subtotal(self, order) -> dict[str, str]:
        return _money(order.subtotal, order.currency)

    def get_discount_total(self, order) -> dict[str, str]:
        return _money(order.discount_total, order.currency)

    def get_shipping_total(self, order) -> dict[str, str]:
        return _money(order.shipping_total, order.currency)

    def get_tax_total(self, order) -> dict[str, str]:
        return _money(order.tax_total, order.currency)

    def get_total(self, order) -> dict[str, str]:
        return _money(order.total, order.currency)

    def get_shipping_address(self, order) -> dict[str, str]:
        return dataclasses.asdict(order.shipping_address)

    def get_payment(self, order) -> dict[str, Any] | None:
        p = order.payment
        if p is None:
            return None
        return {
            "status": p.status,
            "amount": _money(p.amount, order.currency),
            "captured": _money(p.captured, order.currency),
            "refunded": _money(p.refunded, order.currency),
        }

    def get_shipments(self, order) -> list[dict[str, Any]]:
        return [
            {
                "id": shipment.id,
                "status": shipment.status,
                "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in shipment.lines],
                "dispatched_at": shipment.dispatched_at.isoformat() if shipment.dispatched_at else None,
            }
            for shipment in order.shipments
        ]

    def get_history(self, order) -> list[dict[str, str]]:
        return [{"status": entry.status, "at": entry.at.isoformat()} for entry in order.history]


class OrderPageOutput(serializers.Serializer):
    """A page of the caller's orders (the API's pagination shape)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutput(many=True)


class OrderReturnOutput(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    reason = serializers.CharField()
    lines = serializers.SerializerMethodField()
    refund = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField(allow_null=True)

    def get_lines(self, ret) -> list[dict[str, Any]]:
        return [{"sku": sku, "quantity": quantity} for sku, quantity in ret.lines]

    def get_refund(self, ret) -> dict[str, str] | None:
        return None if ret.refunded is None else _money(ret.refunded, ret.currency)

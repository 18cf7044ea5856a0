"""Input and output shapes of the catalogue context's REST API."""

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from commerce.money import Money
from commerce.rest import MoneyField
from contexts.catalogue.conf import catalogue_settings


def _no_control_characters(value: str) -> str:
    if any(ord(char) < 32 for char in value):
        raise serializers.ValidationError("Control characters are not allowed.")
    return value


class ListingQueryInput(serializers.Serializer):
    """Query string of ``GET /products``. Parameters it does not know (``page``, ``page_size``) pass by."""

    q = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    category = serializers.SlugField(required=False, max_length=120)
    min_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=Decimal(0))
    max_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=Decimal(0))
    in_stock = serializers.BooleanField(required=False, default=False)
    ordering = serializers.ChoiceField(required=False, choices=["price", "-price", "name", "-name", "-created"])
    currency = serializers.CharField(required=False, max_length=3, min_length=3)

    def validate_q(self, value: str) -> str:
        limit = catalogue_settings().max_query_length
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} characters.")
        return _no_control_characters(value)

    def validate_currency(self, value: str) -> str:
        currencies = catalogue_settings().currencies
        if value.upper() not in currencies:
            raise serializers.ValidationError(f"One of {', '.join(currencies)}.")
        return value.upper()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_price": ["min_price is above max_price."]})
        return attrs


class CategoryOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    parent = serializers.SerializerMethodField()

    def get_parent(self, category: Any) -> str | None:
        return category.parent.slug if category.parent_id else None


class ProductSummaryOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    category = serializers.CharField(source="category_slug", help_text="The category's slug.")
    price = MoneyField(allow_null=True, help_text="The lowest variant's current price, promotions applied.")
    in_stock = serializers.BooleanField()
    image = serializers.CharField(allow_null=True, help_text="URL of the first image, or null.")

    def to_representation(self, entry: Any) -> dict[str, Any]:
        price = Money(amount=entry.price, currency=entry.price_currency) if entry.price is not None else None
        return {
            "slug": entry.slug,
            "name": entry.name,
            "category": entry.category_slug,
            "price": price.as_json() if price else None,
            "in_stock": entry.in_stock,
            "image": entry.image_url or None,
        }


class VariantOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    attributes = serializers.DictField(child=serializers.CharField())
    price = MoneyField(allow_null=True)
    base_price = MoneyField(allow_null=True)
    on_sale = serializers.BooleanField()
    in_stock = serializers.BooleanField()
    available = serializers.IntegerField()


class ProductDetailOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    category = serializers.CharField(help_text="The category's slug.")
    price = MoneyField(allow_null=True)
    in_stock = serializers.BooleanField()
    image = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    attributes = serializers.DictField(child=serializers.CharField())
    images = serializers.ListField(child=serializers.CharField())
    variants = VariantOutput(many=True)


def _money(amount: Decimal | None, currency: str) -> dict[str, str] | None:
    return Money(amount=amount, currency=currency).as_json() if amount is not None else None


def product_detail_json(detail: Any) -> dict[str, Any]:
    """``api.ProductDetail`` → the contract's ``ProductDetail``."""
    return {
        "slug": detail.slug,
        "name": detail.name,
        "category": detail.category,
        "price": _money(detail.price.amount, detail.price.currency) if detail.price else None,
        "in_stock": detail.in_stock,
        "image": detail.image,
        "description": detail.description,
        "attributes": detail.attributes,
        "images": list(detail.images),
        "variants": [
            {
                "sku": v.sku,
                "name": v.name,
                "attributes": v.attributes,
                "price": _money(v.price.amount, v.price.currency) if v.price else None,
                "base_price": _money(v.price.base_amount, v.price.currency) if v.price else None,
                "on_sale": v.price.on_sale if v.price else False,
                "in_stock": v.in_stock,
                "available": v.available,
            }
            for v in detail.variants
        ],
    }

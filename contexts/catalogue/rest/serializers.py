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


class CurrencyQueryField(serializers.CharField):
    """``?currency=``: one of the shop's currencies (``SHOP_CURRENCIES``), case-insensitive; empty or left
    out means the default currency. Answers the code in capitals."""

    default_error_messages = {"unknown_currency": "One of {currencies}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        currencies = catalogue_settings().currencies
        if value and value not in currencies:
            self.fail("unknown_currency", currencies=", ".join(currencies))
        return value


class ListingQueryInput(serializers.Serializer):
    """Query string of ``GET /products``. Parameters it does not know (``page``, ``page_size``) pass by."""

    q = serializers.CharField(required=False, allow_blank=True, trim_whitespace=True)
    category = serializers.SlugField(
        required=False, allow_blank=True, max_length=120, help_text="Empty: every category."
    )
    min_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=Decimal(0))
    max_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2, min_value=Decimal(0))
    in_stock = serializers.ChoiceField(
        required=False,
        allow_blank=True,
        choices=["true"],
        help_text="Only `true`: products in stock. Leave it out (or empty) to list every product.",
    )
    ordering = serializers.ChoiceField(
        required=False,
        allow_blank=True,
        choices=["price", "-price", "name", "-name", "-created"],
        help_text="Empty: the default order.",
    )
    currency = CurrencyQueryField(required=False)

    def validate_q(self, value: str) -> str:
        limit = catalogue_settings().max_query_length
        if len(value) > limit:
            raise serializers.ValidationError(f"At most {limit} characters.")
        return _no_control_characters(value)

    def validate_in_stock(self, value: str) -> bool | str:
        return True if value == "true" else value  # "" is dropped by validate()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # An empty value (a storefront form's blank select) means the parameter's default.
        attrs = {name: value for name, value in attrs.items() if value != "" or name == "q"}
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_price": ["min_price is above max_price."]})
        return attrs


class DetailQueryInput(serializers.Serializer):
    """Query string of ``GET /products/{slug}``."""

    currency = CurrencyQueryField(required=False)


def refuse_repeated_parameters(query_params: Any) -> None:
    """Every query parameter of the catalogue's reads holds one value: a repeated one is refused, never
    silently narrowed to its last value.

    :raises serializers.ValidationError: naming each repeated parameter.
    """
    repeated = sorted(name for name, values in query_params.lists() if len(values) > 1)
    if repeated:
        raise serializers.ValidationError({name: ["Give this parameter once."] for name in repeated})


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
    price = MoneyField(help_text="The lowest variant's current price, promotions applied.")
    in_stock = serializers.BooleanField()
    image = serializers.CharField(allow_null=True, help_text="URL of the first image, or null.")

    def to_representation(self, entry: Any) -> dict[str, Any]:
        return summary_json(entry)


def summary_json(entry: Any) -> dict[str, Any]:
    """A listing row (``selectors.listing``'s values) → the contract's ``ProductSummary``, as a plain dict."""
    return {
        "slug": entry["slug"],
        "name": entry["name"],
        "category": entry["category_slug"],
        "price": Money(amount=entry["price"], currency=entry["price_currency"]).as_json(),
        "in_stock": entry["in_stock"],
        "image": entry["image_url"] or None,
    }


class VariantOutput(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    attributes = serializers.DictField(child=serializers.CharField())
    price = MoneyField()
    base_price = MoneyField()
    on_sale = serializers.BooleanField()
    in_stock = serializers.BooleanField()
    available = serializers.IntegerField(
        allow_null=True,
        help_text="Units available, exact at or under the low-stock threshold; null above it, where in_stock is true.",
    )


class ProductDetailOutput(serializers.Serializer):
    slug = serializers.SlugField()
    name = serializers.CharField()
    category = serializers.CharField(help_text="The category's slug.")
    price = MoneyField()
    in_stock = serializers.BooleanField()
    image = serializers.CharField(allow_null=True)
    description = serializers.CharField()
    attributes = serializers.DictField(child=serializers.CharField())
    images = serializers.ListField(child=serializers.CharField())
    variants = VariantOutput(many=True)


def _money(amount: Decimal, currency: str) -> dict[str, str]:
    return Money(amount=amount, currency=currency).as_json()


def product_detail_json(detail: Any) -> dict[str, Any]:
    """``api.ProductDetail`` → the contract's ``ProductDetail``."""
    return {
        "slug": detail.slug,
        "name": detail.name,
        "category": detail.category,
        "price": _money(detail.price.amount, detail.price.currency),
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
                "price": _money(v.price.amount, v.price.currency),
                "base_price": _money(v.price.base_amount, v.price.currency),
                "on_sale": v.price.on_sale,
                "in_stock": v.in_stock,
                "available": v.available,
            }
            for v in detail.variants
        ],
    }

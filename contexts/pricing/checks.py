"""Checks of single arguments that raise this context's exceptions: one home for each, used by the
services (writes), the selectors (reads, quotes) and the api. The rules themselves are ``domain``'s."""

from uuid import UUID

from contexts.pricing import domain
from contexts.pricing.conf import known_countries, pricing_settings
from contexts.pricing.exceptions import InvalidPrice, InvalidPricingInput, UnknownCountry, UnsupportedCurrency


def check_currency(currency: object) -> str:
    """:raises UnsupportedCurrency: the shop does not sell in ``currency``."""
    if message := domain.currency_error(currency, pricing_settings().currencies):  # type: ignore[arg-type]
        raise UnsupportedCurrency({"currency": [message]})
    return currency  # type: ignore[return-value]


def check_sku(sku: object, *, field: str = "sku") -> str:
    """The SKU, stripped. :raises InvalidPrice: not 1 to 64 characters, or a NUL character."""
    if message := domain.sku_error(sku):
        raise InvalidPrice({field: [message]})
    return sku.strip()  # type: ignore[union-attr]


def check_country(country: object, *, field: str = "country") -> str:
    """:raises UnknownCountry: not an ISO 3166-1 alpha-2 code in capitals."""
    if message := domain.country_error(country, known_countries()):
        raise UnknownCountry({field: [message]})
    return country  # type: ignore[return-value]


def check_id(field: str, value: object) -> int:
    """:raises InvalidPricingInput: not a whole number a database id column holds."""
    if message := domain.int_error(value, minimum=-domain.MAX_ID - 1, maximum=domain.MAX_ID):
        raise InvalidPricingInput({field: [message]})
    return value  # type: ignore[return-value]


def check_order_id(order_id: object) -> UUID:
    """:raises InvalidPricingInput: not a UUID."""
    if not isinstance(order_id, UUID):
        raise InvalidPricingInput({"order_id": ["Give the order's id as a UUID."]})
    return order_id

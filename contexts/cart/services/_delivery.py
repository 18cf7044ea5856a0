"""The delivery choice: a destination country and a shipping method, judged by pricing (which owns
zones, rates and tax), stored by the cart."""

from dataclasses import replace
from decimal import Decimal
from typing import Any

from django_countries import countries

from contexts.cart import domain, selectors
from contexts.cart.exceptions import CountryRequired, InvalidCartInput, ShippingUnavailable
from contexts.cart.selectors import CartState
from contexts.cart.services._writes import Change, commit, ensure_open
from contexts.pricing import api as pricing_api

UNSET: Any = object()
MAX_METHOD_LENGTH = 64


def clean_country(country: object) -> str:
    """An ISO 3166-1 alpha-2 code (``de`` is read as ``DE``).

    :raises InvalidCartInput: anything else.
    """
    if isinstance(country, str) and len(country.strip()) == 2:
        code = country.strip().upper()
        if code in countries:
            return code
    raise InvalidCartInput({"country": ["Give an ISO 3166-1 alpha-2 country code, such as DE."]})


def _clean_method(method: object) -> str:
    if not isinstance(method, str) or not method.strip() or len(method.strip()) > MAX_METHOD_LENGTH:
        raise InvalidCartInput(
            {"shipping_method": [f"Give a shipping method's code (at most {MAX_METHOD_LENGTH} characters)."]}
        )
    if domain.has_control_characters(method):
        raise InvalidCartInput({"shipping_method": ["A shipping method's code holds no control characters."]})
    return method.strip()


def set_delivery(
    *, cart_id: object, customer_id: int | None, country: object = UNSET, shipping_method: object = UNSET
) -> domain.Cart:
    """Choose the destination country and/or the shipping method; None clears a choice.

    Changing only the country keeps the method when it serves the new country and drops it otherwise.

    :raises InvalidCartInput: an unknown country or a malformed method.
    :raises CountryRequired: a method chosen while the cart has no country.
    :raises ShippingUnavailable: the method does not deliver to the country in the cart's currency.
    """
    new_country = UNSET if country is UNSET else (None if country is None else clean_country(country))
    new_method = (
        UNSET if shipping_method is UNSET else (None if shipping_method is None else _clean_method(shipping_method))
    )
    state = selectors.cart_for(cart_id, customer_id)
    ensure_open(state)
    target_country = state.country if new_country is UNSET else new_country
    target_method = state.shipping_method if new_method is UNSET else new_method
    if target_country is None:
        target_method = None
        if new_method not in (UNSET, None):
            raise CountryRequired("Choose the destination country first.")
    prospective = replace(state, country=target_country, shipping_method=target_method)
    view = selectors.priced(prospective)
    if target_method is not None and not state.lines:  # nothing to quote: ask pricing what serves the country
        offered = pricing_api.shipping_methods(country=target_country, currency=state.currency, subtotal=Decimal(0))
        view = replace(view, shipping_available=target_method in {option.code for option in offered})
    if target_method is not None and not view.shipping_available:
        if new_method is not UNSET:
            raise ShippingUnavailable(method=target_method, country=target_country)
        target_method = None  # the country changed and the method chosen before does not serve it
        view = selectors.priced(replace(prospective, shipping_method=None))

    def fields(current: CartState) -> dict[str, object]:
        return {"country": target_country, "shipping_method": target_method}

    return commit(state, Change(fields=fields), view)


def shipping_options(
    *, cart_id: object, customer_id: int | None, country: object = None
) -> tuple[domain.ShippingOption, ...]:
    """The methods that deliver to ``country`` (or the cart's), priced for this cart's discounted
    subtotal (free-shipping thresholds applied), cheapest first.

    :raises CountryRequired: no country given and none chosen on the cart.
    :raises InvalidCartInput: an unknown country.
    """
    state = selectors.cart_for(cart_id, customer_id)
    if country is None or country == "":
        if state.country is None:
            raise CountryRequired("Give ?country= or choose the cart's country first.")
        code = state.country
    else:
        code = clean_country(country)
    view = selectors.priced(replace(state, country=code, shipping_method=None))
    subtotal = sum((line.line_total for line in view.lines), start=selectors.ZERO)
    return tuple(
        domain.ShippingOption(
            code=option.code,
            name=option.name,
            price=option.price,
            currency=option.currency,
            delivery_days=option.delivery_days,
            free_over=option.free_over,
        )
        for option in pricing_api.shipping_methods(country=code, currency=state.currency, subtotal=subtotal)
    )

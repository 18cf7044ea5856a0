"""Input validation, shared by services and models' ``clean()`` so admin and api refuse alike.

Each ``*_error`` returns a message (or ``None``) for one value; each ``*_errors`` returns the
messages of a whole definition by field. The one home of each rule (the SKU rule, the currency
check, amounts, windows).
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from commerce.money import MoneyError, minor_units
from contexts.pricing.domain._discounts import HUNDRED, ZERO, DiscountKind, PromotionScope
from contexts.pricing.domain._tax import TaxClass

# DecimalField(max_digits=12, decimal_places=2) holds at most this.
MAX_AMOUNT = Decimal("9999999999.99")
MAX_SKU = 64
NUL = "\x00"

Errors = dict[str, list[str]]


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


MAX_INT = 2**31 - 1  # an IntegerField / PositiveIntegerField column
MAX_ID = 2**63 - 1  # a BigIntegerField column
MAX_TEXT = 200


def text_error(value: object, *, max_length: int = MAX_TEXT, required: bool = True) -> str | None:
    if not isinstance(value, str) or (required and not value.strip()):
        return "Give a non-empty text." if required else "Give a text."
    if len(value) > max_length:
        return f"At most {max_length} characters."
    if NUL in value:
        return "A text cannot contain a NUL character."
    return None


def sku_error(value: object) -> str | None:
    """The SKU rule: a text of 1 to 64 characters (surrounding spaces ignored), no NUL character."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_SKU:
        return f"A SKU is 1 to {MAX_SKU} characters."
    if NUL in value:
        return "A SKU cannot contain a NUL character."
    return None


def code_error(value: object, *, what: str = "code") -> str | None:
    """A voucher or shipping method code: 1 to 64 characters without spaces or NUL characters."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 64 or NUL in value:
        return f"A {what} is 1 to 64 characters without spaces."
    if any(ch.isspace() for ch in value.strip()):
        return f"A {what} is 1 to 64 characters without spaces."
    return None


def int_error(value: object, *, minimum: int, maximum: int) -> str | None:
    """``value`` is a whole number (not a bool, not a string) in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        return f"Give a whole number from {minimum} to {maximum}."
    return None


def bool_error(value: object) -> str | None:
    return None if isinstance(value, bool) else "Give true or false."


def datetime_error(value: object) -> str | None:
    """``None`` or a timezone-aware ``datetime`` (a naive one is ambiguous, a string is not a time)."""
    if value is None or (isinstance(value, datetime) and value.utcoffset() is not None):
        return None
    return "Give a date and time with a time zone."


def sequence_error(value: object) -> str | None:
    """A list of items, not a bare string (which would be read character by character) nor None."""
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Iterable):
        return "Give a list."
    return None


def category_ids_error(value: object) -> str | None:
    if message := sequence_error(value):
        return message
    if any(int_error(cid, minimum=1, maximum=MAX_ID) for cid in value):  # type: ignore[attr-defined]
        return "Category ids are positive whole numbers."
    return None


def currency_error(currency: str | None, currencies: Iterable[str]) -> str | None:
    currencies = tuple(currencies)
    if not isinstance(currency, str) or currency not in currencies:
        return f"The shop does not sell in {currency!r}; it sells in {', '.join(currencies)}."
    return None


def amount_error(amount: object, currency: str | None, *, allow_zero: bool = False) -> str | None:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return "Give a finite decimal amount."
    if amount < 0 or (amount == 0 and not allow_zero):
        return "The amount must be greater than zero." if not allow_zero else "The amount cannot be negative."
    if amount > MAX_AMOUNT:
        return f"The amount cannot exceed {MAX_AMOUNT}."
    try:
        places = minor_units(currency) if isinstance(currency, str) and currency else 2
    except MoneyError:
        places = 2
    if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):
        return f"At most {places} decimal places."
    return None


def window_errors(
    starts_at: datetime | None,
    ends_at: datetime | None,
    *,
    ends_field: str = "ends_at",
    starts_field: str = "starts_at",
) -> Errors:
    errors: Errors = {}
    for field, value in ((starts_field, starts_at), (ends_field, ends_at)):
        if message := datetime_error(value):
            _add(errors, field, message)
    if errors:
        return errors
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        _add(errors, ends_field, "The end must be after the start.")
    return errors


def price_errors(
    *,
    currency: str,
    amount: object,
    sale_amount: object | None,
    sale_starts_at: datetime | None,
    sale_ends_at: datetime | None,
    currencies: Iterable[str],
) -> Errors:
    errors: Errors = {}
    if message := currency_error(currency, currencies):
        _add(errors, "currency", message)
    if message := amount_error(amount, currency):
        _add(errors, "amount", message)
    if sale_amount is not None:
        if message := amount_error(sale_amount, currency):
            _add(errors, "sale_amount", message)
        elif "amount" not in errors and sale_amount > amount:  # type: ignore[operator]
            _add(errors, "sale_amount", "The sale price cannot be above the base price.")
    elif sale_starts_at is not None or sale_ends_at is not None:
        _add(errors, "sale_amount", "A sale window needs a sale price.")
    for field, messages in window_errors(
        sale_starts_at, sale_ends_at, ends_field="sale_ends_at", starts_field="sale_starts_at"
    ).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def discount_errors(*, kind: str, value: object, currency: str | None, currencies: Iterable[str]) -> Errors:
    errors: Errors = {}
    if kind not in DiscountKind.__members__.values():
        _add(errors, "kind", f"Choose one of {', '.join(DiscountKind)}.")
        return errors
    if currency is not None and (message := currency_error(currency, currencies)):
        _add(errors, "currency", message)
    if kind == DiscountKind.PERCENTAGE:
        if not isinstance(value, Decimal) or not value.is_finite() or not (0 < value <= HUNDRED):
            _add(errors, "value", "A percentage must be above 0 and at most 100.")
        elif value != value.quantize(Decimal("0.01"), rounding=ROUND_DOWN):  # the column holds 2 decimals
            _add(errors, "value", "At most 2 decimal places.")
    else:
        if currency is None:
            _add(errors, "currency", "A fixed amount needs a currency.")
        if message := amount_error(value, currency):
            _add(errors, "value", message)
    return errors


def promotion_errors(
    *,
    name: object = "promotion",
    priority: object = 0,
    stacks: object = False,
    is_active: object = True,
    kind: str,
    value: object,
    currency: str | None,
    scope: str,
    skus: Sequence[str],
    category_ids: Sequence[int],
    min_subtotal: object,
    starts_at: datetime | None,
    ends_at: datetime | None,
    currencies: Iterable[str],
) -> Errors:
    errors = discount_errors(kind=kind, value=value, currency=currency, currencies=currencies)
    if message := text_error(name):
        _add(errors, "name", message)
    if message := int_error(priority, minimum=-MAX_INT - 1, maximum=MAX_INT):
        _add(errors, "priority", message)
    for field, flag in (("stacks", stacks), ("is_active", is_active)):
        if message := bool_error(flag):
            _add(errors, field, message)
    if message := sequence_error(skus):
        _add(errors, "skus", message)
        skus = ()
    elif any(sku_error(sku) for sku in skus):
        _add(errors, "skus", f"SKUs are texts of 1 to {MAX_SKU} characters without NUL characters.")
    if message := category_ids_error(category_ids):
        _add(errors, "category_ids", message)
        category_ids = ()
    if scope not in PromotionScope.__members__.values():
        _add(errors, "scope", f"Choose one of {', '.join(PromotionScope)}.")
    elif scope == PromotionScope.SKUS and not skus and "skus" not in errors:
        _add(errors, "skus", "A promotion scoped to SKUs needs at least one SKU.")
    elif scope == PromotionScope.CATEGORIES and not category_ids and "category_ids" not in errors:
        _add(errors, "category_ids", "A promotion scoped to categories needs at least one category id.")
    errors.update(_min_amount_errors("min_subtotal", min_subtotal, currency))
    for field, messages in window_errors(starts_at, ends_at).items():
        errors.setdefault(field, []).extend(messages)
    return errors


def _min_amount_errors(field: str, value: object, currency: str | None) -> Errors:
    errors: Errors = {}
    if message := amount_error(value, currency, allow_zero=True):
        _add(errors, field, message)
    elif value and currency is None:  # type: ignore[truthy-bool]
        _add(errors, "currency", "A minimum amount needs a currency.")
    return errors


def voucher_errors(
    *,
    code: str,
    kind: str,
    value: object,
    currency: str | None,
    min_spend: object,
    starts_at: datetime | None,
    ends_at: datetime | None,
    usage_limit: int | None,
    per_customer_limit: int | None,
    currencies: Iterable[str],
    times_used: int = 0,
    description: object = "",
    is_active: object = True,
) -> Errors:
    errors = discount_errors(kind=kind, value=value, currency=currency, currencies=currencies)
    if message := text_error(description, required=False):
        _add(errors, "description", message)
    if message := bool_error(is_active):
        _add(errors, "is_active", message)
    if message := code_error(code):
        _add(errors, "code", message)
    errors.update(_min_amount_errors("min_spend", min_spend, currency))
    for field, limit in (("usage_limit", usage_limit), ("per_customer_limit", per_customer_limit)):
        if limit is not None and int_error(limit, minimum=1, maximum=MAX_INT):
            _add(errors, field, f"A limit is a whole number from 1 to {MAX_INT} (leave it empty for no limit).")
    if "usage_limit" not in errors and usage_limit is not None and usage_limit < times_used:
        _add(errors, "usage_limit", f"The voucher has already been used {times_used} times: the limit cannot be lower.")
    for field, messages in window_errors(starts_at, ends_at).items():
        errors.setdefault(field, []).extend(messages)
    return errors


# --- Shipping and tax ----------------------------------------------------------------------------

MAX_DELIVERY_DAYS = 365


def country_error(code: object, known: Iterable[str]) -> str | None:
    """An ISO 3166-1 alpha-2 code in capitals that ``known`` holds (``de`` and ``DEU`` are refused)."""
    if isinstance(code, str) and len(code) == 2 and code.isascii() and code.isupper() and code in known:
        return None
    return f"Give an ISO 3166-1 alpha-2 country code in capitals, such as DE (got {code!r})."


def tax_class_error(value: object) -> str | None:
    if isinstance(value, str) and value in TaxClass.__members__.values():
        return None
    return f"Choose one of {', '.join(TaxClass)} (got {value!r})."


def tax_rate_errors(*, country: object, tax_class: object, rate: object, countries: Iterable[str]) -> Errors:
    errors: Errors = {}
    if message := country_error(country, countries):
        _add(errors, "country", message)
    if message := tax_class_error(tax_class):
        _add(errors, "tax_class", message)
    if not isinstance(rate, Decimal) or not rate.is_finite() or not ZERO <= rate <= HUNDRED:
        _add(errors, "rate", "A tax rate is a percentage from 0 to 100.")
    elif rate != rate.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        _add(errors, "rate", "At most 2 decimal places.")
    return errors


def shipping_zone_errors(*, name: object, countries: object, known: Iterable[str]) -> Errors:
    errors: Errors = {}
    if message := text_error(name, max_length=100):
        _add(errors, "name", message)
    if message := sequence_error(countries):
        _add(errors, "countries", message)
    elif not countries:  # type: ignore[truthy-bool]
        _add(errors, "countries", "A zone needs at least one country.")
    else:
        known = frozenset(known)
        bad = [code for code in countries if country_error(code, known)]  # type: ignore[attr-defined]
        if bad:
            _add(errors, "countries", f"Not ISO 3166-1 alpha-2 codes in capitals: {', '.join(map(repr, bad))}.")
    return errors


def shipping_method_errors(*, code: object, name: object, delivery_days: object, is_active: object) -> Errors:
    errors: Errors = {}
    if message := code_error(code, what="method code"):
        _add(errors, "code", message)
    if message := text_error(name, max_length=100):
        _add(errors, "name", message)
    if message := int_error(delivery_days, minimum=0, maximum=MAX_DELIVERY_DAYS):
        _add(errors, "delivery_days", message)
    if message := bool_error(is_active):
        _add(errors, "is_active", message)
    return errors


def shipping_rate_errors(*, currency: object, price: object, free_over: object, currencies: Iterable[str]) -> Errors:
    errors: Errors = {}
    if message := currency_error(currency, currencies):  # type: ignore[arg-type]
        _add(errors, "currency", message)
    if message := amount_error(price, currency, allow_zero=True):  # type: ignore[arg-type]
        _add(errors, "price", message)
    if free_over is not None and (message := amount_error(free_over, currency, allow_zero=True)):  # type: ignore[arg-type]
        _add(errors, "free_over", message)
    return errors

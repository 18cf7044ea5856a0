"""The input rules in ``domain`` (shared by the api and the admin forms): each refusal's exact field and message."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from contexts.pricing import domain
from contexts.pricing.domain import TaxClass
from tests.pricing.factories import line, rule

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
CURRENCIES = ("EUR", "JPY")
COUNTRIES = frozenset({"DE", "FR", "AT"})
FIELDS = "Give a list."


@pytest.mark.parametrize(
    ("value", "kwargs", "message"),
    [
        ("ok", {}, None),
        ("", {}, "Give a non-empty text."),
        ("   ", {}, "Give a non-empty text."),
        ("", {"required": False}, None),
        (5, {"required": False}, "Give a text."),
        (None, {}, "Give a non-empty text."),
        ("x" * 200, {}, None),
        ("x" * 201, {}, "At most 200 characters."),
        ("x" * 11, {"max_length": 10}, "At most 10 characters."),
        ("a\x00b", {}, "A text cannot contain a NUL character."),
    ],
)
def test_text_rule(value, kwargs, message):
    assert domain.text_error(value, **kwargs) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("MUG-1", None),
        (" MUG-1 ", None),
        ("x" * 64, None),
        ("x" * 65, "A SKU is 1 to 64 characters."),
        (" " * 3, "A SKU is 1 to 64 characters."),
        (7, "A SKU is 1 to 64 characters."),
        ("A\x00", "A SKU cannot contain a NUL character."),
    ],
)
def test_sku_rule(value, message):
    assert domain.sku_error(value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("SUMMER-10", None),
        ("x" * 64, None),
        ("x" * 65, "A code is 1 to 64 characters without spaces."),
        ("two words", "A code is 1 to 64 characters without spaces."),
        ("", "A code is 1 to 64 characters without spaces."),
        (None, "A code is 1 to 64 characters without spaces."),
        ("A\x00", "A code is 1 to 64 characters without spaces."),
    ],
)
def test_code_rule(value, message):
    assert domain.code_error(value) == message
    if message:
        assert domain.code_error(value, what="method code") == message.replace("A code", "A method code")


@pytest.mark.parametrize(
    ("value", "minimum", "maximum", "ok"),
    [(1, 1, 3, True), (3, 1, 3, True), (0, 1, 3, False), (4, 1, 3, False), (True, 0, 3, False), ("2", 1, 3, False)],
)
def test_int_rule(value, minimum, maximum, ok):
    message = domain.int_error(value, minimum=minimum, maximum=maximum)
    assert message == (None if ok else f"Give a whole number from {minimum} to {maximum}.")


def test_bool_sequence_datetime_and_currency_rules():
    assert domain.bool_error(False) is None and domain.bool_error(0) == "Give true or false."
    assert domain.sequence_error([]) is None and domain.sequence_error(()) is None
    for bad in ("ab", b"ab", {"a": 1}, None, 5):
        assert domain.sequence_error(bad) == FIELDS
    assert domain.datetime_error(None) is None and domain.datetime_error(NOW) is None
    for bad in (datetime(2025, 1, 1), "2025-01-01"):
        assert domain.datetime_error(bad) == "Give a date and time with a time zone."
    assert domain.currency_error("EUR", CURRENCIES) is None
    assert domain.currency_error("USD", CURRENCIES) == "The shop does not sell in 'USD'; it sells in EUR, JPY."
    assert domain.currency_error(None, CURRENCIES) == "The shop does not sell in None; it sells in EUR, JPY."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], None),
        ([], None),
        ("12", FIELDS),
        ([0], "Category ids are positive whole numbers."),
        ([True], "Category ids are positive whole numbers."),
        ([2**63], "Category ids are positive whole numbers."),
        ([2**63 - 1], None),
    ],
)
def test_category_ids_rule(value, message):
    assert domain.category_ids_error(value) == message


@pytest.mark.parametrize(
    ("amount", "currency", "allow_zero", "message"),
    [
        (D("1.25"), "EUR", False, None),
        (D("0"), "EUR", True, None),
        (D("0"), "EUR", False, "The amount must be greater than zero."),
        (D("-0.01"), "EUR", True, "The amount cannot be negative."),
        (D("-0.01"), "EUR", False, "The amount must be greater than zero."),
        (D("9999999999.99"), "EUR", False, None),
        (D("10000000000.00"), "EUR", False, "The amount cannot exceed 9999999999.99."),
        (D("1.255"), "EUR", False, "At most 2 decimal places."),
        (D("1.5"), "JPY", False, "At most 0 decimal places."),
        (D("1.25"), "XXX", False, None),  # an unknown currency is judged at 2 places (and refused elsewhere)
        (D("1.255"), None, False, "At most 2 decimal places."),
        (D("NaN"), "EUR", False, "Give a finite decimal amount."),
        (1.5, "EUR", False, "Give a finite decimal amount."),
    ],
)
def test_amount_rule(amount, currency, allow_zero, message):
    assert domain.amount_error(amount, currency, allow_zero=allow_zero) == message


def test_window_rule():
    assert domain.window_errors(NOW, NOW + timedelta(seconds=1)) == {}
    assert domain.window_errors(None, None) == {}
    assert domain.window_errors(NOW, NOW) == {"ends_at": ["The end must be after the start."]}
    assert domain.window_errors(NOW, NOW, ends_field="until", starts_field="from") == {
        "until": ["The end must be after the start."]
    }
    assert domain.window_errors("x", datetime(2025, 1, 1)) == {
        "starts_at": ["Give a date and time with a time zone."],
        "ends_at": ["Give a date and time with a time zone."],
    }


def price_errors(**overrides):
    fields = {
        "currency": "EUR",
        "amount": D("10"),
        "sale_amount": None,
        "sale_starts_at": None,
        "sale_ends_at": None,
        "currencies": CURRENCIES,
    }
    return domain.price_errors(**(fields | overrides))


def test_price_rules():
    assert price_errors() == {}
    assert price_errors(sale_amount=D("10")) == {}
    assert price_errors(sale_amount=D("10.01")) == {"sale_amount": ["The sale price cannot be above the base price."]}
    assert price_errors(amount=D("0"), sale_amount=D("5")) == {"amount": ["The amount must be greater than zero."]}
    assert price_errors(sale_amount=D("0")) == {"sale_amount": ["The amount must be greater than zero."]}
    assert price_errors(sale_starts_at=NOW) == {"sale_amount": ["A sale window needs a sale price."]}
    assert price_errors(sale_ends_at=NOW) == {"sale_amount": ["A sale window needs a sale price."]}
    assert price_errors(sale_amount=D("5"), sale_starts_at=NOW, sale_ends_at=NOW) == {
        "sale_ends_at": ["The end must be after the start."]
    }
    assert price_errors(currency="USD")["currency"] == ["The shop does not sell in 'USD'; it sells in EUR, JPY."]


def test_discount_rules():
    def errors(**kw):
        return domain.discount_errors(
            **({"kind": "percentage", "value": D("10"), "currency": None} | kw), currencies=CURRENCIES
        )

    assert errors() == {} and errors(value=D("100")) == {} and errors(value=D("0.01")) == {}
    percent = {"value": ["A percentage must be above 0 and at most 100."]}
    assert errors(value=D("0")) == percent and errors(value=D("100.01")) == percent and errors(value="5") == percent
    assert errors(value=D("Infinity")) == percent
    assert errors(value=D("10.125")) == {"value": ["At most 2 decimal places."]}
    assert errors(kind="gift") == {"kind": ["Choose one of percentage, fixed."]}
    assert errors(currency="USD") == {"currency": ["The shop does not sell in 'USD'; it sells in EUR, JPY."]}
    assert errors(kind="fixed", value=D("5")) == {"currency": ["A fixed amount needs a currency."]}
    assert errors(kind="fixed", value=D("5"), currency="EUR") == {}
    assert errors(kind="fixed", value=D("0"), currency="EUR") == {"value": ["The amount must be greater than zero."]}
    assert errors(kind="fixed", value=D("5.5"), currency="JPY") == {"value": ["At most 0 decimal places."]}


def promotion_errors(**overrides):
    fields = {
        "kind": "percentage",
        "value": D("10"),
        "currency": None,
        "scope": "basket",
        "skus": (),
        "category_ids": (),
        "min_subtotal": D("0"),
        "starts_at": NOW,
        "ends_at": None,
        "currencies": CURRENCIES,
    }
    return domain.promotion_errors(**(fields | overrides))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {}),
        ({"name": ""}, {"name": ["Give a non-empty text."]}),
        ({"priority": 2**31}, {"priority": ["Give a whole number from -2147483648 to 2147483647."]}),
        ({"priority": -(2**31)}, {}),
        ({"stacks": "yes"}, {"stacks": ["Give true or false."]}),
        ({"is_active": 1}, {"is_active": ["Give true or false."]}),
        ({"scope": "skus"}, {"skus": ["A promotion scoped to SKUs needs at least one SKU."]}),
        ({"scope": "skus", "skus": ["A"]}, {}),
        ({"scope": "skus", "skus": "A"}, {"skus": [FIELDS]}),
        (
            {"scope": "skus", "skus": ["x" * 65]},
            {"skus": ["SKUs are texts of 1 to 64 characters without NUL characters."]},
        ),
        (
            {"scope": "categories"},
            {"category_ids": ["A promotion scoped to categories needs at least one category id."]},
        ),
        ({"scope": "categories", "category_ids": [3]}, {}),
        ({"scope": "categories", "category_ids": "3"}, {"category_ids": [FIELDS]}),
        ({"scope": "everything"}, {"scope": ["Choose one of skus, categories, basket."]}),
        ({"min_subtotal": D("50")}, {"currency": ["A minimum amount needs a currency."]}),
        ({"min_subtotal": D("50"), "currency": "EUR"}, {}),
        ({"min_subtotal": D("-1"), "currency": "EUR"}, {"min_subtotal": ["The amount cannot be negative."]}),
        ({"ends_at": NOW}, {"ends_at": ["The end must be after the start."]}),
    ],
)
def test_promotion_rules(overrides, expected):
    assert promotion_errors(**overrides) == expected


def voucher_errors(**overrides):
    fields = {
        "code": "SUMMER",
        "kind": "percentage",
        "value": D("10"),
        "currency": None,
        "min_spend": D("0"),
        "starts_at": None,
        "ends_at": None,
        "usage_limit": None,
        "per_customer_limit": None,
        "currencies": CURRENCIES,
    }
    return domain.voucher_errors(**(fields | overrides))


LIMIT = "A limit is a whole number from 1 to 2147483647 (leave it empty for no limit)."


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {}),
        ({"code": "two words"}, {"code": ["A code is 1 to 64 characters without spaces."]}),
        ({"description": 5}, {"description": ["Give a text."]}),
        ({"is_active": "no"}, {"is_active": ["Give true or false."]}),
        ({"usage_limit": 0}, {"usage_limit": [LIMIT]}),
        ({"usage_limit": 1}, {}),
        ({"per_customer_limit": 0}, {"per_customer_limit": [LIMIT]}),
        ({"usage_limit": 3, "times_used": 3}, {}),
        (
            {"usage_limit": 2, "times_used": 3},
            {"usage_limit": ["The voucher has already been used 3 times: the limit cannot be lower."]},
        ),
        ({"min_spend": D("20")}, {"currency": ["A minimum amount needs a currency."]}),
        ({"starts_at": NOW, "ends_at": NOW}, {"ends_at": ["The end must be after the start."]}),
    ],
)
def test_voucher_rules(overrides, expected):
    assert voucher_errors(**overrides) == expected


def test_country_and_tax_rules():
    assert domain.country_error("DE", COUNTRIES) is None
    for bad in ("de", "DEU", "XX", "", 49, None, "Dé"):
        assert domain.country_error(bad, COUNTRIES) == (
            f"Give an ISO 3166-1 alpha-2 country code in capitals, such as DE (got {bad!r})."
        )
    assert domain.tax_class_error("reduced") is None
    assert domain.tax_class_error("Reduced") == "Choose one of standard, reduced, zero (got 'Reduced')."
    assert domain.tax_class_error(None) == "Choose one of standard, reduced, zero (got None)."

    def tax(**kw):
        return domain.tax_rate_errors(
            **({"country": "DE", "tax_class": "standard", "rate": D("19")} | kw), countries=COUNTRIES
        )

    assert tax() == {} and tax(rate=D("0")) == {} and tax(rate=D("100")) == {}
    outside = {"rate": ["A tax rate is a percentage from 0 to 100."]}
    assert tax(rate=D("-0.01")) == outside and tax(rate=D("100.01")) == outside and tax(rate=19) == outside
    assert tax(rate=D("NaN")) == outside
    assert tax(rate=D("5.555")) == {"rate": ["At most 2 decimal places."]}
    assert set(tax(country="de", tax_class="luxury")) == {"country", "tax_class"}


def test_shipping_rules():
    def zone(**kw):
        return domain.shipping_zone_errors(**({"name": "EU", "countries": ["DE"]} | kw), known=COUNTRIES)

    assert zone() == {}
    assert zone(name="") == {"name": ["Give a non-empty text."]}
    assert zone(name="x" * 101) == {"name": ["At most 100 characters."]}
    assert zone(countries="DE") == {"countries": [FIELDS]}
    assert zone(countries=[]) == {"countries": ["A zone needs at least one country."]}
    assert zone(countries=["DE", "fr", "XX"]) == {
        "countries": ["Not ISO 3166-1 alpha-2 codes in capitals: 'fr', 'XX'."]
    }

    def method(**kw):
        return domain.shipping_method_errors(
            **({"code": "standard", "name": "Standard", "delivery_days": 3, "is_active": True} | kw)
        )

    assert method() == {} and method(delivery_days=0) == {} and method(delivery_days=365) == {}
    assert method(delivery_days=366) == {"delivery_days": ["Give a whole number from 0 to 365."]}
    assert method(code="same day") == {"code": ["A method code is 1 to 64 characters without spaces."]}
    assert method(name="x" * 101) == {"name": ["At most 100 characters."]}
    assert method(is_active=None) == {"is_active": ["Give true or false."]}

    def rate(**kw):
        return domain.shipping_rate_errors(
            **({"currency": "EUR", "price": D("4.90"), "free_over": None} | kw), currencies=CURRENCIES
        )

    assert rate() == {} and rate(price=D("0"), free_over=D("0")) == {}
    assert rate(price=D("-1")) == {"price": ["The amount cannot be negative."]}
    assert rate(free_over=D("-1")) == {"free_over": ["The amount cannot be negative."]}
    assert rate(currency="USD", price=D("1")) == {
        "currency": ["The shop does not sell in 'USD'; it sells in EUR, JPY."]
    }
    assert rate(currency="JPY", price=D("4.90")) == {"price": ["At most 0 decimal places."]}


# --- arithmetic survivors ------------------------------------------------------------------------


def test_a_listing_price_applies_category_promotions_of_the_sku():
    promo = rule(1, value="10", scope="categories", category_ids=frozenset({3}))
    assert domain.listing_unit_price(
        sku="A", unit_price=D("10.00"), category_ids=[3], promotions=[promo], currency="EUR"
    ) == D("9.00")
    assert domain.listing_unit_price(
        sku="A", unit_price=D("10.00"), category_ids=[4], promotions=[promo], currency="EUR"
    ) == D("10.00")


def test_a_customer_without_uses_is_within_a_per_customer_limit_by_default():
    voucher = domain.VoucherTerms(code="V", kind=domain.DiscountKind.PERCENTAGE, value=D("10"), per_customer_limit=1)
    assert (
        domain.voucher_refusal(voucher=voucher, now=NOW, currency="EUR", gross_subtotal=D("1"), customer_id=7) is None
    )


def test_codes_are_normalized_and_a_non_text_is_no_code():
    assert domain.normalize_code("  summer10 ") == "SUMMER10"
    assert domain.normalize_code(None) == "" and domain.normalize_code(10) == ""


def test_a_class_s_rate_or_zero_when_the_country_has_none():
    rates = {"reduced": D("7"), "standard": D("19")}
    assert domain.rate_for(rates, TaxClass.REDUCED) == D("7.00") and str(domain.rate_for(rates, "zero")) == "0.00"


def test_shipping_is_free_from_the_threshold_exactly():
    assert domain.shipping_price(price=D("4.90"), free_over=D("50.00"), discounted_subtotal=D("50.00")) == D("0.00")
    assert domain.shipping_price(price=D("4.90"), free_over=D("50.00"), discounted_subtotal=D("49.99")) == D("4.90")
    assert domain.shipping_price(price=D("4.90"), free_over=None, discounted_subtotal=D("1000")) == D("4.90")


def test_tax_lines_record_their_rate_and_every_line_needs_a_rate():
    taxed = domain.apply_tax(
        line_totals=[D("11.90"), D("10.70")],
        line_rates=[D("19.00"), D("7.00")],
        shipping=None,
        shipping_rate=D("19.00"),
        prices_include_tax=True,
        currency="EUR",
    )
    assert [(item.rate, item.net, item.tax) for item in taxed.lines] == [
        (D("19.00"), D("10.00"), D("1.90")),
        (D("7.00"), D("10.00"), D("0.70")),
    ]
    with pytest.raises(ValueError):
        domain.apply_tax(
            line_totals=[D("1"), D("2")],
            line_rates=[D("19")],
            shipping=None,
            shipping_rate=D("19"),
            prices_include_tax=True,
            currency="EUR",
        )


def test_gross_subtotal_sums_quantized_lines():
    assert domain.gross_subtotal([line("A", 3, "0.335"), line("B", 1, "1.00")], "EUR") == D("2.01")  # 1.005 -> 1.01
    assert str(domain.gross_subtotal([], "EUR")) == "0.00"


def test_merge_category_ids_reads_the_sku_s_ids():
    assert domain.merge_category_ids({"A": [1, 2]}, "A") == (1, 2)
    assert domain.merge_category_ids({"A": [1]}, "B") == ()
    assert domain.merge_category_ids(None, "A") == ()


# --- second round of survivors: the currency each amount is judged in, field names, exact messages -----


def test_amounts_are_judged_in_their_own_currency_everywhere():
    assert domain.amount_error(D("1.255"), "XXX") == "At most 2 decimal places."  # unknown currency: 2 places
    jpy = "At most 0 decimal places."
    assert price_errors(currency="JPY", amount=D("10.5")) == {"amount": [jpy]}
    assert price_errors(currency="JPY", amount=D("10"), sale_amount=D("5.5")) == {"sale_amount": [jpy]}
    assert promotion_errors(currency="JPY", min_subtotal=D("10.5")) == {"min_subtotal": [jpy]}
    assert promotion_errors(kind="fixed", value=D("5"), currency="EUR") == {}
    assert voucher_errors(kind="fixed", value=D("5"), currency="EUR") == {}
    assert voucher_errors(currency="JPY", min_spend=D("10.5")) == {"min_spend": [jpy]}
    assert voucher_errors(currency="EUR", min_spend=D("-1")) == {"min_spend": ["The amount cannot be negative."]}
    assert domain.shipping_rate_errors(currency="JPY", price=D("5"), free_over=D("5.5"), currencies=CURRENCIES) == {
        "free_over": [jpy]
    }


def test_a_sale_window_names_its_own_fields():
    assert price_errors(sale_amount=D("5"), sale_starts_at="soon") == {
        "sale_starts_at": ["Give a date and time with a time zone."]
    }


def test_a_malformed_usage_limit_gets_one_message_not_two():
    assert voucher_errors(usage_limit=0, times_used=3) == {"usage_limit": [LIMIT]}


def test_a_bad_country_and_class_of_a_tax_rate_carry_their_messages():
    assert domain.tax_rate_errors(country="de", tax_class="luxury", rate=D("19"), countries=COUNTRIES) == {
        "country": ["Give an ISO 3166-1 alpha-2 country code in capitals, such as DE (got 'de')."],
        "tax_class": ["Choose one of standard, reduced, zero (got 'luxury')."],
    }


def test_a_refund_share_is_proportional_to_the_units_and_its_tax_to_the_amount():
    (share,) = domain.refund_shares(
        [domain.RefundedLine(paid=D("30.00"), tax=D("4.79"), quantity=3, refund_quantity=1)], "EUR"
    )
    assert (share.amount, share.tax) == (D("10.00"), D("1.60"))  # 4.79 x 10 / 30 = 1.5967
    (nothing,) = domain.refund_shares(
        [domain.RefundedLine(paid=D("0"), tax=D("0"), quantity=2, refund_quantity=1)], "EUR"
    )
    assert (str(nothing.amount), str(nothing.tax)) == ("0.00", "0.00")

"""commerce.money: the one rounding rule (half-up at the currency's minor unit) and input parsing."""

from decimal import Decimal

import pytest

from commerce.money import MINOR_UNITS, Money, MoneyError, minor_units, parse_amount, quantize, quantum


@pytest.mark.parametrize(
    "amount, currency, rounded",
    [
        ("12.345", "EUR", "12.35"),  # a tie at the half cent goes up (half-even would give 12.34)
        ("12.335", "EUR", "12.34"),  # half-even would also give 12.34: only the tie above tells them apart
        ("0.005", "USD", "0.01"),
        ("0.125", "GBP", "0.13"),  # half-even: 0.12
        ("-12.345", "EUR", "-12.35"),  # half-up rounds away from zero on both sides
        ("12.3449", "EUR", "12.34"),
        ("2.5", "JPY", "3"),  # half-even: 2
        ("12.344999", "EUR", "12.34"),
    ],
)
def test_amounts_round_half_up_to_the_currencys_minor_unit(amount, currency, rounded):
    result = quantize(Decimal(amount), currency)
    assert result == Decimal(rounded)
    assert str(result) == rounded  # with exactly the currency's decimals


def test_minor_units_and_quantum_follow_the_currency():
    assert minor_units("EUR") == 2 and minor_units("JPY") == 0
    assert quantum("EUR") == Decimal("0.01") and str(quantum("EUR")) == "0.01"
    assert quantum("JPY") == Decimal(1) and str(quantum("JPY")) == "1"
    assert set(MINOR_UNITS) >= {"EUR", "USD", "GBP"}


def test_an_unknown_currency_is_refused_by_name():
    with pytest.raises(MoneyError, match="'XXX'"):
        minor_units("XXX")
    with pytest.raises(MoneyError):
        Money(amount=Decimal("1.00"), currency="XXX")
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(
    "value, currency, parsed",
    [
        ("12.50", "EUR", "12.50"),
        (" 7 ", "EUR", "7.00"),
        (3, "USD", "3.00"),
        (Decimal("0.1"), "EUR", "0.10"),
        ("5", "JPY", "5"),
    ],
)
def test_amounts_are_parsed_from_decimal_strings_and_integers(value, currency, parsed):
    assert str(parse_amount(value, currency)) == parsed


@pytest.mark.parametrize(
    "value, message",
    [
        (1.5, "never floats"),
        (True, "never floats"),
        ("abc", "not a decimal amount"),
        ("NaN", "not a finite amount"),
        ("Infinity", "not a finite amount"),
        ("1.005", "at most 2 decimal places"),
        (None, "not a decimal amount"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(value, message):
    with pytest.raises(MoneyError, match=message):
        parse_amount(value, "EUR")


def test_a_float_is_refused_with_a_message_a_client_can_act_on():
    for value in (0.1, False):
        with pytest.raises(MoneyError) as refused:
            parse_amount(value, "EUR")
        assert str(refused.value) == "Amounts are decimal strings, never floats."


def test_a_yen_amount_has_no_decimals():
    with pytest.raises(MoneyError, match="at most 0 decimal places"):
        parse_amount("1.5", "JPY")


def test_money_renders_as_the_apis_strings_rounded_half_up():
    assert Money(amount=Decimal("12.5"), currency="EUR").as_json() == {"amount": "12.50", "currency": "EUR"}
    assert Money(amount=Decimal("0.125"), currency="EUR").as_json() == {"amount": "0.13", "currency": "EUR"}
    assert Money(amount=Decimal("7"), currency="JPY").as_json() == {"amount": "7", "currency": "JPY"}


def test_money_is_a_frozen_value():
    money = Money(amount=Decimal("1.00"), currency="EUR")
    assert money == Money(amount=Decimal("1.00"), currency="EUR")
    with pytest.raises(AttributeError):
        money.amount = Decimal("2.00")  # type: ignore[misc]

"""Money: a ``Decimal`` amount with an explicit currency, shared by every context.

Rounding rule, used everywhere: amounts are quantized once, at the edge of a computation, to the
currency's minor unit with ROUND_HALF_UP (12.345 EUR → 12.35 EUR). Intermediate results stay exact.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MINOR_UNITS = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "SEK": 2, "DKK": 2, "NOK": 2, "PLN": 2, "JPY": 0}


class MoneyError(ValueError):
    """An amount or currency is not valid money."""


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise MoneyError(f"Unknown currency {currency!r}.") from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round ``amount`` half-up to ``currency``'s minor unit."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def parse_amount(value: object, currency: str) -> Decimal:
    """A decimal amount from user input (string or number), refusing floats' noise and garbage."""
    if isinstance(value, float | bool):
        raise MoneyError("Amounts are decimal strings, never floats.")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MoneyError(f"{value!r} is not a decimal amount.") from None
    if not amount.is_finite():
        raise MoneyError(f"{value!r} is not a finite amount.")
    if amount != quantize(amount, currency):
        raise MoneyError(f"{currency} amounts have at most {minor_units(currency)} decimal places.")
    return quantize(amount, currency)


@dataclass(frozen=True, slots=True, kw_only=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        minor_units(self.currency)

    def as_json(self) -> dict[str, str]:
        """The API's money shape: ``{"amount": "12.50", "currency": "EUR"}``."""
        return {"amount": str(quantize(self.amount, self.currency)), "currency": self.currency}

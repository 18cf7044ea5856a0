"""The pricing context's exceptions, re-exported from ``api``."""

from typing import Any

from commerce.errors import DomainError


class PricingError(DomainError):
    """A pricing rule refused the request."""


class InvalidPricingInput(PricingError):
    """The input is not valid."""

    code = "invalid"

    def __init__(self, errors: dict[str, list[str]] | None = None, detail: str | None = None) -> None:
        self.errors = {field: list(messages) for field, messages in (errors or {}).items()}
        first = next((f"{field}: {messages[0]}" for field, messages in self.errors.items() if messages), None)
        super().__init__(detail or first)

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors} if self.errors else {}


class InvalidPrice(InvalidPricingInput):
    """The price is not valid."""


class InvalidQuantity(InvalidPricingInput):
    """The quantity is not valid."""


class UnsupportedCurrency(InvalidPricingInput):
    """The shop does not sell in this currency."""


class InvalidPromotion(InvalidPricingInput):
    """The promotion is not valid."""


class InvalidVoucherDefinition(InvalidPricingInput):
    """The voucher's terms are not valid."""


class UnknownSku(PricingError):
    """Some SKUs have no price in this currency."""

    code = "unknown_sku"

    def __init__(self, *, skus: tuple[str, ...], currency: str = "") -> None:
        self.skus = tuple(skus)
        self.currency = currency
        where = f" in {currency}" if currency else ""
        super().__init__(f"No price{where} for: {', '.join(self.skus)}.")

    def extra(self) -> dict[str, Any]:
        return {"skus": list(self.skus)}


class VoucherInvalid(PricingError):
    """The voucher cannot be used."""

    code = "voucher_invalid"

    _DETAILS = {
        "unknown": "No voucher has this code.",
        "expired": "This voucher has expired.",
        "exhausted": "This voucher has been used up.",
        "not_applicable": "This voucher does not apply to this order.",
        "min_spend": "The order does not reach this voucher's minimum spend.",
    }

    def __init__(self, *, reason: str, code: str = "", detail: str | None = None) -> None:
        self.reason = str(reason)
        self.voucher_code = code
        super().__init__(detail or self._DETAILS.get(self.reason, "This voucher cannot be used."))

    def extra(self) -> dict[str, Any]:
        return {"reason": self.reason}


class PromotionNotFound(PricingError):
    """No such promotion."""

    code = "not_found"
    http_status = 404


class PriceNotFound(PricingError):
    """No base price for this SKU in this currency."""

    code = "not_found"
    http_status = 404

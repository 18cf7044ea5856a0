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


class VoucherNotFound(PricingError):
    """No voucher has this code (looking a voucher up; using one refuses with ``VoucherInvalid``)."""

    code = "not_found"
    http_status = 404


class InvalidPriceBatch(InvalidPrice):
    """Some items of a batch of prices are not valid; nothing was written.

    ``items`` maps the index of each bad item (its position in the batch) to its SKU and its errors
    by field (``sku``, ``currency``, ``amount``, ``sale_amount``). ``errors`` holds the same messages
    flattened, keyed ``"prices[<index>].<field>"``.
    """

    def __init__(self, *, items: dict[int, tuple[str, dict[str, list[str]]]]) -> None:
        self.items = {index: (sku, dict(errors)) for index, (sku, errors) in sorted(items.items())}
        flat = {
            f"prices[{index}].{field}": messages
            for index, (_sku, errors) in self.items.items()
            for field, messages in errors.items()
        }
        count = len(self.items)
        first = next(iter(flat.items()), None)
        detail = f"{count} of the prices {'is' if count == 1 else 'are'} not valid; nothing was saved."
        if first:
            detail += f" First: {first[0]}: {first[1][0]}"
        super().__init__(flat, detail=detail)

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(sku for sku, _errors in self.items.values())

    def extra(self) -> dict[str, Any]:
        return {
            **super().extra(),
            "items": [{"index": index, "sku": sku, "errors": errors} for index, (sku, errors) in self.items.items()],
        }


class PriceBatchTooLarge(InvalidPricingInput):
    """More prices in one call than ``PRICING_MAX_PRICE_BATCH``: the caller splits the batch."""

    def __init__(self, *, given: int, limit: int) -> None:
        self.given = given
        self.limit = limit
        super().__init__({"prices": [f"At most {limit} prices per call ({given} given); split the batch."]})

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "max_items": self.limit}


class UnknownCountry(InvalidPricingInput):
    """Not an ISO 3166-1 alpha-2 country code in capitals (``de`` and ``DEU`` are refused too)."""


class InvalidShipping(InvalidPricingInput):
    """A shipping zone, method or rate is not valid."""


class InvalidTaxRate(InvalidPricingInput):
    """A tax rate is not valid."""


class ShippingUnavailable(PricingError):
    """The shipping method is unknown, switched off, or does not serve this country in this currency."""

    code = "shipping_unavailable"
    http_status = 409

    def __init__(self, *, method: str, country: str, currency: str = "", detail: str | None = None) -> None:
        self.method = method
        self.country = country
        self.currency = currency
        super().__init__(detail or f"The shipping method {method!r} does not deliver to {country}.")

    def extra(self) -> dict[str, Any]:
        return {"shipping_method": self.method, "country": self.country}

"""The cart context's exceptions, re-exported from ``api``."""

from typing import Any

from commerce.errors import DomainError


class CartError(DomainError):
    """A cart rule refused the request."""


class CartNotFound(CartError):
    """No such cart (or it belongs to someone else)."""

    code = "not_found"
    http_status = 404


class LineNotFound(CartError):
    """This cart has no such line."""

    code = "not_found"
    http_status = 404


class CartClosed(CartError):
    """This cart has been checked out and can no longer change."""

    code = "cart_closed"
    http_status = 409


class CheckoutInProgress(CartError):
    """This cart is being checked out: it cannot change, nor be checked out again, until that checkout ends."""

    code = "checkout_in_progress"
    http_status = 409


class CartChanged(CartError):
    """The cart changed after checkout read it; check it out again to buy it as it is now."""

    code = "cart_changed"
    http_status = 409


class InvalidCartInput(CartError):
    """The input is not valid."""

    code = "invalid"
    http_status = 400

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None) -> None:
        self.errors = {field: list(messages) for field, messages in errors.items()}
        first = next((f"{field}: {messages[0]}" for field, messages in self.errors.items() if messages), None)
        super().__init__(detail or first)

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors}


class CartFull(InvalidCartInput):
    """The cart already holds the most lines a cart may hold."""

    def __init__(self, *, max_lines: int) -> None:
        self.max_lines = max_lines
        super().__init__({"sku": [f"A cart holds at most {max_lines} lines."]})

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "max_lines": self.max_lines}


class QuantityTooLarge(InvalidCartInput):
    """A line would hold more than the per-line maximum."""

    def __init__(self, *, max_quantity: int, in_cart: int = 0) -> None:
        self.max_quantity = max_quantity
        self.in_cart = in_cart
        already = f" ({in_cart} already in the cart)" if in_cart else ""
        super().__init__({"quantity": [f"A line holds at most {max_quantity} units{already}."]})

    def extra(self) -> dict[str, Any]:
        return {**super().extra(), "max_quantity": self.max_quantity}


class UnknownSku(CartError):
    """The shop does not sell this SKU."""

    code = "unknown_sku"
    http_status = 400

    def __init__(self, *, sku: str) -> None:
        self.sku = sku
        super().__init__(f"The shop does not sell {sku[:64]!r}.")

    def extra(self) -> dict[str, Any]:
        return {"sku": self.sku[:64]}


class InsufficientStock(CartError):
    """Not that many units are available."""

    code = "insufficient_stock"
    http_status = 409

    def __init__(self, *, sku: str, requested: int, available: int) -> None:
        self.sku = sku
        self.requested = requested
        self.available = available
        super().__init__(f"Only {available} of {sku} available ({requested} wanted).")

    def extra(self) -> dict[str, Any]:
        return {"sku": self.sku, "requested": self.requested, "available": self.available}


class CartNotAnonymous(CartError):
    """Only an anonymous cart can be assigned to a customer (a conflict with the cart's state: the
    request itself is well-formed)."""

    code = "cart_not_anonymous"
    http_status = 409


class CountryRequired(CartError):
    """Shipping methods are listed for a country: none was given and the cart has none chosen yet."""

    code = "country_required"
    http_status = 409


class VoucherInvalid(CartError):
    """The voucher cannot be used on this cart."""

    code = "voucher_invalid"
    http_status = 400

    def __init__(self, *, reason: str, voucher_code: str = "", detail: str | None = None) -> None:
        self.reason = reason
        self.voucher_code = voucher_code
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"reason": self.reason}


class ShippingUnavailable(CartError):
    """The shipping method is unknown, switched off, or does not deliver to this country."""

    code = "shipping_unavailable"
    http_status = 409

    def __init__(self, *, method: str, country: str, detail: str | None = None) -> None:
        self.method = method
        self.country = country
        super().__init__(detail or f"The shipping method {method[:64]!r} does not deliver to {country}.")

    def extra(self) -> dict[str, Any]:
        return {"shipping_method": self.method[:64], "country": self.country}

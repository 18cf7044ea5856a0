"""The orders context's exceptions, re-exported from ``api``.

Each carries the machine code and HTTP status of the public contract (API.md).
"""

from typing import Any
from uuid import UUID

from commerce.errors import DomainError
from commerce.idempotency import keys as idempotency


class OrdersError(DomainError):
    """An orders rule refused the request."""


class OrderNotFound(OrdersError):
    """No such order."""

    code = "not_found"
    http_status = 404


class ReturnNotFound(OrdersError):
    """No such return."""

    code = "not_found"
    http_status = 404


class InvalidOrderInput(OrdersError):
    """The request is not acceptable."""

    code = "invalid"
    http_status = 400

    def __init__(self, detail: str | None = None, *, errors: dict[str, list[str]] | None = None) -> None:
        self.errors = errors or {}
        super().__init__(detail or next((f"{k}: {v[0]}" for k, v in self.errors.items()), None))

    def extra(self) -> dict[str, Any]:
        return {"errors": self.errors} if self.errors else {}


class InvalidTransition(OrdersError):
    """The order cannot move to this status from the one it is in."""

    code = "invalid_transition"
    http_status = 409


class CartEmpty(OrdersError):
    """The cart has no lines to check out."""

    code = "cart_empty"
    http_status = 400


class AccountClosed(OrdersError):
    """This account is closed: it cannot place orders."""

    code = "account_closed"
    http_status = 403


class CheckoutInProgress(OrdersError):
    """This cart is being checked out by another request; try again when that checkout has ended."""

    code = "checkout_in_progress"
    http_status = 409
    retry_after = 5  # seconds: a checkout takes about that long
    forget_key = True  # nothing was started: the same key checks the cart out once that checkout ended


class CartAlreadyCheckedOut(OrdersError):
    """This cart was already checked out."""

    code = "cart_closed"
    http_status = 409


class ShippingMethodRequired(OrdersError):
    """Choose a shipping method before checking out."""

    code = "shipping_method_required"
    http_status = 400


class CheckoutVoucherInvalid(OrdersError):
    """A voucher on the cart stopped being valid; remove it or check out again."""

    code = "voucher_invalid"
    http_status = 409

    def __init__(self, detail: str | None = None, *, reason: str = "", voucher_code: str = "") -> None:
        self.reason = reason
        self.voucher_code = voucher_code
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if self.reason:
            body["reason"] = self.reason
        if self.voucher_code:
            body["voucher"] = self.voucher_code
        return body


class _OrderFailure(OrdersError):
    def __init__(self, detail: str | None = None, *, order_id: UUID | None = None) -> None:
        self.order_id = order_id
        super().__init__(detail)

    def extra(self) -> dict[str, Any]:
        return {"order_id": str(self.order_id)} if self.order_id else {}


class PaymentDeclined(_OrderFailure):
    """The payment was declined; no money was taken."""

    code = "payment_declined"
    http_status = 402


class PaymentError(_OrderFailure):
    """The payment provider failed; no money was taken."""

    code = "payment_error"
    http_status = 502


class CheckoutInterrupted(_OrderFailure):
    """Checkout was interrupted and undone: nothing was charged and no stock is held. Please try again."""

    code = "checkout_failed"
    http_status = 409


class NotCancellable(OrdersError):
    """This order can no longer be cancelled."""

    code = "not_cancellable"
    http_status = 409


class NotReturnable(OrdersError):
    """Nothing of this order has shipped yet, so nothing can be returned."""

    code = "not_returnable"
    http_status = 409


class NotShippable(OrdersError):
    """This order has nothing left to ship in its current status."""

    code = "not_shippable"
    http_status = 409


class ReturnAlreadyReceived(OrdersError):
    """This return was already received."""

    code = "return_received"
    http_status = 409


class RequestInProgress(OrdersError, idempotency.RequestInProgress):
    """This checkout is still running (another request or the recovery job holds it); retry shortly.

    The Idempotency-Key store's own ``request_in_progress``: the retry takes the key's claim over."""

    # True when this request's own saga run left the order pending (it lost its lease, or a step failed
    # after the point of no return): the answer is the same, but the failure is the shop's (docs/slo.md).
    shops_failure = False


class CheckoutStalled(RequestInProgress):
    """This checkout could not finish yet; retry shortly (the recovery job finishes it meanwhile).

    The answer a customer gets is ``request_in_progress`` as for a request still running elsewhere;
    the checkout objective counts it against the shop."""

    shops_failure = True

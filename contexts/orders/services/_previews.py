"""What a staff action would refund, for its confirmation page: the same rules the action applies
(``domain.refund_on_cancel``, ``return_share``), read without changing anything."""

from decimal import Decimal

from contexts.orders import domain
from contexts.orders.models import Order, Payment, Refund, Return
from contexts.orders.services._lifecycle import return_share
from contexts.orders.services._orders import db


def refund_on_cancel(order: Order) -> Decimal:
    """What cancelling ``order`` now would send back."""
    payment = Payment.objects.using(db()).filter(order=order).first()
    if payment is None:
        return Decimal(0)
    return domain.refund_on_cancel(captured=payment.captured, refunded=payment.refunded)


def refund_on_receipt(ret: Return) -> Decimal:
    """What receiving ``ret`` now would send back (its recorded share, once a receipt began)."""
    recorded = Refund.objects.using(db()).filter(ret=ret).first()
    if recorded is not None:
        return recorded.amount
    return return_share(ret.order, ret).amount

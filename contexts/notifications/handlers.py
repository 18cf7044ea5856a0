"""The notifications context's subscriptions: what customers are told when something happens to them.

| event                          | message               | addressed from                                  |
|--------------------------------|-----------------------|-------------------------------------------------|
| identity.CustomerRegistered    | `welcome`             | the event                                       |
| identity.PasswordResetRequested| `password_reset`      | the event (its link is secret: see below)       |
| orders.OrderPlaced            | `order_confirmation`  | the event (also remembered as the order contact) |
| inventory.ShipmentDispatched  | `order_dispatched`    | the order contact remembered from OrderPlaced   |
| orders.OrderCancelled         | `order_cancelled`     | the event                                       |
| orders.RefundIssued           | `refund_issued`       | the event (a return's; a cancellation's refund is told in `order_cancelled`) |

And one that is not a message: ``identity.AccountClosed`` erases the customer's messages here.

Everything a message needs comes in the events: no handler calls another context (this module imports
their ``events`` and nothing else), so notifications run unchanged as a service of their own. Guest
orders are told at the order's email. The reset link of ``PasswordResetRequested`` is a secret field
of the event: the bus blanks it in the outbox once delivered, and the message's body is blanked once
sent (``services.messages``).
"""

from uuid import UUID

from commerce.eventbus import subscriber
from contexts.identity import events as identity_events
from contexts.inventory import events as inventory_events
from contexts.notifications import selectors
from contexts.notifications.exceptions import NotificationDeferred
from contexts.notifications.models import Message
from contexts.notifications.services import Draft, erase_customer, money, record_notification, remember_order_contact
from contexts.orders import events as orders_events

Kind = Message.Kind


@subscriber(identity_events.CustomerRegistered)
def welcome_customer_when_registered(event: identity_events.CustomerRegistered) -> None:
    record_notification(
        Draft(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            kind=Kind.WELCOME,
            recipient=event.email,
            customer_id=event.customer_id,
            context={"email": event.email},
        )
    )


@subscriber(orders_events.OrderPlaced)
def send_confirmation_when_order_placed(event: orders_events.OrderPlaced) -> None:
    remember_order_contact(
        order_id=event.order_id, number=event.number, customer_id=event.customer_id, email=event.email
    )
    currency = event.currency
    lines = [
        {
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": money(line.unit_price, currency),
            "line_total": money(line.line_total, currency),
        }
        for line in event.lines
    ]
    record_notification(
        Draft(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            kind=Kind.ORDER_CONFIRMATION,
            recipient=event.email,
            customer_id=event.customer_id,
            order_id=event.order_id,
            order_number=event.number,
            context={
                "number": event.number,
                "lines": lines,
                "subtotal": money(event.subtotal, currency),
                "discount_total": money(event.discount_total, currency) if event.discount_total else "",
                "shipping_method": event.shipping_method,
                "shipping_total": money(event.shipping_total, currency),
                "tax_total": money(event.tax_total, currency),
                "total": money(event.total, currency),
                "vouchers": ", ".join(event.vouchers),
                "address": event.shipping_address,
            },
        )
    )


@subscriber(inventory_events.ShipmentDispatched)
def alert_customer_when_shipment_dispatched(event: inventory_events.ShipmentDispatched) -> None:
    try:
        order_id = UUID(event.reference)
    except ValueError:
        return  # not an order's shipment: nobody to tell
    contact = selectors.order_contact(order_id)
    if contact is None:
        # The order's OrderPlaced has not reached us yet: fail, and the bus retries with backoff.
        raise NotificationDeferred(f"Order {order_id} is not known here yet; the dispatch alert waits for it.")
    record_notification(
        Draft(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            kind=Kind.ORDER_DISPATCHED,
            recipient=contact.email,
            customer_id=contact.customer_id,
            order_id=order_id,
            order_number=contact.number,
            context={
                "number": contact.number,
                "shipment_id": event.shipment_id,
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in event.lines],
            },
        )
    )


@subscriber(orders_events.OrderCancelled)
def tell_customer_when_order_cancelled(event: orders_events.OrderCancelled) -> None:
    record_notification(
        Draft(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            kind=Kind.ORDER_CANCELLED,
            recipient=event.email,
            customer_id=event.customer_id,
            order_id=event.order_id,
            order_number=event.number,
            context={
                "number": event.number,
                "total": money(event.total, event.currency),
                "refunded": money(event.refunded, event.currency) if event.refunded else "",
                "cancelled_by": event.cancelled_by,
            },
        )
    )


@subscriber(orders_events.RefundIssued)
def tell_customer_when_refund_issued(event: orders_events.RefundIssued) -> None:
    if event.reason == "cancellation":
        return  # one fact, one mail: ``order_cancelled`` says what goes back
    record_notification(
        Draft(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            kind=Kind.REFUND_ISSUED,
            recipient=event.email,
            customer_id=event.customer_id,
            order_id=event.order_id,
            order_number=event.number,
            context={
                "number": event.number,
                "amount": money(event.amount, event.currency),
                "reason": event.reason,
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in event.lines],
            },
        )
    )


@subscriber(identity_events.PasswordResetRequested)
def send_reset_link_when_requested(event: identity_events.PasswordResetRequested) -> None:
    if not (event.token or event.reset_url):
        return  # the secret was already pruned from the outbox: nothing left to send
    record_notification(
        Draft(
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            kind=Kind.PASSWORD_RESET,
            recipient=event.email,
            customer_id=event.customer_id,
            context={
                "first_name": event.first_name,
                "reset_url": event.reset_url,
                "uid": event.uid,
                "token": event.token,
            },
        )
    )


# Also in the monolith once notifications is lifted: the messages it recorded before the move stay in
# its tables, and a closed account must leave no address there either.
@subscriber(identity_events.AccountClosed, even_when_lifted=True)
def erase_messages_when_account_closed(event: identity_events.AccountClosed) -> None:
    erase_customer(customer_id=event.customer_id, email=event.email)

"""Writes of the notifications context, one private module per concern; the public names are re-exported here."""

from contexts.notifications.services.messages import (
    Draft,
    money,
    record_notification,
    remember_order_contact,
    resend_notifications,
    send_due_notifications,
    send_notification,
)
from contexts.notifications.services.personal_data import erase_customer

__all__ = [
    "Draft",
    "erase_customer",
    "money",
    "record_notification",
    "remember_order_contact",
    "resend_notifications",
    "send_due_notifications",
    "send_notification",
]

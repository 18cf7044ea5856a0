"""The notifications context's own state: the messages customers were sent, and whom each order
belongs to. No relation leaves this context; customers and orders are plain ids."""

from uuid import UUID, uuid5

from django.db import models
from django.utils import timezone

# Fixed for good: a message's public id is derived from it, and changing it would change every customer's ids.
MESSAGE_ID_NAMESPACE = UUID("3a48e981-2668-44dd-b3b1-dca821c76835")


def public_message_id(event_id: UUID, kind: str) -> UUID:
    """A message's public id: the same for the same ``(event_id, kind)`` wherever and whenever it is recorded,
    so the monolith (recording only) and the notifications service (recording and sending) give a customer the
    same id for the same message while both hold it, without either telling the other."""
    return uuid5(MESSAGE_ID_NAMESPACE, f"{event_id}:{kind}")


class Message(models.Model):
    """One message to a customer, recorded before it is sent (the message log, and the customer's
    history at ``/me/notifications``).

    At most one per ``(event_id, kind)``: a redelivered event finds its row and sends nothing again.
    ``status`` walks pending → sending → sent; a failed send goes back to be retried with backoff; a
    ``sending`` row whose worker vanished becomes ``unconfirmed`` (it may have left) for staff to
    check and resend, rather than being sent a second time behind their back. ``recorded`` rows were
    written by a process that does not send (the monolith while the notifications service sends).

    A secret kind (a password reset) keeps its body only until it is sent or given up: a stored reset
    link would be a stored password. Staff never see its body.

    What a customer is shown is what every deployable holding the message knows alike: ``public_id``
    (derived from ``(event_id, kind)``, never the row's own ``id``, which each database gives its way) and
    ``occurred_at`` (when the event happened; ``created_at`` is when this deployable recorded it). ``status``
    and ``sent_at`` are the sender's alone, so only the sender's export shows them.
    """

    class Kind(models.TextChoices):
        WELCOME = "welcome", "Welcome"
        PASSWORD_RESET = "password_reset", "Password reset"
        ORDER_CONFIRMATION = "order_confirmation", "Order confirmation"
        ORDER_DISPATCHED = "order_dispatched", "Order dispatched"
        ORDER_CANCELLED = "order_cancelled", "Order cancelled"
        REFUND_ISSUED = "refund_issued", "Refund issued"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed, will retry"
        UNCONFIRMED = "unconfirmed", "Unconfirmed (worker lost while sending)"
        GAVE_UP = "gave_up", "Gave up"
        RECORDED = "recorded", "Recorded only (another process sends)"

    SECRET_KINDS = frozenset({Kind.PASSWORD_RESET})

    event_id = models.UUIDField()
    kind = models.CharField(max_length=32, choices=Kind.choices)
    public_id = models.UUIDField(unique=True, editable=False)  # ``public_message_id(event_id, kind)``, set on save
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    order_id = models.UUIDField(null=True, blank=True, db_index=True)
    order_number = models.CharField(max_length=32, blank=True)
    recipient = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=200)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)  # the event's, as every deployable knows it
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-public_id"]
        constraints = [models.UniqueConstraint(fields=["event_id", "kind"], name="notifications_message_once")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notifications_message_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} to {self.recipient or '(erased)'} ({self.status})"

    def save(self, *args, **kwargs) -> None:
        """The public id follows from the message's key, whoever creates the row (a handler, an import, a test)."""
        self.public_id = public_message_id(self.event_id, self.kind)
        super().save(*args, **kwargs)

    @property
    def secret(self) -> bool:
        return self.kind in self.SECRET_KINDS


class OrderContact(models.Model):
    """Local projection of whom an order belongs to, from ``orders.OrderPlaced``.

    ``inventory.ShipmentDispatched`` names only the order (its reference); this lets the dispatch
    alert be addressed without asking the orders context.
    """

    order_id = models.UUIDField(primary_key=True)
    number = models.CharField(max_length=32)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    email = models.EmailField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"order {self.number}"

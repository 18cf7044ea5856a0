"""Messages: record first, send, mark sent.

A handler records the message (rendered, addressed) in the notification log in the same transaction
as the bus's inbox row, so a redelivered event finds both and does nothing; the unique
``(event_id, kind)`` backs that up. Sending happens after commit and claims the row first with a
conditional update, so the after-commit send and the periodic retry never both send it. A send the
mail server refuses is retried with backoff by ``send_due_notifications``, then given up. The one
window no database can close is a worker dying after the mail server accepted a message and before
the row is marked sent: such a row is left ``sending``, and once its lease runs out it is marked
``unconfirmed`` for staff to look at and resend (the admin's ``resend`` action), instead of being
sent a second time behind their back. Each message carries a stable ``Message-ID`` derived from the
event, so a resend is recognisable as the same message by mail software that deduplicates.

A process that does not send (``notifications_settings().sends`` False: the monolith once the
notifications service sends) records each message as ``recorded`` and never sends it, so its
``/me/notifications`` stays right while the gateway still routes some customers to it. A secret
kind (a password reset) keeps its body only until it has left (or been given up), and is never
recorded with a body where it is not sent.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from commerce import metrics
from commerce.database import atomic_in, database_for
from commerce.money import quantize
from contexts.notifications.conf import notifications_settings
from contexts.notifications.models import Message, OrderContact

logger = logging.getLogger(__name__)

Kind = Message.Kind
Status = Message.Status
RETRYABLE = (Status.PENDING, Status.FAILED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Draft:
    """What a handler asks to be sent: who to, about what, and the template context. ``occurred_at`` is the
    event's: the time the customer is shown, the same in every deployable that records the message."""

    event_id: UUID
    kind: str
    occurred_at: datetime
    recipient: str
    customer_id: int | None = None
    order_id: UUID | None = None
    order_number: str = ""
    context: dict[str, Any]


def money(amount: Decimal, currency: str) -> str:
    """``12.50 EUR``: the amount in the currency's minor units, as customers read it."""
    return f"{quantize(Decimal(amount), currency)} {currency}"


def _render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    context = {"shop_name": notifications_settings().shop_name, **context}
    subject = " ".join(render_to_string(f"notifications/{kind}_subject.txt", context).split())
    text = render_to_string(f"notifications/{kind}.txt", context)
    html = render_to_string(f"notifications/{kind}.html", context)
    return subject[:200], text, html


def record_notification(message: Draft) -> Message | None:
    """Write the message to the log in the caller's transaction and send it once that commits.

    Idempotent per ``(event_id, kind)``: recording the same event again returns the existing row and
    sends nothing more. A message without a recipient (an erased customer) is not recorded. Where
    this process does not send, the row is ``recorded`` and nothing is sent.
    """
    if not message.recipient:
        return None
    sends = notifications_settings().sends
    subject, text, html = _render(message.kind, message.context)
    if not sends and message.kind in Message.SECRET_KINDS:
        text = html = ""  # never sent from here: no reason to hold the secret
    notification, created = Message.objects.get_or_create(
        event_id=message.event_id,
        kind=message.kind,
        defaults={
            "occurred_at": message.occurred_at,
            "customer_id": message.customer_id,
            "order_id": message.order_id,
            "order_number": message.order_number,
            "recipient": message.recipient,
            "subject": subject,
            "body_text": text,
            "body_html": html,
            "status": Status.PENDING if sends else Status.RECORDED,
        },
    )
    if created and sends:
        transaction.on_commit(
            partial(send_notification, notification_id=notification.pk),
            using=database_for("notifications"),
            robust=True,
        )
    return notification


def _message_id(notification: Message) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "localhost"
    return f"<{notification.kind}.{notification.event_id}@{domain}>"


def send_notification(*, notification_id: int, timed: bool = True) -> str:
    """Send one recorded notification if it is due and nobody else is sending or has sent it.

    The order-to-mail latency it records starts at the message's ``occurred_at``: the event's time, in
    every deployable and on every retry. Not ``timed``: a staff resend, sent when staff decided, which
    says nothing of how fast the shop mails an order (docs/slo.md).

    Returns ``sent`` when this call sent it, ``failed`` or ``gave_up`` when the mail server refused it,
    ``skipped`` when it was not this call's to send (not due, being sent, already sent). Never raises for the mail server's failure: that is recorded on the row and retried later.
    """
    now = timezone.now()
    claimed = Message.objects.filter(pk=notification_id, status__in=RETRYABLE, next_attempt_at__lte=now).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    notification = Message.objects.get(pk=notification_id)
    email = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        to=[notification.recipient],
        headers={"Message-ID": _message_id(notification)},
    )
    if notification.body_html:
        email.attach_alternative(notification.body_html, "text/html")
    try:
        email.send(fail_silently=False)
    except Exception as exc:
        return _record_failure(notification, f"{type(exc).__name__}: {exc}")
    Message.objects.filter(pk=notification.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=timezone.now(), last_error="", **_forgotten(notification)
    )
    if timed:
        metrics.notification_sent(notification.kind, notification.occurred_at)
    logger.info("Sent %s notification %s", notification.kind, notification.pk)
    return Status.SENT


def _forgotten(notification: Message) -> dict[str, str]:
    """The fields to blank once a secret message (a reset link) is done with: it is never sent again."""
    return {"body_text": "", "body_html": ""} if notification.secret else {}


def _record_failure(notification: Message, error: str) -> str:
    config = notifications_settings()
    forget: dict[str, str] = {}
    if notification.attempts >= config.max_attempts:
        status, delay = Status.GAVE_UP, 0.0
        forget = _forgotten(notification)
        logger.error("Gave up notification %s after %d attempts: %s", notification.pk, notification.attempts, error)
    else:
        status = Status.FAILED
        delay = config.backoff_seconds * 2 ** max(notification.attempts - 1, 0)
        logger.warning("Message %s failed (attempt %d): %s", notification.pk, notification.attempts, error)
    Message.objects.filter(pk=notification.pk, status=Status.SENDING).update(
        status=status, last_error=error[:4000], next_attempt_at=timezone.now() + timedelta(seconds=delay), **forget
    )
    return status


def send_due_notifications(*, limit: int = 200) -> int:
    """The periodic job: send what is due (never sent, or failed and waiting out its backoff) and mark
    messages whose worker vanished mid-send as unconfirmed. Returns how many were sent. A process
    that does not send sends nothing here either."""
    now = timezone.now()
    if not notifications_settings().sends:
        return 0
    lease = timedelta(seconds=notifications_settings().sending_lease_seconds)
    lost_ones = Message.objects.filter(status=Status.SENDING, claimed_at__lt=now - lease)
    lost_ones.filter(kind__in=Message.SECRET_KINDS).update(body_text="", body_html="")
    lost = lost_ones.update(
        status=Status.UNCONFIRMED, last_error="The worker sending it stopped; it may or may not have left."
    )
    if lost:
        logger.error("%d notifications were being sent by a worker that stopped; marked unconfirmed", lost)
    due = Message.objects.filter(status__in=RETRYABLE, next_attempt_at__lte=now).order_by("next_attempt_at", "pk")
    sent = 0
    for notification_id in due.values_list("pk", flat=True)[:limit]:
        sent += send_notification(notification_id=notification_id) == Status.SENT
    return sent


def resend_notifications(*, notification_ids: list[int]) -> int:
    """Staff's ``resend``: send these messages again now, whatever happened to them before (except
    one being sent right now, one whose content was erased with its account, a secret one whose body
    is gone once it left, or one only recorded here). Returns how many were sent. Their order-to-mail
    latency is not observed: staff chose when."""
    if not notifications_settings().sends:
        return 0
    with atomic_in("notifications"):
        ids = list(
            Message.objects.filter(pk__in=notification_ids, erased_at__isnull=True)
            .exclude(status__in=[Status.SENDING, Status.RECORDED])
            .exclude(recipient="")
            .exclude(body_text="")
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=ids).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
        )
    return sum(send_notification(notification_id=pk, timed=False) == Status.SENT for pk in ids)


def remember_order_contact(*, order_id: UUID, number: str, customer_id: int | None, email: str) -> None:
    """Keep whom an order belongs to, for events that name only the order (a dispatched shipment)."""
    OrderContact.objects.update_or_create(
        order_id=order_id, defaults={"number": number, "customer_id": customer_id, "email": email}
    )

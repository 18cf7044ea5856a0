"""Moving the history with the context: the monolith's messages and order contacts copied into the service.

When notifications is lifted, the service's database starts empty while the monolith's holds every
message recorded before (and, while the gateway still routes some customers to the monolith, it keeps
recording). Without the history, ``/me/notifications`` would answer differently depending on which
deployable the gateway picked. ``import_history`` is the backfill step of the strangler: it copies what
the service does not hold yet, in batches, and can be run again at any time.

The rules, each for a reason:

- **Once per ``(event_id, kind)``**, the key every message is recorded under: a re-run copies nothing
  twice, and a row the service recorded for the same event itself wins (it is the one that sends).
- **Rows only recorded** (status ``recorded``: the monolith's shadow of a message the service records
  and sends itself) are not copied: a copy would stand in the way of the service's own row for that
  event, which then would never be sent.
- **The same public id without copying one**: a message's public id is derived from ``(event_id, kind)``
  (``models.public_message_id``), so a customer's listing shows the same ids on both sides; each row gets
  the service's own row id (internal, never shown), so no id the service already used can clash.
- **Dates, status, attempts as they were** (the event's time among them, which the customer is shown). Unsent rows keep their status: the monolith sends nothing once
  notifications is lifted, so the service sends them, exactly once.
- **No secret body**: a reset link is a stored password and does not travel. A reset not yet sent is
  copied as given up (without its link it cannot be sent; the customer asks for a new one).
- **Erasure wins**: a customer whose messages the service has already erased (their account closed)
  gets no readable copy from the monolith, whose copy may predate the erasure.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from contexts.notifications.models import Message, OrderContact, public_message_id

BATCH_SIZE = 500
SECRET_NOT_SENT = "Moved to the notifications service without its link (a secret): ask for a new one."


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryImported:
    messages_copied: int
    messages_skipped: int  # the service has them already (same event and kind), or only recorded there
    contacts_copied: int
    contacts_skipped: int


def _batches(queryset, key: str, batch_size: int) -> Iterator[list]:
    """``queryset`` in key order, ``batch_size`` rows at a time (keyset pagination: no table in memory)."""
    last = None
    while True:
        page = queryset.order_by(key)
        if last is not None:
            page = page.filter(**{f"{key}__gt": last})
        rows = list(page[:batch_size])
        if not rows:
            return
        last = getattr(rows[-1], key)  # before the caller changes the rows (a copy may be given a new id)
        yield rows


def import_history(*, source: str, target: str, batch_size: int = BATCH_SIZE) -> HistoryImported:
    """Copy the messages and order contacts at database alias ``source`` (the monolith's) that ``target``
    (the service's) does not hold yet. Idempotent; each batch is one transaction on ``target``."""
    copied = skipped = 0
    for rows in _batches(Message.objects.using(source).all(), "id", batch_size):
        done, passed = _copy_messages(rows, target)
        copied, skipped = copied + done, skipped + passed
    contacts_copied = contacts_skipped = 0
    for rows in _batches(OrderContact.objects.using(source).all(), "order_id", batch_size):
        with transaction.atomic(using=target):
            held = set(
                OrderContact.objects.using(target)
                .filter(order_id__in=[row.order_id for row in rows])
                .values_list("order_id", flat=True)
            )
            new = [row for row in rows if row.order_id not in held]
            OrderContact.objects.using(target).bulk_create(new, ignore_conflicts=True)
        contacts_copied += len(new)
        contacts_skipped += len(rows) - len(new)
    return HistoryImported(
        messages_copied=copied,
        messages_skipped=skipped,
        contacts_copied=contacts_copied,
        contacts_skipped=contacts_skipped,
    )


def _copy_messages(rows: list[Message], target: str) -> tuple[int, int]:
    with transaction.atomic(using=target):
        held = set(
            Message.objects.using(target)
            .filter(event_id__in={row.event_id for row in rows})
            .values_list("event_id", "kind")
        )
        new = [row for row in rows if (row.event_id, row.kind) not in held and row.status != Message.Status.RECORDED]
        erased_customers = set(
            Message.objects.using(target)
            .filter(customer_id__in={row.customer_id for row in new if row.customer_id}, erased_at__isnull=False)
            .values_list("customer_id", flat=True)
        )
        for row in new:
            _prepare(row, erased=row.customer_id in erased_customers)
        Message.objects.using(target).bulk_create(new, ignore_conflicts=True)
    return len(new), len(rows) - len(new)


def _prepare(row: Message, *, erased: bool) -> None:
    """The copy as the service may hold it: its own row id, the public id of its key; no secret body;
    nothing readable of an erased customer."""
    row.pk = None
    row.public_id = public_message_id(row.event_id, row.kind)
    unsent = (Message.Status.PENDING, Message.Status.FAILED)
    if row.secret:
        row.body_text = row.body_html = ""
        if row.status in unsent:
            row.status, row.last_error = Message.Status.GAVE_UP, SECRET_NOT_SENT
    if erased:
        row.recipient = row.body_text = row.body_html = ""
        row.erased_at = row.erased_at or timezone.now()
        if row.status in unsent:
            row.status, row.last_error = Message.Status.GAVE_UP, "The account was closed before it was sent."

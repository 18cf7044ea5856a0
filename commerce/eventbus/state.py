"""The event bus's state as staff see it on the admin's dashboard: dead letters and the oldest
delivery still owed, per database (each context's outbox lives in its own database in split mode)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q

from commerce.database import context_aliases
from commerce.eventbus.models import Delivery

OWED = (Delivery.Status.PENDING, Delivery.Status.FAILED)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxState:
    database: str
    dead_letters: int
    owed: int
    oldest_owed: datetime | None  # when the oldest delivery still owed was created


def outbox_states() -> tuple[OutboxState, ...]:
    """One query per database (one in the default topology)."""
    states = []
    for alias in sorted(set(context_aliases())):
        row = Delivery.objects.using(alias).aggregate(
            owed=Count("pk", filter=Q(status__in=OWED)),
            oldest=Min("created_at", filter=Q(status__in=OWED)),
            dead=Count("pk", filter=Q(status=Delivery.Status.DEAD)),
        )
        states.append(
            OutboxState(database=alias, dead_letters=row["dead"], owed=row["owed"], oldest_owed=row["oldest"])
        )
    return tuple(states)

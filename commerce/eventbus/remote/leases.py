"""Leases: which consumer process of a lifted context consumes which of its partition queues.

A context's queue is split in ``EVENTS_PARTITIONS`` partition queues (``amqp``). Its consumer processes
divide them between them through two tables in the context's own database (the one they apply
messages to, so no other store is needed): a heartbeat per process (``ConsumerMember``) and a lease per
partition (``ConsumerLease``). Every third of the lease TTL each process, in one short transaction with
the context's lease rows locked (in partition order):

- beats its heart; the live members are those whose heartbeat is younger than the TTL;
- works out its fair share: with ``q, r = divmod(partitions, live members)``, ``r`` members may hold
  ``q + 1`` and the rest ``q``: those already holding more than ``q`` keep the extra one in the order
  of their names, a newcomer gets it only while fewer than ``r`` hold it (``ceil(partitions /
  members)`` for all would leave one of three consumers of four partitions without any: 2, 2, 0
  rather than 2, 1, 1);
- renews the leases it holds, and takes free or expired ones up to its fair share;
- names those it holds beyond the fair share: the consumer gives them up once nothing of theirs is in
  its hands (``release``), so a newcomer gets them without a message being applied twice or out of order.

A process that dies stops renewing: its leases expire a TTL later and the others take them (its unacked
messages went back to their queues when its connection closed). Two processes never both hold a lease
here; a holder cut off from this database past the TTL may still consume for a moment, which the
queues' single active consumer covers: the broker gives each queue's messages to one consumer at a time.

The expiry compares the processes' clocks (kept by NTP on any host that runs them): a skew far smaller
than the TTL (15 s by default) changes nothing.
"""

import os
import socket
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from commerce.eventbus.models import ConsumerLease, ConsumerMember

# A member silent for this many TTLs is forgotten (its row deleted): long dead, not just slow.
FORGET_AFTER_TTLS = 20


def new_holder() -> str:
    """A name for this process, unique across hosts and restarts, readable by an operator."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:200]


@dataclass(frozen=True, slots=True)
class Tended:
    """The outcome of one round: what this process holds now, and which of those it should give up."""

    held: frozenset[int]
    surplus: frozenset[int]
    members: int
    share: int  # what it may hold now
    minimum: int  # what every live member gets once the others have given up their surplus


class Leases:
    def __init__(self, context: str, alias: str, *, holder: str, partitions: int, ttl: float) -> None:
        self.context = context
        self.alias = alias
        self.holder = holder
        self.partitions = partitions
        self.ttl = timedelta(seconds=ttl)

    def tend(self) -> Tended:
        """Heartbeat, renew, acquire up to the fair share; which partitions are held and which are surplus."""
        now = timezone.now()
        expires_at = now + self.ttl
        with transaction.atomic(using=self.alias):
            members = ConsumerMember.objects.using(self.alias).filter(context=self.context)
            members.update_or_create(context=self.context, holder=self.holder, defaults={"seen_at": now})
            members.filter(seen_at__lt=now - FORGET_AFTER_TTLS * self.ttl).delete()
            live = members.filter(seen_at__gt=now - self.ttl).count()
            rows = self._locked_rows(now)
            minimum, extra = divmod(self.partitions, max(1, live))
            others = Counter(r.holder for r in rows if r.holder and r.holder != self.holder and r.expires_at > now)
            mine = [r.partition for r in rows if r.holder == self.holder]
            above = sorted(holder for holder, n in others.items() if n > minimum)
            rank = sorted([*above, self.holder]).index(self.holder) if len(mine) > minimum else len(above)
            share = minimum + 1 if rank < extra else minimum
            free = [r.partition for r in rows if r.holder != self.holder and (not r.holder or r.expires_at <= now)]
            taken = free[: max(0, share - len(mine))]
            held = sorted(mine + taken)
            if held:
                ConsumerLease.objects.using(self.alias).filter(context=self.context, partition__in=held).update(
                    holder=self.holder, expires_at=expires_at
                )
        return Tended(held=frozenset(held), surplus=frozenset(held[share:]), members=live, share=share, minimum=minimum)

    def _locked_rows(self, now) -> list[ConsumerLease]:
        """The context's lease rows below ``partitions``, created the first time, locked in partition order
        (no effect on SQLite, whose writers take the whole database in turn)."""
        leases = ConsumerLease.objects.using(self.alias).filter(context=self.context, partition__lt=self.partitions)
        rows = list(leases.select_for_update().order_by("partition"))
        if len(rows) < self.partitions:
            ConsumerLease.objects.using(self.alias).bulk_create(
                [
                    ConsumerLease(context=self.context, partition=p, holder="", expires_at=now)
                    for p in range(self.partitions)
                ],
                ignore_conflicts=True,
            )
            rows = list(leases.select_for_update().order_by("partition"))
        return rows

    def release(self, partitions) -> None:
        """Give these partitions up now (nothing of theirs is in hand): free for another process at once."""
        if partitions:
            ConsumerLease.objects.using(self.alias).filter(
                context=self.context, holder=self.holder, partition__in=list(partitions)
            ).update(holder="", expires_at=timezone.now())

    def leave(self) -> None:
        """This process stops (its broker connection already closed): every lease and its heartbeat go."""
        with transaction.atomic(using=self.alias):
            ConsumerLease.objects.using(self.alias).filter(context=self.context, holder=self.holder).update(
                holder="", expires_at=timezone.now()
            )
            ConsumerMember.objects.using(self.alias).filter(context=self.context, holder=self.holder).delete()

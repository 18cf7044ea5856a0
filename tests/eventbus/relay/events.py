"""Test-only events and subscribers for the relay's tests: an aggregate-keyed event, so order per
aggregate can be seen, applied by a subscriber of the ``probe_sink`` context (the lifted one here).

Imported by the tests' conftest and by ``run.py`` (the relay and consumer processes the tests start),
so every process involved knows them.
"""

import os
from dataclasses import dataclass
from uuid import UUID

from django.db.models import F

from commerce.eventbus import Deferred, Event, domain_event, subscriber
from tests.probe_sink.models import ProbeCounter


@domain_event("probe.Stepped", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class Stepped(Event):
    """Step ``step`` of ``order_id`` in run ``run``: applied in order, once."""

    run: str
    order_id: UUID
    step: int


@subscriber(Stepped, context="probe_sink", name="probe_sink.apply_step")
def apply_step(event: Stepped) -> None:
    """Counts each step (``count + 1``: only the inbox keeps a copy from counting twice) and leaves a
    row per application, whose id says in which order the consumer applied them; and counts, per run,
    how many each process applied (``applier:<run>:<pid>``)."""
    counter, _ = ProbeCounter.objects.get_or_create(key=f"{event.run}:{event.order_id}:{event.step:05d}")
    ProbeCounter.objects.filter(pk=counter.pk).update(count=F("count") + 1)
    # Which process applied it (several consumer processes share a context's partitions).
    applier, _ = ProbeCounter.objects.get_or_create(key=f"applier:{event.run}:{os.getpid()}")
    ProbeCounter.objects.filter(pk=applier.pk).update(count=F("count") + 1)


@domain_event("probe.LinkIssued", version=1, secret=("link",))
@dataclass(frozen=True, slots=True, kw_only=True)
class LinkIssued(Event):
    """An event carrying a secret (as a password-reset link), for a remote subscriber."""

    key: str
    link: str


@subscriber(LinkIssued, context="probe_sink", name="probe_sink.note_link")
def note_link(event: LinkIssued) -> None:
    ProbeCounter.objects.get_or_create(key=f"link:{event.key}")


@domain_event("probe.Shipped", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class Shipped(Event):
    """A second event type of ``Stepped``'s aggregate: one stream, two routing keys."""

    run: str
    order_id: UUID


@subscriber(Shipped, context="probe_sink", name="probe_sink.note_shipped")
def note_shipped(event: Shipped) -> None:
    ProbeCounter.objects.get_or_create(key=f"{event.run}:{event.order_id}:shipped")


@domain_event("probe.Gated", version=1, aggregate="order_id")
@dataclass(frozen=True, slots=True, kw_only=True)
class Gated(Event):
    """A third event type of ``Stepped``'s aggregate, which depends on something from elsewhere: its
    handler defers it until the gate ``gate:<run>:<order_id>`` is open (a row the test writes), as a
    dispatch waits for its order's ``OrderPlaced``."""

    run: str
    order_id: UUID


@subscriber(Gated, context="probe_sink", name="probe_sink.pass_gate")
def pass_gate(event: Gated) -> None:
    if not ProbeCounter.objects.filter(key=f"gate:{event.run}:{event.order_id}").exists():
        raise Deferred(f"the gate of {event.order_id} is not open yet")
    ProbeCounter.objects.get_or_create(key=f"{event.run}:{event.order_id}:gated")

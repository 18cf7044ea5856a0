"""A Celery worker SIGKILLed in the middle of an event delivery (issue 16 item 3): the outbox sweep
(the recovery job, ``manage.py eventbus_sweep``) hands the delivery to another worker, and the inbox
makes the event count exactly once — nothing lost, nothing doubled.

The event is the probe's ``Pinged``, published by a process of its own; its subscription
``count_when_pinged`` adds one to a counter (``count = count + 1``: not idempotent by itself, so only
the inbox stands between a redelivery and a count of 2).
"""

import os
import signal
import uuid

import pytest

from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage
from tests.probe_sink.handlers import attempts_of
from tests.probe_sink.models import ProbeCounter
from tests.resilience.support import sweep_until_delivered

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.celery]

SUBSCRIPTION = "probe_sink.count_when_pinged"


@pytest.mark.parametrize(
    ("point", "counted_when_killed"),
    [
        ("handler", 0),  # mid-transaction: the handler's writes and the inbox row die with the worker
        ("committed", 1),  # applied and committed, but the delivery not yet marked delivered
    ],
)
def test_a_worker_killed_mid_delivery_is_healed_by_the_sweep_exactly_once(celery_processes, point, counted_when_killed):
    processes = celery_processes
    # two workers, both with the fault point: whichever takes the delivery blocks there and is
    # killed; the other survives to take the redelivery
    workers = processes.celery_workers("first", "second", RESILIENCE_BLOCK_AT=f"{point}:{SUBSCRIPTION}")
    key = f"crash-{uuid.uuid4().hex[:12]}"

    processes.publish_probe(key)
    pid = processes.wait_for_fault(log=workers[0][1])
    (killed,) = [process for process, _ in workers if process.pid == pid]
    os.kill(pid, signal.SIGKILL)
    killed.wait(timeout=30)

    message = OutboxMessage.objects.get(event_type="probe.Pinged", payload__key=key)
    delivery = Delivery.objects.get(message=message, subscription=SUBSCRIPTION)
    assert delivery.status == "pending"  # owed, not lost
    assert ProbeCounter.objects.filter(key=f"{key}:count", count__gte=1).count() == counted_when_killed
    assert attempts_of(key, "count") == 1  # the handler ran once before the crash

    sweep_until_delivered(processes)

    assert ProbeCounter.objects.get(key=f"{key}:count").count == 1  # applied once, not twice
    assert InboxEntry.objects.filter(event_id=message.event_id, subscription=SUBSCRIPTION).count() == 1
    assert ProbeCounter.objects.get(key=f"{key}:record").count == 1  # the other subscribers got it once too
    assert ProbeCounter.objects.get(key=f"{key}:tally").count == 1
    assert set(Delivery.objects.filter(message=message).values_list("status", flat=True)) == {"delivered"}
    # the handler ran again only where its first run was rolled back; the inbox skipped it otherwise
    assert attempts_of(key, "count") == (2 if point == "handler" else 1)

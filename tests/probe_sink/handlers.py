"""The probe's subscriptions. Attempts are counted in files, outside any transaction, so a handler
that fails (and rolls back) still leaves a trace of having been tried, across processes.

The files go to ``PROBE_ATTEMPTS_DIR``, a temporary directory the test session makes and removes
(``conftest.py``); a Celery worker started by the tests inherits it.
"""

import logging
import os
from pathlib import Path

from django.db.models import F

from commerce.eventbus import publish, subscriber
from tests.probe_sink.events import Echoed, Pinged, Renamed
from tests.probe_sink.models import ProbeCounter

logger = logging.getLogger(__name__)


def _attempts_dir() -> Path:
    try:
        return Path(os.environ["PROBE_ATTEMPTS_DIR"])
    except KeyError:
        raise RuntimeError("PROBE_ATTEMPTS_DIR is unset: the test session's conftest sets it") from None


def attempts_of(key: str, subscription: str) -> int:
    path = _attempts_dir() / f"{key}.{subscription}"
    return len(path.read_text().splitlines()) if path.exists() else 0


def _note_attempt(key: str, subscription: str) -> int:
    with open(_attempts_dir() / f"{key}.{subscription}", "a") as attempts:
        attempts.write("x\n")
    return attempts_of(key, subscription)


def _count(key: str) -> None:
    counter, _ = ProbeCounter.objects.get_or_create(key=key)
    ProbeCounter.objects.filter(pk=counter.pk).update(count=F("count") + 1)


@subscriber(Pinged, context="probe_sink", name="probe_sink.count_when_pinged")
def count_when_pinged(event: Pinged) -> None:
    attempt = _note_attempt(event.key, "count")
    logger.info("probe handler attempt %d for %s", attempt, event.key)
    if attempt <= event.fail_times:
        raise RuntimeError(f"probe failure {attempt} of {event.fail_times}")
    _count(f"{event.key}:count")
    publish(Echoed(key=event.key))


@subscriber(Pinged, context="probe_sink", name="probe_sink.record_when_pinged")
def record_when_pinged(event: Pinged) -> None:
    _note_attempt(event.key, "record")
    _count(f"{event.key}:record")


@subscriber(Echoed, context="probe_sink", name="probe_sink.trace_when_echoed")
def trace_when_echoed(event: Echoed) -> None:
    ProbeCounter.objects.create(key=f"{event.key}:trace:{event.correlation_id}:{event.causation_id}", count=1)


@subscriber(Pinged, context="probe_sink", name="probe_sink.tally_when_pinged", batch=True)
def tally_when_pinged(events: tuple[Pinged, ...]) -> None:
    """A batch handler: one call for a burst. A key ending in ``poison`` makes every call holding it
    fail, so the bus must fall back to one event at a time and dead-letter only that one."""
    if any(event.key.endswith("poison") for event in events):
        raise RuntimeError("poisoned batch")
    for event in events:
        _count(f"{event.key}:tally")
        if len(events) > 1:
            _count(f"{event.key}:in-batch")


@subscriber(Renamed, context="probe_sink", name="probe_sink.record_when_renamed")
def record_when_renamed(event: Renamed) -> None:
    """Leaves ``key:renamed:title:note``, so a test sees exactly what an upcast payload became."""
    ProbeCounter.objects.create(key=f"{event.key}:renamed:{event.title}:{event.note}", count=1)

"""Event-bus figures: publish cost, queries per publish, end-to-end deliveries per second.

Usage (PostgreSQL recommended; the database is created and migrated if needed):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/eventbus.py
    # add CELERY_BROKER_URL=redis://127.0.0.1:6379/14 to measure celery mode with a real worker too

Uses the test-suite's probe events (tests.settings): three subscriptions to ``probe.Pinged`` (one a
batch subscriber), each doing a small write, one of which publishes an echo with its own subscriber.
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ.setdefault("EVENTBUS_DISPATCH", "inline")
os.environ.setdefault("LOG_LEVEL", "WARNING")
BROKER = os.environ.pop("CELERY_BROKER_URL", "")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from commerce.database import atomic_in, context_aliases, database_for  # noqa: E402
from commerce.eventbus import dispatch, publish, publish_many  # noqa: E402
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage  # noqa: E402
from commerce.eventbus.subscriptions import subscriptions_for  # noqa: E402
from tests.probe_sink.events import Pinged  # noqa: E402
from tests.probe_sink.models import ProbeCounter  # noqa: E402

PUBLISHES = int(os.environ.get("BENCH_PUBLISHES", "2000"))
PER_TRANSACTION = 5  # a request that changes a few things publishes a few events


def reset() -> None:
    for alias in context_aliases():
        Delivery.objects.using(alias).all().delete()
        OutboxMessage.objects.using(alias).all().delete()
        InboxEntry.objects.using(alias).all().delete()
    ProbeCounter.objects.all().delete()


def publish_rate(*, deliver: bool) -> float:
    original = dispatch.dispatch
    if not deliver:
        dispatch.dispatch = lambda alias, ids: None
    try:
        started = time.perf_counter()
        for _ in range(PUBLISHES // PER_TRANSACTION):
            with atomic_in("probe"):
                for _ in range(PER_TRANSACTION):
                    publish(Pinged(key=uuid.uuid4().hex))
        return PUBLISHES / (time.perf_counter() - started)
    finally:
        dispatch.dispatch = original


def bulk_rate() -> tuple[float, float]:
    """publish_many of 1 000 events in one transaction: (events/s written, deliveries/s end to end)."""
    original = dispatch.dispatch
    dispatch.dispatch = lambda alias, ids: None
    try:
        started = time.perf_counter()
        with atomic_in("probe"):
            publish_many([Pinged(key=uuid.uuid4().hex) for _ in range(1000)])
        written = 1000 / (time.perf_counter() - started)
    finally:
        dispatch.dispatch = original
    reset()
    started = time.perf_counter()
    with atomic_in("probe"):
        publish_many([Pinged(key=uuid.uuid4().hex) for _ in range(1000)])
    return written, deliveries_done() / (time.perf_counter() - started)


def queries_per_publish() -> int:
    with atomic_in("probe"), CaptureQueriesContext(connections[database_for("probe")]) as captured:
        publish(Pinged(key="count-queries"))
    return len(captured.captured_queries)


def deliveries_done() -> int:
    return sum(Delivery.objects.using(a).filter(status=Delivery.Status.DELIVERED).count() for a in context_aliases())


def undelivered() -> int:
    due = [Delivery.Status.PENDING, Delivery.Status.FAILED]
    return sum(Delivery.objects.using(a).filter(status__in=due).count() for a in context_aliases())


def celery_rate() -> float | None:
    if not BROKER:
        return None
    env = {**os.environ, "EVENTBUS_DISPATCH": "celery", "CELERY_BROKER_URL": BROKER}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "commerce", "worker", "--pool=solo", "--loglevel=WARNING",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"bench-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        settings.EVENTBUS["DISPATCH"] = "celery"
        settings.CELERY_BROKER_URL = BROKER
        from commerce.celery import app

        app.conf.broker_url = BROKER
        app.control.purge()
        for _ in range(60):
            if app.control.ping(timeout=1.0):
                break
        reset()
        started = time.perf_counter()
        publish_rate(deliver=True)
        quiet = 0
        while quiet < 3:  # handlers publish echoes, so wait until nothing is left three looks running
            quiet = quiet + 1 if not undelivered() else 0
            time.sleep(0.05)
        return deliveries_done() / (time.perf_counter() - started)
    finally:
        settings.EVENTBUS["DISPATCH"] = "inline"
        worker.terminate()
        worker.wait(timeout=30)


def main() -> None:
    call_command("migrate_all", verbosity=0)
    vendor = connections["default"].vendor
    print(
        f"database: {vendor}; split: {settings.DATABASE_SPLIT}; {PUBLISHES} publishes, {PER_TRANSACTION} a transaction"
    )
    reset()
    subscribers = len(subscriptions_for(Pinged.event_name))
    print(f"queries added by one publish ({subscribers} subscriptions): {queries_per_publish()}")
    reset()
    print(f"publishes/s inside transactions, delivery held back: {publish_rate(deliver=False):,.0f}")
    reset()
    started = time.perf_counter()
    publish_rate(deliver=True)
    inline = deliveries_done() / (time.perf_counter() - started)
    print(f"inline mode, end-to-end deliveries/s (publish + handler + inbox): {inline:,.0f}")
    reset()
    written, delivered = bulk_rate()
    print(
        f"publish_many, 1 000 events in one transaction: {written:,.0f} events/s written; "
        f"inline end-to-end {delivered:,.0f} deliveries/s"
    )
    reset()
    rate = celery_rate()
    if rate is None:
        print("celery mode: skipped (set CELERY_BROKER_URL to measure it)")
    else:
        print(f"celery mode (1 solo worker), end-to-end deliveries/s: {rate:,.0f}")
    reset()


if __name__ == "__main__":
    main()

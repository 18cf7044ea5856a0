"""Relay figures: events relayed per second to the real RabbitMQ with publisher confirms, in batches,
and the consumer's rate applying them on the service's side.

Usage (PostgreSQL recommended; the database is created and migrated if needed; RabbitMQ at
EVENTS_BROKER_URL, topology under a prefix of its own, deleted afterwards):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/commerce_bench .venv/bin/python bench/relay.py

Uses the test-suite's probe events (tests.settings), with ``probe_sink`` lifted: ``probe.Pinged``
(no aggregate: one ordered stream) and the relay tests' ``probe.Stepped`` (one stream per order).
BENCH_EVENTS (default 10000) events per figure; BENCH_RELAYS (default 2) relay processes for the
last figure.
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
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["EVENTS_TOPOLOGY_PREFIX"] = os.environ.get("EVENTS_TOPOLOGY_PREFIX", f"bench-relay-{uuid.uuid4().hex[:8]}")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402

from commerce.database import atomic_in, context_aliases  # noqa: E402
from commerce.eventbus import publish_many  # noqa: E402
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage  # noqa: E402
from commerce.eventbus.remote import amqp as port  # noqa: E402
from commerce.eventbus.remote.consumer import Consumer  # noqa: E402
from commerce.eventbus.remote.relay import Relay, owed_count  # noqa: E402
from tests.eventbus.relay.events import Stepped  # noqa: E402
from tests.probe_sink.events import Pinged  # noqa: E402
from tests.probe_sink.models import ProbeCounter  # noqa: E402

EVENTS = int(os.environ.get("BENCH_EVENTS", "10000"))
RELAYS = int(os.environ.get("BENCH_RELAYS", "2"))
CONTEXT = "probe_sink"


def reset() -> None:
    for alias in context_aliases():
        Delivery.objects.using(alias).all().delete()
        OutboxMessage.objects.using(alias).all().delete()
        InboxEntry.objects.using(alias).all().delete()
    ProbeCounter.objects.all().delete()


def purge() -> None:
    connection = port.connect()
    try:
        channel = connection.channel()
        for queue in port.names().partition_queues(CONTEXT):
            channel.queue_purge(queue)
    finally:
        connection.close()


def publish(events: int, *, ordered_by_order: bool) -> None:
    run = uuid.uuid4().hex
    orders = [uuid.uuid4() for _ in range(200)]
    for start in range(0, events, 500):
        with atomic_in("probe"):
            if ordered_by_order:
                publish_many(
                    [Stepped(run=run, order_id=orders[i % 200], step=i // 200) for i in range(start, start + 500)]
                )
            else:
                publish_many([Pinged(key=f"{run}-{i}") for i in range(start, start + 500)])


def relay_rate(*, batch_size: int, ordered_by_order: bool) -> float:
    reset()
    purge()
    publish(EVENTS, ordered_by_order=ordered_by_order)
    relay = Relay(batch_size=batch_size)
    try:
        relay.run_once()  # warm: connection, routing keys probed; relays everything
    finally:
        relay.close()
    reset()
    purge()
    publish(EVENTS, ordered_by_order=ordered_by_order)
    relay = Relay(batch_size=batch_size)
    try:
        started = time.perf_counter()
        relayed = relay.run_once()
        elapsed = time.perf_counter() - started
    finally:
        relay.close()
    assert relayed == EVENTS and owed_count() == 0, (relayed, owed_count())
    return EVENTS / elapsed


def relay_processes_rate() -> float:
    reset()
    purge()
    publish(EVENTS, ordered_by_order=True)
    for alias in connections:
        connections[alias].close()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    command = [sys.executable, "-m", "tests.eventbus.relay.run", "relay_events", "--once"]
    started = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(RELAYS)]
    for process in processes:
        process.wait()
    elapsed = time.perf_counter() - started  # includes each process's start-up (~1-2 s)
    assert owed_count() == 0
    return EVENTS / elapsed


def consume_rate() -> float:
    settings.SERVED_BY = CONTEXT
    try:
        consumer = Consumer(CONTEXT, prefetch=100)
        started = time.perf_counter()
        handled = consumer.run(max_messages=EVENTS, idle_exit=5)
        return handled / (time.perf_counter() - started)
    finally:
        settings.SERVED_BY = "monolith"


def main() -> None:
    call_command("migrate_all", verbosity=0)
    settings.LIFTED = frozenset({CONTEXT})
    port.declare([CONTEXT])
    vendor = connections["default"].vendor
    print(f"Relay to RabbitMQ with confirms, mandatory, persistent ({vendor}, {EVENTS} events a figure):")
    try:
        for batch_size in (100, 500):
            rate = relay_rate(batch_size=batch_size, ordered_by_order=False)
            print(f"  one stream (no aggregate), batches of {batch_size:>3}: {rate:8.0f} events/s")
        rate = relay_rate(batch_size=500, ordered_by_order=True)
        print(f"  200 orders' streams, batches of 500:        {rate:8.0f} events/s")
        print(f"  consumer applying them (inbox + handler, ack after commit): {consume_rate():8.0f} events/s")
        if vendor == "postgresql" and RELAYS > 1:
            print(f"  {RELAYS} relay processes at once (with start-up):   {relay_processes_rate():8.0f} events/s")
    finally:
        reset()
        port.delete([CONTEXT], prefix=settings.EVENTS_TOPOLOGY_PREFIX)


if __name__ == "__main__":
    main()

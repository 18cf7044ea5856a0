"""The relay and the consumer when things go wrong, with real processes, PostgreSQL's row locks and
the real RabbitMQ: two relays at once, a relay killed between the broker's ack and its own commit,
the broker going away mid-run (a TCP proxy in front of it is cut: the machine's RabbitMQ keeps
running), and a consumer killed mid-stream."""

import contextlib
import os
import signal
import socket
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from django.db import connections

from commerce.database import atomic_in, database_for
from commerce.eventbus import publish, publish_many
from commerce.eventbus.models import Delivery, InboxEntry
from commerce.eventbus.remote.amqp import connect as connect_broker
from commerce.eventbus.remote.consumer import Consumer
from commerce.eventbus.remote.relay import Relay, owed_count
from tests.eventbus.relay.events import Shipped, Stepped
from tests.eventbus.relay.support import drain_all, payload, process, wait_for
from tests.probe_sink.models import ProbeCounter
from tests.resilience import faults
from tests.resilience.support import DatabaseProxy

pytestmark = pytest.mark.django_db(transaction=True)
CONTEXT = "probe_sink"
PROXY_PORT = 8321


def publish_steps(run: str, orders: int, steps: int) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(orders)]
    for step in range(steps):
        with atomic_in("probe"):
            publish_many([Stepped(run=run, order_id=order, step=step) for order in ids])
    return ids


def assert_each_once_in_order(messages, run: str, orders: list[uuid.UUID], steps: int) -> None:
    seen = defaultdict(list)
    for message in messages:
        body = payload(message)
        if body["run"] == run:
            seen[body["order_id"]].append(body["step"])
    assert {order: seen[str(order)] for order in orders} == {order: list(range(steps)) for order in orders}


def applied(run: str) -> dict[str, int]:
    return dict(ProbeCounter.objects.filter(key__startswith=f"{run}:").values_list("key", "count"))


def test_two_relays_at_once_send_every_event_once_in_each_aggregates_order(broker, postgresql_only):
    run = uuid.uuid4().hex
    orders = publish_steps(run, orders=40, steps=25)  # 1000 events
    start = threading.Barrier(2)
    handled: list[int] = []

    def relay() -> None:
        worker = Relay(batch_size=60)
        try:
            start.wait()
            handled.append(worker.run_once())
        finally:
            worker.close()
            connections.close_all()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sum(handled) == 1000 and owed_count() == 0
    assert_each_once_in_order(drain_all(CONTEXT), run, orders, 25)


def test_a_relay_killed_between_the_brokers_ack_and_its_commit_sends_again_and_the_inbox_absorbs_it(
    broker, as_service, tmp_path: Path
):
    run = uuid.uuid4().hex
    orders = publish_steps(run, orders=3, steps=4)
    log = tmp_path / "relay.log"
    with process(
        "relay_events",
        "--once",
        log=log,
        RELAY_BLOCK_AFTER_ACK="1",
        RESILIENCE_FAULTS_DIR=str(tmp_path),
    ) as relay:
        wait_for((tmp_path / faults.REACHED).exists, what="the relay reaching the broker's ack", log=log)
        pid = int((tmp_path / faults.REACHED).read_text())
        assert pid == relay.pid
        os.kill(pid, signal.SIGKILL)
        relay.wait(timeout=30)
    assert owed_count() == 12  # acked by the broker, never marked: still owed

    Relay().run_once()  # another relay sends them again
    assert owed_count() == 0
    with as_service():
        Consumer(CONTEXT).run(idle_exit=1.0)

    assert set(applied(run).values()) == {1} and len(applied(run)) == 12  # each once, though sent twice
    assert InboxEntry.objects.filter(subscription="probe_sink.apply_step").count() >= 12
    assert drain_all(CONTEXT) == []
    del orders


def test_the_broker_going_away_mid_run_leaves_events_waiting_and_they_go_when_it_is_back(broker, settings):
    proxy = DatabaseProxy(("127.0.0.1", 5672), port=PROXY_PORT)
    proxy.start()
    stop = threading.Event()

    def relay_forever() -> None:
        worker = Relay(url=f"amqp://guest:guest@127.0.0.1:{PROXY_PORT}//")
        try:
            worker.run_forever(idle_seconds=0.05, should_stop=stop.is_set)
        finally:
            worker.close()
            connections.close_all()

    thread = threading.Thread(target=relay_forever)
    thread.start()
    try:
        run = uuid.uuid4().hex
        before = publish_steps(run, orders=5, steps=2)
        wait_for(lambda: owed_count() == 0, what="the first events relayed")

        proxy.refuse()  # the broker is gone: connections reset, new ones refused
        after_run = uuid.uuid4().hex
        after = publish_steps(after_run, orders=5, steps=2)
        time.sleep(1.5)
        owed = Delivery.objects.using(database_for("probe")).filter(message__payload__run=after_run)
        assert {(d.status, d.attempts) for d in owed} == {("pending", 0)}  # waiting, no attempt spent

        proxy.restore()
        wait_for(lambda: owed_count() == 0, timeout=60, what="the waiting events relayed once the broker is back")
    finally:
        stop.set()
        thread.join(timeout=30)
        proxy.stop()
    messages = drain_all(CONTEXT)
    assert_each_once_in_order(messages, run, before, 2)
    assert_each_once_in_order(messages, after_run, after, 2)


def test_a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice(broker, tmp_path: Path):
    run = uuid.uuid4().hex
    orders = publish_steps(run, orders=10, steps=30)  # 300 events
    Relay().run_once()
    log = tmp_path / "consumer.log"
    with process("consume_events", CONTEXT, log=log, EVENTS_LEASE_SECONDS="3") as consumer:
        wait_for(lambda: len(applied(run)) >= 40, what="the consumer applying events", log=log)
        consumer.send_signal(signal.SIGKILL)
        consumer.wait(timeout=30)
    assert len(applied(run)) < 300  # killed mid-stream
    # The killed one's leases run out (3 s here) before this one takes its partitions: not idle meanwhile.
    with process("consume_events", CONTEXT, "--idle-exit", "2", log=log, EVENTS_LEASE_SECONDS="3") as consumer:
        consumer.wait(timeout=120)
        assert consumer.returncode == 0, log.read_text()[-3000:]

    counts = applied(run)
    assert len(counts) == 300 and set(counts.values()) == {1}
    rows = ProbeCounter.objects.filter(key__startswith=f"{run}:").order_by("pk").values_list("key", flat=True)
    for order in orders:
        assert [int(key.rsplit(":", 1)[1]) for key in rows if f":{order}:" in key] == list(range(30))


def test_a_database_error_does_not_end_the_relay_it_waits_and_relays_once_the_database_is_back(broker):
    run = uuid.uuid4().hex
    orders = publish_steps(run, orders=2, steps=3)
    alias = database_for("probe")
    connection = connections[alias]
    table, away = Delivery._meta.db_table, f"{Delivery._meta.db_table}_away"
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:  # the relay's queries fail as on a database gone wrong
        cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(away)}")
    stop, crashed = threading.Event(), []

    def relay() -> None:
        worker = Relay()
        try:
            worker.run_forever(should_stop=stop.is_set)
        except BaseException as error:  # what would end the process (and bin/shop's topology)
            crashed.append(error)
        finally:
            worker.close()
            connections.close_all()

    thread = threading.Thread(target=relay)
    thread.start()
    try:
        time.sleep(1.5)
        assert thread.is_alive() and not crashed
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {quote(away)} RENAME TO {quote(table)}")
    try:
        wait_for(lambda: owed_count() == 0 or not thread.is_alive(), timeout=30, what="the relay catching up")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not crashed and owed_count() == 0
    assert_each_once_in_order(drain_all(CONTEXT), run, orders, steps=3)


class StalledBroker:
    """A TCP listener that accepts connections and never answers: a broker hung, not down."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                self.accepted.append(self.server.accept()[0])

    def close(self) -> None:
        self.server.close()
        for accepted in self.accepted:
            accepted.close()


def test_a_stalled_broker_never_blocks_a_write_to_the_database_the_relay_reads(broker):
    run = uuid.uuid4().hex
    publish_steps(run, orders=2, steps=2)
    stalled = StalledBroker()
    waiting = threading.Event()

    def relay() -> None:
        worker = Relay(url=f"amqp://guest:guest@127.0.0.1:{stalled.port}//")
        waiting.set()
        try:
            worker.run_once()
        except Exception:  # BrokerUnavailable once its connect times out: what this test waits out
            pass
        finally:
            worker.close()
            connections.close_all()

    thread = threading.Thread(target=relay)
    thread.start()
    try:
        waiting.wait(5)
        wait_for(lambda: stalled.accepted, timeout=10, what="the relay connecting")
        time.sleep(0.3)  # the relay now waits on the broker
        started = time.monotonic()
        publish_steps(uuid.uuid4().hex, orders=1, steps=1)  # a checkout's write, in the publisher's database
        took = time.monotonic() - started
        assert thread.is_alive()  # still waiting on the broker meanwhile
    finally:
        thread.join(timeout=60)
        stalled.close()
    assert took < 1.5
    assert owed_count() == 5  # nothing was sent, nothing lost


def test_a_later_event_of_a_stream_is_not_marked_sent_when_an_earlier_one_of_its_batch_was_refused(broker):
    run, order = uuid.uuid4().hex, uuid.uuid4()
    relay = Relay()
    try:
        with atomic_in("probe"):  # both routing keys learned routable: what follows is pipelined
            publish(Stepped(run=run, order_id=order, step=0))
            publish(Shipped(run=run, order_id=order))
        assert relay.run_once() == 2
        connection = connect_broker()
        try:  # Stepped's binding goes (as a topology half redeclared): the broker returns the next one
            channel = connection.channel()
            for partition, queue in enumerate(broker.partition_queues(CONTEXT)):
                channel.queue_unbind(queue, broker.exchange, routing_key=f"probe.Stepped.{CONTEXT}.{partition}")
        finally:
            connection.close()
        with atomic_in("probe"):
            publish(Stepped(run=run, order_id=order, step=1))
            publish(Shipped(run=run, order_id=order))
        relay.run_once()
    finally:
        relay.close()

    later = Delivery.objects.using(database_for("probe")).filter(subscription=f"relay:{CONTEXT}")
    later = {d.message.event_type: d.status for d in later.filter(message__payload__run=run).order_by("pk")[2:]}
    assert later["probe.Stepped"] == "failed"  # returned: retried after its backoff
    assert later["probe.Shipped"] == "pending"  # not delivered ahead of it: goes again after it

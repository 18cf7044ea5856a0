"""Partitions: a consuming context's queue split in ``EVENTS_PARTITIONS`` queues so that several consumer
processes share its work, an aggregate's events always in one of them (in order), and the processes
dividing the partitions by leases in the context's database. Real RabbitMQ, real processes."""

import io
import re
import signal
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from commerce.database import atomic_in, database_for
from commerce.eventbus import publish, publish_many
from commerce.eventbus.models import ConsumerLease, ConsumerMember
from commerce.eventbus.remote import amqp as port
from commerce.eventbus.remote.consumer import Consumer
from commerce.eventbus.remote.leases import Leases
from commerce.eventbus.remote.relay import Relay, owed_count
from tests.eventbus.relay.events import Stepped
from tests.eventbus.relay.support import depth, drain, drain_all, payload, process, publish_raw, wait_for
from tests.probe_sink.events import Pinged
from tests.probe_sink.models import ProbeCounter

pytestmark = pytest.mark.django_db(transaction=True)
CONTEXT = "probe_sink"
TTL = 5.0  # the lease TTL the consumer processes here run with (15 s by default)


def relay_all() -> int:
    relay = Relay()
    try:
        return relay.run_once()
    finally:
        relay.close()


def publish_steps(run: str, orders: int, steps: int, first_step: int = 0, ids=None) -> list[uuid.UUID]:
    ids = ids or [uuid.uuid4() for _ in range(orders)]
    for step in range(first_step, first_step + steps):
        with atomic_in("probe"):
            publish_many([Stepped(run=run, order_id=order, step=step) for order in ids])
    return ids


def applied(run: str) -> dict[str, int]:
    return dict(ProbeCounter.objects.filter(key__startswith=f"{run}:").values_list("key", "count"))


def appliers(run: str) -> dict[int, int]:
    """How many of ``run``'s steps each process applied, by pid."""
    rows = ProbeCounter.objects.filter(key__startswith=f"applier:{run}:").values_list("key", "count")
    return {int(key.rsplit(":", 1)[1]): count for key, count in rows}


def leases_by_pid() -> dict[int, set[int]]:
    """The partitions each consumer process holds an unexpired lease on (the holder names its pid)."""
    held = defaultdict(set)
    leases = ConsumerLease.objects.using(database_for(CONTEXT)).filter(context=CONTEXT, expires_at__gt=timezone.now())
    for lease in leases.exclude(holder=""):
        held[int(lease.holder.split(":")[1])].add(lease.partition)
    return dict(held)


def test_the_relay_sends_an_aggregate_always_to_the_same_partition_and_spreads_aggregates(broker, settings):
    run = uuid.uuid4().hex
    orders = publish_steps(run, orders=24, steps=3)
    assert relay_all() == 72

    found: dict[str, set[int]] = defaultdict(set)
    steps: dict[str, list[int]] = defaultdict(list)
    for partition, queue in enumerate(broker.partition_queues(CONTEXT)):
        for message in drain(queue):
            body, headers = payload(message), message.properties["application_headers"]
            found[body["order_id"]].add(partition)
            steps[body["order_id"]].append(body["step"])
            assert headers["partition"] == partition
            assert message.delivery_info["routing_key"] == f"probe.Stepped.{CONTEXT}.{partition}"
    for order in orders:
        expected = port.partition_of("probe.Stepped", f"order_id:{order}")
        assert found[str(order)] == {expected}  # one queue per aggregate, the one its key hashes to
        assert steps[str(order)] == [0, 1, 2]  # in order there
    assert len(set().union(*found.values())) == settings.EVENTS_PARTITIONS  # 24 orders use every partition


def test_the_partition_is_a_stable_hash_of_the_publisher_and_the_aggregate():
    # crc32 is the same in every process and release (Python's hash() of a str is not).
    assert port.partition_of("orders.OrderPlaced", "order_id:1", 4) == port.partition_of("orders.X", "order_id:1", 4)
    assert port.partition_of("orders.OrderPlaced", "", 4) == __import__("zlib").crc32(b"orders:") % 4
    assert port.partition_of("orders.OrderPlaced", "order_id:1", 1) == 0


def test_declare_is_idempotent_and_raising_the_partitions_adds_queues_without_touching_the_others(broker, settings):
    out = io.StringIO()
    call_command("declare_topology", CONTEXT, stdout=out)
    call_command("declare_topology", CONTEXT, stdout=out)
    assert (
        re.findall(rf"Queue {re.escape(broker.prefix)}\.{CONTEXT}\.(\d+) \(quorum\)", out.getvalue())
        == [
            "0",
            "1",
            "2",
            "3",
        ]
        * 2
    )
    with atomic_in("probe"):
        publish(Pinged(key="before"))
    relay_all()
    before = broker.partition_queue(CONTEXT, port.partition_of("probe.Pinged", ""))
    assert depth(before) == 1

    settings.EVENTS_PARTITIONS = 6
    try:
        port.declare([CONTEXT])
        assert depth(before) == 1  # the message already there stays
        assert [depth(q) for q in broker.partition_queues(CONTEXT)].count(0) == 5  # two new queues, empty
        with atomic_in("probe"):
            publish(Pinged(key="after"))
        relay_all()
        assert sorted(payload(m)["key"] for m in drain_all(CONTEXT)) == ["after", "before"]
    finally:
        port.delete([CONTEXT], prefix=broker.prefix)  # all six (the fixture deletes four)


def test_leases_divide_the_partitions_fairly_and_a_dead_holders_expire_to_the_others():
    alias = database_for(CONTEXT)

    def leases(holder: str) -> Leases:
        return Leases(CONTEXT, alias, holder=holder, partitions=4, ttl=TTL)

    a, b, c = leases("host:1:a"), leases("host:2:b"), leases("host:3:c")
    assert a.tend().held == {0, 1, 2, 3}  # alone: all of them
    joined = b.tend()
    assert joined.held == set() and joined.minimum == 2  # all held: it waits for a's surplus
    crowded = a.tend()
    assert crowded.held == {0, 1, 2, 3} and crowded.surplus == {2, 3}
    a.release(crowded.surplus)
    assert b.tend().held == {2, 3}
    assert a.tend().held == {0, 1} and a.tend().surplus == set()

    assert c.tend().held == set()  # three members, four partitions: 2, 1, 1 (never 2, 2, 0)
    assert a.tend().surplus == set()  # of the two holding two, the first by name keeps both
    surplus = b.tend().surplus
    assert len(surplus) == 1
    b.release(surplus)
    assert len(c.tend().held) == 1
    assert sorted(len(x.tend().held) for x in (a, b, c)) == [1, 1, 2]

    # b dies: no heartbeat, no renewal. Once its lease and heartbeat are older than the TTL, a and c
    # share its partitions.
    gone = ConsumerLease.objects.using(alias).filter(holder="host:2:b")
    b_held = set(gone.values_list("partition", flat=True))
    past = timezone.now() - timedelta(seconds=TTL + 1)
    gone.update(expires_at=past)
    ConsumerMember.objects.using(alias).filter(holder="host:2:b").update(seen_at=past)
    a.tend(), c.tend(), a.tend(), c.tend()
    held = {x.holder: x.tend().held for x in (a, c)}
    assert held["host:1:a"] | held["host:3:c"] == {0, 1, 2, 3} and b_held <= held["host:1:a"] | held["host:3:c"]
    assert sorted(len(h) for h in held.values()) == [2, 2]

    a.leave()  # a stops: its leases are free at once, its heartbeat gone
    assert c.tend().held == {0, 1, 2, 3}


def test_two_consumer_processes_share_the_partitions_and_one_killed_leaves_them_to_the_other_in_order(
    broker, settings, tmp_path: Path, postgresql_only
):
    """Two consumer processes on one database: PostgreSQL, as deployed (on SQLite two writing processes take
    turns at the file's one lock, and a consumer that waits on it past a lease TTL rightly loses its leases)."""
    settings.EVENTS_LEASE_SECONDS = TTL
    partitions = settings.EVENTS_PARTITIONS
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    env = {"EVENTS_LEASE_SECONDS": str(TTL)}
    with (
        process("consume_events", CONTEXT, "--prefetch", "10", log=first_log, **env) as first,
        process("consume_events", CONTEXT, "--prefetch", "10", log=second_log, **env) as second,
    ):
        wait_for(
            lambda: (
                {pid: len(held) for pid, held in leases_by_pid().items()}
                == {first.pid: partitions // 2, second.pid: partitions // 2}
            ),
            timeout=30,
            what="the two consumers holding half the partitions each",
            log=second_log,
        )
        run = uuid.uuid4().hex
        orders = publish_steps(run, orders=40, steps=5)
        relay_all()
        wait_for(lambda: len(applied(run)) == 200, what="the first steps applied", log=first_log)
        assert set(appliers(run)) == {first.pid, second.pid}  # each applied its partitions' share
        assert all(count > 0 for count in appliers(run).values())

        # A long stream, and the second process killed in the middle of it.
        publish_steps(run, orders=40, steps=40, first_step=5, ids=orders)
        relay_all()
        applied_before = appliers(run).get(second.pid, 0)
        wait_for(
            lambda: appliers(run).get(second.pid, 0) >= applied_before + 40,
            what="the second consumer applying the long stream",
            log=second_log,
        )
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=30)
        killed_at = time.monotonic()
        assert len(applied(run)) < 40 * 45  # killed mid-stream

        wait_for(
            lambda: leases_by_pid() == {first.pid: set(range(partitions))},
            timeout=TTL * 6,
            what="the first consumer taking the dead one's partitions",
            log=first_log,
        )
        assert time.monotonic() - killed_at >= TTL / 2  # not before the dead one's lease ran out
        wait_for(lambda: len(applied(run)) == 40 * 45, timeout=60, what="every step applied", log=first_log)
        assert first.poll() is None

    counts = applied(run)
    assert set(counts.values()) == {1}  # nothing twice, though the dead one's unacked messages came again
    rows = ProbeCounter.objects.filter(key__startswith=f"{run}:").order_by("pk").values_list("key", flat=True)
    by_order = defaultdict(list)
    for key in rows:
        by_order[key.split(":")[1]].append(int(key.rsplit(":", 1)[1]))
    assert {order: by_order[str(order)] for order in orders} == {order: list(range(45)) for order in orders}
    assert owed_count() == 0 and drain_all(CONTEXT) == []


def test_a_dead_letter_names_its_partition_queue_and_redrive_sends_it_back_there(broker, as_service):
    run, order = uuid.uuid4().hex, uuid.uuid4()
    partition = port.partition_of("probe.Stepped", f"order_id:{order}")
    queue = broker.partition_queue(CONTEXT, partition)
    body = f'{{"run": "{run}", "order_id": "{order}", "step": "not a number"}}'.encode()
    publish_raw(
        f"probe.Stepped.{CONTEXT}.{partition}",
        body,
        type="probe.Stepped",
        message_id=str(uuid.uuid4()),
        application_headers={"partition-key": f"order_id:{order}", "partition": partition},
    )
    with as_service():
        assert Consumer(CONTEXT).run(idle_exit=1.0) == 1
    (dead,) = drain(broker.dead_queue(CONTEXT))
    assert dead.properties["application_headers"]["dead-letter-queue"] == queue

    # Back into the dead-letter queue as it was, then re-driven by staff: to the queue it came from.
    publish_raw(CONTEXT, dead.body, exchange=broker.dead_exchange, **dead.properties)
    call_command("redrive_dead_letters", CONTEXT, stdout=io.StringIO())
    assert [depth(q) for q in broker.partition_queues(CONTEXT)] == [
        1 if q == queue else 0 for q in broker.partition_queues(CONTEXT)
    ]


def test_redrive_finds_the_partition_of_a_dead_letter_that_names_none(broker):
    """One the broker dead-lettered itself (its delivery limit) or from before partitions: its type and
    key say where it belongs."""
    order = uuid.uuid4()
    publish_raw(
        CONTEXT,
        b"{}",
        exchange=broker.dead_exchange,
        type="probe.Stepped",
        message_id="old",
        application_headers={"partition-key": f"order_id:{order}", port.REASON_HEADER: "handler failed"},
    )
    assert port.redrive(CONTEXT) == 1
    expected = broker.partition_queue(CONTEXT, port.partition_of("probe.Stepped", f"order_id:{order}"))
    (message,) = drain(expected)
    assert port.REASON_HEADER not in message.properties["application_headers"]


def test_a_partition_queue_not_declared_yet_is_skipped_and_the_others_go_on(broker, as_service, settings, caplog):
    """EVENTS_PARTITIONS raised on the consumers before declare_topology ran again: the partitions with
    no queue are skipped (an error says to run declare_topology) and their leases given back, while
    the queues that exist are consumed, instead of a reconnect loop that stalls them all."""
    with atomic_in("probe"):
        publish(Pinged(key="waiting"))
    relay_all()
    settings.EVENTS_PARTITIONS = 6
    with as_service():
        consumer = Consumer(CONTEXT)
        assert consumer.run(idle_exit=2.0) == 1
    assert depth_all_of(broker, 4) == 0
    assert f"{broker.partition_queue(CONTEXT, 4)} does not exist" in caplog.text
    assert "run manage.py declare_topology" in caplog.text


def depth_all_of(names: port.Names, partitions: int) -> int:
    return sum(depth(queue) for queue in names.partition_queues(CONTEXT, partitions))

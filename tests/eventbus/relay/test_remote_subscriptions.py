"""What the outbox owes a lifted context (``commerce.topology``): one ``relay:<context>`` delivery per
event it subscribes to, which no in-process dispatch, sweep or retry ever tries to deliver; its own
subscriptions run in process only in the shadow (``<CONTEXT>_SHARE`` under 100). No broker needed."""

import uuid

import pytest

from commerce.database import atomic_in
from commerce.eventbus import publish, publish_many
from commerce.eventbus.dispatch import requeue, sweep
from commerce.eventbus.models import Delivery
from tests.eventbus.relay.events import Stepped
from tests.eventbus.relay.support import wait_for
from tests.eventbus.support import deliveries, sweep_due_now
from tests.probe_sink.events import Pinged
from tests.probe_sink.handlers import attempts_of
from tests.probe_sink.models import ProbeCounter

pytestmark = pytest.mark.django_db(transaction=True)


def counted(key: str) -> int:
    counter = ProbeCounter.objects.filter(key=key).first()
    return counter.count if counter else 0


def test_a_lifted_context_is_owed_one_relay_delivery_per_event_and_nothing_runs_here(settings, settle_events):
    settings.LIFTED = frozenset({"probe_sink"})
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    sweep_due_now()

    owed = deliveries(message__payload__key=key)
    assert [(d.subscription, d.status, d.attempts) for d in owed] == [("relay:probe_sink", "pending", 0)]
    assert counted(f"{key}:count") == counted(f"{key}:record") == 0  # the service's to apply, not ours


def test_in_the_shadow_the_lifted_contexts_subscriptions_also_run_here(settings, settle_events):
    settings.LIFTED = frozenset({"probe_sink"})
    settings.PROBE_SINK_SHARE = 50
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()

    statuses = {d.subscription: d.status for d in deliveries(message__payload__key=key)}
    assert statuses.pop("relay:probe_sink") == "pending"
    assert set(statuses.values()) == {"delivered"}
    assert counted(f"{key}:count") == counted(f"{key}:record") == 1


def test_nothing_is_relayed_when_nothing_is_lifted(settle_events):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    assert not deliveries(message__payload__key=key, subscription__startswith="relay:")
    assert counted(f"{key}:count") == 1


def test_inside_the_service_its_own_context_is_local(settings, settle_events):
    settings.LIFTED = frozenset({"probe_sink"})
    settings.SERVED_BY = "probe_sink"
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    assert not deliveries(message__payload__key=key, subscription__startswith="relay:")
    assert counted(f"{key}:count") == 1


def test_relay_deliveries_carry_their_aggregate_and_a_retry_from_the_admin_leaves_them_to_the_relay(settings):
    settings.LIFTED = frozenset({"probe_sink"})
    run, order = uuid.uuid4().hex, uuid.uuid4()
    with atomic_in("probe"):
        publish_many([Stepped(run=run, order_id=order, step=step) for step in range(3)])
    owed = deliveries(message__payload__run=run)
    assert {d.partition_key for d in owed} == {f"order_id:{order}"}
    assert all(d.next_attempt_at <= d.created_at for d in owed)  # due at once: the relay owns them

    Delivery.objects.using(owed[0]._state.db).filter(pk__in=[d.pk for d in owed]).update(status="dead", attempts=8)
    assert requeue(owed[0]._state.db, [d.pk for d in owed]) == 3
    assert sweep() == 0
    assert {(d.status, d.attempts) for d in deliveries(message__payload__run=run)} == {("pending", 0)}


@pytest.fixture
def delivered_in_this_process(settings):
    """The cutover is this process's switch (``settings.LIFTED``): a Celery worker started for the whole
    session cannot see it, so these tests deliver in process whatever the stage's dispatcher."""
    settings.EVENTBUS = {**settings.EVENTBUS, "DISPATCH": "inline"}


def _fail_once_unlifted() -> tuple[str, Delivery]:
    """A ``Pinged`` published before the cutover whose in-process delivery failed once and waits for
    its retry (as a mail of the notifications context would, when the switch to LIFTED comes)."""
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key, fail_times=1))
    wait_for(lambda: attempts_of(key, "count") == 1 and deliveries(message__payload__key=key, status="failed"))
    (waiting,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    assert waiting.status == "failed"
    return key, waiting


def test_a_retry_waiting_at_the_cutover_is_owed_to_the_service_not_run_here(
    settings, settle_events, delivered_in_this_process
):
    key, _ = _fail_once_unlifted()
    settings.LIFTED = frozenset({"probe_sink"})
    sweep_due_now()
    settle_events()

    owed = [(d.subscription, d.status) for d in deliveries(message__payload__key=key, status__in=["pending", "failed"])]
    assert owed == [("relay:probe_sink", "pending")]  # the service hears of it through the broker
    assert attempts_of(key, "count") == 1 and counted(f"{key}:count") == 0  # not retried here


def test_a_dead_delivery_retried_by_staff_after_the_cutover_goes_to_the_service(
    settings, settle_events, delivered_in_this_process
):
    key, waiting = _fail_once_unlifted()
    Delivery.objects.using(waiting._state.db).filter(pk=waiting.pk).update(status="dead")
    settings.LIFTED = frozenset({"probe_sink"})

    assert requeue(waiting._state.db, [waiting.pk]) == 1
    settle_events()
    owed = [(d.subscription, d.status) for d in deliveries(message__payload__key=key, status__in=["pending", "failed"])]
    assert owed == [("relay:probe_sink", "pending")]
    assert attempts_of(key, "count") == 1 and counted(f"{key}:count") == 0


def test_two_deliveries_of_one_message_owed_at_the_cutover_make_one_relay_delivery(
    settings, settle_events, delivered_in_this_process
):
    key, waiting = _fail_once_unlifted()
    alias = waiting._state.db
    # Both of the message's in-process deliveries still owed (as a crash before dispatch leaves them).
    Delivery.objects.using(alias).filter(message_id=waiting.message_id).update(status="pending")
    settings.LIFTED = frozenset({"probe_sink"})
    sweep_due_now()
    settle_events()

    owed = [(d.subscription, d.status) for d in deliveries(message__payload__key=key, status__in=["pending", "failed"])]
    assert owed == [("relay:probe_sink", "pending")]
    assert attempts_of(key, "count") == 1 and attempts_of(key, "record") == 1


def test_in_the_shadow_a_retry_from_before_the_cutover_runs_here_and_is_owed_to_the_service(
    settings, settle_events, delivered_in_this_process
):
    key, _ = _fail_once_unlifted()
    settings.LIFTED = frozenset({"probe_sink"})
    settings.PROBE_SINK_SHARE = 50
    sweep_due_now()
    settle_events()

    # (the handler, retried here, publishes an ``Echoed`` of the same key: that one is owed as any new event)
    pinged = deliveries(message__payload__key=key, message__event_type="probe.Pinged")
    statuses = {d.subscription: d.status for d in pinged}
    assert statuses.pop("relay:probe_sink") == "pending"
    assert set(statuses.values()) == {"delivered"}
    assert counted(f"{key}:count") == 1

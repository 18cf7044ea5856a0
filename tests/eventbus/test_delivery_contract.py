"""The event bus's contract, as a publisher and a subscriber see it.

These run unchanged in inline mode and, in CI's celery stage, against a real worker and broker.
The probe publishes as context ``probe`` and subscribes as ``probe_sink``: in split mode they sit on
different databases.
"""

import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from commerce.database import atomic_in, database_for
from commerce.eventbus import publish
from commerce.eventbus.dispatch import sweep
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage
from tests.eventbus.support import deliveries, retry_until_settled, sweep_due_now
from tests.probe_sink.events import Pinged
from tests.probe_sink.handlers import attempts_of
from tests.probe_sink.models import ProbeCounter

pytestmark = pytest.mark.django_db(transaction=True)


def new_key() -> str:
    return uuid.uuid4().hex


def count(key: str) -> int:
    counter = ProbeCounter.objects.filter(key=key).first()
    return counter.count if counter else 0


def test_a_rolled_back_publish_delivers_nothing(settle_events):
    key = new_key()
    with pytest.raises(RuntimeError), atomic_in("probe"):
        publish(Pinged(key=key))
        raise RuntimeError("the publisher's transaction fails")
    settle_events()
    assert not OutboxMessage.objects.using(database_for("probe")).filter(payload__key=key).exists()
    assert count(f"{key}:count") == 0


def test_a_committed_publish_is_delivered_once_to_each_subscriber(settle_events):
    key = new_key()
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    assert count(f"{key}:count") == 1
    assert count(f"{key}:record") == 1
    assert {d.status for d in deliveries(message__payload__key=key)} == {"delivered"}


def test_a_failing_handler_is_retried_then_succeeds_without_disturbing_the_others(settle_events):
    key = new_key()
    with atomic_in("probe"):
        publish(Pinged(key=key, fail_times=1))
    retry_until_settled(settle_events)
    assert count(f"{key}:count") == 1
    assert attempts_of(key, "count") == 2
    assert count(f"{key}:record") == 1


def test_a_handler_that_keeps_failing_is_dead_lettered_with_its_error(settle_events):
    key = new_key()
    with atomic_in("probe"):
        publish(Pinged(key=key, fail_times=99))
    retry_until_settled(settle_events)
    (dead,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    assert dead.status == Delivery.Status.DEAD
    assert dead.attempts == 3
    assert "probe failure 3 of 99" in dead.last_error
    assert count(f"{key}:count") == 0


def test_retry_deliveries_brings_a_dead_letter_back(settle_events, admin_client):
    key = new_key()
    with atomic_in("probe"):
        publish(Pinged(key=key, fail_times=3))
    retry_until_settled(settle_events)
    (dead,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    assert dead.status == Delivery.Status.DEAD

    response = admin_client.post(
        f"/admin/eventbus/delivery/?database={database_for('probe')}",
        {"action": "retry_deliveries", "_selected_action": [dead.pk]},
    )
    assert response.status_code == 302
    settle_events()
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DELIVERED
    assert count(f"{key}:count") == 1


def test_the_same_event_delivered_twice_changes_state_once(settle_events):
    from commerce.eventbus.delivery import deliver

    key = new_key()
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    (delivery,) = deliveries(message__payload__key=key, subscription="probe_sink.record_when_pinged")
    # A redelivery, as after a worker crash between the handler's commit and the bookkeeping.
    Delivery.objects.using(delivery._state.db).filter(pk=delivery.pk).update(status=Delivery.Status.PENDING)
    deliver(delivery._state.db, delivery.pk)
    assert count(f"{key}:record") == 1
    assert attempts_of(key, "record") == 1
    assert (
        InboxEntry.objects.using(database_for("probe_sink"))
        .filter(subscription="probe_sink.record_when_pinged", event_id=delivery.message.event_id)
        .count()
        == 1
    )


def test_a_crash_between_commit_and_dispatch_is_healed_by_the_sweep(settle_events, monkeypatch):
    from commerce.eventbus import dispatch

    key = new_key()
    monkeypatch.setattr(dispatch, "dispatch", lambda alias, ids: None)  # the process "dies" after commit
    with atomic_in("probe"):
        publish(Pinged(key=key))
    monkeypatch.undo()
    assert count(f"{key}:count") == 0
    assert {d.status for d in deliveries(message__payload__key=key)} == {"pending"}

    assert sweep() == 0, "a fresh delivery belongs to its after-commit dispatch during the grace period"
    sweep_due_now()
    settle_events()
    assert count(f"{key}:count") == 1
    assert count(f"{key}:record") == 1


def test_events_round_trip_decimals_uuids_datetimes_and_nested_lines_exactly(settle_events):
    from commerce.eventbus.types import from_payload
    from tests.probe_sink.events import ProbeLine

    event = Pinged(
        key=new_key(),
        correlation_id="req-1",
        causation_id="req-1",
        amount=Decimal("12.50"),
        order_id=uuid.uuid4(),
        due_at=timezone.now(),
        lines=(ProbeLine(sku="SKU-1", quantity=2, price=Decimal("0.10")),),
    )
    with atomic_in("probe"):
        publish(event)
    stored = OutboxMessage.objects.using(database_for("probe")).get(event_id=event.event_id)
    assert from_payload(stored.event_type, stored.payload) == event
    assert stored.payload["amount"] == "12.50"


def test_a_handler_that_publishes_passes_correlation_and_causation_on(settle_events):
    key = new_key()
    with atomic_in("probe"):
        ping = Pinged(key=key, correlation_id="req-123", causation_id="req-123")
        publish(ping)
    settle_events()
    assert ProbeCounter.objects.filter(key=f"{key}:trace:req-123:{ping.event_id}").exists()


def test_a_bulk_publish_is_delivered_in_batches_and_one_failure_spares_the_rest(settle_events):
    from commerce.eventbus import publish_many

    keys = [new_key() for _ in range(120)]
    with atomic_in("probe"):
        publish_many([Pinged(key=key, fail_times=1 if n == 60 else 0) for n, key in enumerate(keys)])
    retry_until_settled(settle_events)
    assert all(count(f"{key}:record") == 1 for key in keys)
    assert all(count(f"{key}:count") == 1 for key in keys)
    assert attempts_of(keys[60], "count") == 2
    assert attempts_of(keys[59], "count") == 1


def test_a_batch_subscriber_takes_a_burst_in_one_call_and_applies_each_event_once(settle_events):
    from commerce.eventbus import publish_many

    keys = [new_key() for _ in range(30)]
    with atomic_in("probe"):
        publish_many([Pinged(key=key) for key in keys])
    settle_events()
    assert all(count(f"{key}:tally") == 1 for key in keys)
    assert sum(count(f"{key}:in-batch") for key in keys) >= 2, "the burst reached the handler in batches"


def test_a_failing_batch_falls_back_to_single_events_and_dead_letters_only_the_poison(settle_events):
    from commerce.eventbus import publish_many

    keys = [new_key() for _ in range(10)]
    poison = new_key() + "-poison"
    with atomic_in("probe"):
        publish_many([Pinged(key=key) for key in keys[:5]] + [Pinged(key=poison)] + [Pinged(key=k) for k in keys[5:]])
    retry_until_settled(settle_events)
    assert all(count(f"{key}:tally") == 1 for key in keys)
    (dead,) = deliveries(message__payload__key=poison, subscription="probe_sink.tally_when_pinged")
    assert dead.status == Delivery.Status.DEAD
    assert "poisoned batch" in dead.last_error


def test_a_failure_counts_on_top_of_attempts_counted_meanwhile(monkeypatch, settle_events):
    """Two deliverers (a sweep and a worker) may try the same delivery at once; each failure adds
    one attempt to what the database holds, not to what was read before the handler ran."""
    from commerce.eventbus import delivery as delivery_module
    from commerce.eventbus import dispatch

    key = new_key()
    monkeypatch.setattr(dispatch, "dispatch", lambda alias, ids: None)
    with atomic_in("probe"):
        publish(Pinged(key=key))
    (pending,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    alias = pending._state.db

    def fails_while_another_deliverer_counts(subscriber_alias, subscription, message):
        Delivery.objects.using(alias).filter(pk=pending.pk).update(attempts=F("attempts") + 1)
        return "RuntimeError: this attempt failed too"

    monkeypatch.setattr(delivery_module, "_apply_one", fails_while_another_deliverer_counts)
    delivery_module.deliver(alias, pending.pk)
    pending.refresh_from_db()
    assert pending.attempts == 2, "the other deliverer's attempt and this one"
    assert pending.status == Delivery.Status.FAILED
    assert pending.last_error == "RuntimeError: this attempt failed too"


def test_the_last_allowed_failure_dead_letters_even_when_counted_meanwhile(monkeypatch, settle_events):
    from commerce.eventbus import delivery as delivery_module
    from commerce.eventbus import dispatch

    key = new_key()
    monkeypatch.setattr(dispatch, "dispatch", lambda alias, ids: None)
    with atomic_in("probe"):
        publish(Pinged(key=key))
    (pending,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    alias = pending._state.db
    Delivery.objects.using(alias).filter(pk=pending.pk).update(attempts=settings.EVENTBUS["MAX_ATTEMPTS"] - 2)

    def fails_while_another_deliverer_counts(subscriber_alias, subscription, message):
        Delivery.objects.using(alias).filter(pk=pending.pk).update(attempts=F("attempts") + 1)
        return "RuntimeError: still failing"

    monkeypatch.setattr(delivery_module, "_apply_one", fails_while_another_deliverer_counts)
    outcome = delivery_module.deliver(alias, pending.pk)
    pending.refresh_from_db()
    assert (pending.status, pending.attempts) == (Delivery.Status.DEAD, settings.EVENTBUS["MAX_ATTEMPTS"])
    assert outcome.status == Delivery.Status.DEAD and outcome.retry_in_seconds is None


def test_deferred_attempts_do_not_use_up_the_attempts_a_later_failure_gets(monkeypatch, settle_events):
    """A handler that deferred its event (``Deferred``: it came before one it depends on) has not failed:
    however often it deferred, a real failure afterwards still gets every one of its attempts."""
    from commerce.eventbus import delivery as delivery_module
    from commerce.eventbus import dispatch

    key = new_key()
    monkeypatch.setattr(dispatch, "dispatch", lambda alias, ids: None)
    with atomic_in("probe"):
        publish(Pinged(key=key))
    (pending,) = deliveries(message__payload__key=key, subscription="probe_sink.count_when_pinged")
    alias = pending._state.db
    limit = settings.EVENTBUS["MAX_ATTEMPTS"]
    answers = iter([delivery_module.DeferredError("Deferred: what it needs is not here yet")] * (2 * limit))
    monkeypatch.setattr(delivery_module, "_apply_one", lambda *args: next(answers, "RuntimeError: broken"))

    statuses = [delivery_module.deliver(alias, pending.pk).status for _ in range(3 * limit)]

    assert statuses == [Delivery.Status.FAILED] * (3 * limit - 1) + [Delivery.Status.DEAD]
    pending.refresh_from_db()
    assert (pending.attempts, pending.deferrals, pending.last_error) == (3 * limit, 2 * limit, "RuntimeError: broken")

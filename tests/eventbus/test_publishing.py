"""Publishing refuses what it could not deliver, and costs the publisher little."""

from dataclasses import dataclass

import pytest
from django.db import connections

from commerce.database import atomic_in, database_for
from commerce.eventbus import Event, EventError, domain_event, publish, publish_many, subscriber
from tests.probe_sink.events import Pinged

pytestmark = pytest.mark.django_db


@dataclass(frozen=True, slots=True, kw_only=True)
class NeverRegistered(Event):
    key: str


def test_publishing_an_unregistered_event_type_fails_at_publish_time():
    with pytest.raises(EventError, match="not a registered event type"), atomic_in("probe"):
        publish(NeverRegistered(key="x"))


def test_publishing_a_value_that_does_not_serialize_fails_at_publish_time():
    with pytest.raises(EventError), atomic_in("probe"):
        publish(Pinged(key=object()))  # type: ignore[arg-type]


def test_an_event_name_must_name_its_context():
    with pytest.raises(EventError):
        domain_event("NoContext")


def test_a_publish_adds_two_queries_to_the_transaction(django_assert_num_queries):
    publisher_connection = connections[database_for("probe")]
    with atomic_in("probe"), django_assert_num_queries(2, connection=publisher_connection):
        publish(Pinged(key="cheap"))


def test_a_failing_handler_never_reaches_the_publisher(django_capture_on_commit_callbacks, settings):
    """Inline dispatch runs handlers in the publisher's process, right after its commit: the
    failure is recorded on the delivery for a retry, and the publisher's call returns normally."""
    from commerce.eventbus.models import Delivery, OutboxMessage

    settings.EVENTBUS = {**settings.EVENTBUS, "DISPATCH": "inline"}
    alias = database_for("probe")
    with django_capture_on_commit_callbacks(using=alias, execute=True) as callbacks, atomic_in("probe"):
        publish(Pinged(key="publisher-is-safe", fail_times=5))
    assert len(callbacks) == 1, "delivery was handed to the dispatcher after commit"
    assert OutboxMessage.objects.using(alias).filter(payload__key="publisher-is-safe").exists()
    deliveries = {
        d.subscription: d for d in Delivery.objects.using(alias).filter(message__payload__key="publisher-is-safe")
    }
    failed = deliveries["probe_sink.count_when_pinged"]
    assert (failed.status, failed.attempts) == (Delivery.Status.FAILED, 1)
    assert "probe failure 1 of 5" in failed.last_error
    assert deliveries["probe_sink.record_when_pinged"].status == Delivery.Status.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_publishing_outside_the_publishers_transaction_is_refused():
    with pytest.raises(EventError, match="inside the publisher's transaction"):
        publish(Pinged(key="no-transaction"))


def test_publish_many_writes_a_batch_in_two_inserts(django_assert_num_queries):
    """Two statements for 30 events (SQLite splits larger batches by its parameter limit)."""
    publisher_connection = connections[database_for("probe")]
    events = [Pinged(key=f"bulk-{n}") for n in range(30)]
    with atomic_in("probe"), django_assert_num_queries(2, connection=publisher_connection):
        publish_many(events)
    from commerce.eventbus.models import Delivery, OutboxMessage

    assert OutboxMessage.objects.using(database_for("probe")).filter(payload__key__startswith="bulk-").count() == 30
    assert Delivery.objects.using(database_for("probe")).filter(message__payload__key__startswith="bulk-").count() == 90


def test_publish_many_refuses_events_of_two_contexts():
    from tests.probe_sink.events import Echoed

    with pytest.raises(EventError, match="one context"), atomic_in("probe"):
        publish_many([Pinged(key="a"), Echoed(key="b")])


@pytest.fixture
def scratch_subscriptions(monkeypatch):
    """Subscriptions registered by a test vanish with it."""
    from commerce.eventbus import subscriptions

    monkeypatch.setattr(subscriptions, "_SUBSCRIPTIONS", dict(subscriptions._SUBSCRIPTIONS))
    return subscriptions


def test_stacking_subscriber_without_names_is_refused_at_import_time(scratch_subscriptions):
    from tests.probe_sink.events import Echoed

    with pytest.raises(EventError, match=r"already taken by .*give each @subscriber of .* its own name="):

        @subscriber(Pinged, context="probe_sink")
        @subscriber(Echoed, context="probe_sink")
        def react(event: Event) -> None:
            pass

    assert [s.event_name for s in scratch_subscriptions._SUBSCRIPTIONS.values() if s.name == "probe_sink.react"] == [
        "probe_sink.Echoed"
    ], "the first subscription stays as it was"


def test_stacked_subscribers_with_their_own_names_each_get_their_events(scratch_subscriptions):
    from tests.probe_sink.events import Echoed

    @subscriber(Pinged, context="probe_sink", name="probe_sink.react_when_pinged")
    @subscriber(Echoed, context="probe_sink", name="probe_sink.react_when_echoed")
    def react(event: Event) -> None:
        pass

    assert "probe_sink.react_when_pinged" in {s.name for s in scratch_subscriptions.subscriptions_for("probe.Pinged")}
    assert "probe_sink.react_when_echoed" in {
        s.name for s in scratch_subscriptions.subscriptions_for("probe_sink.Echoed")
    }


def test_a_handler_module_imported_twice_keeps_its_subscriptions(scratch_subscriptions):
    import importlib

    import tests.probe_sink.handlers as handlers

    before = set(scratch_subscriptions._SUBSCRIPTIONS)
    importlib.reload(handlers)
    assert set(scratch_subscriptions._SUBSCRIPTIONS) == before


class _RefusingBroker:
    """A broker address that takes each connection and drops it at once, counting the attempts."""

    def __init__(self) -> None:
        import socket
        import threading

        self.attempts = 0
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.attempts += 1
            connection.close()

    def close(self) -> None:
        self._socket.close()


@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_a_publisher_tries_once_and_leaves_the_delivery_to_the_sweep(settings):
    """Each queueing attempt costs the publisher one connection attempt, never kombu's default round of
    reconnections (~6 s, three attempts), which a checkout would wait through for each of its events."""

    from commerce.eventbus.models import Delivery, OutboxMessage
    from tests.support.processes import run_python

    broker = _RefusingBroker()
    script = (
        "import django; django.setup()\n"
        "from decimal import Decimal\n"
        "from contexts.pricing import api\n"
        "api.set_base_price(sku='BROKER-DOWN-2', currency='EUR', amount=Decimal('5.00'))\n"
        "api.set_base_price(sku='BROKER-DOWN-2', currency='EUR', amount=Decimal('6.00'))\n"
    )
    try:
        result = run_python(
            script,
            DJANGO_SETTINGS_MODULE=settings.SETTINGS_MODULE,
            COMMERCE_USE_TEST_DATABASES="1",
            EVENTBUS_DISPATCH="celery",
            CELERY_BROKER_URL=f"redis://127.0.0.1:{broker.port}/0",
        )
    finally:
        broker.close()
    assert broker.attempts == 2, broker.attempts  # one per publish
    assert result.stderr.count("Could not queue") == 2

    alias = settings.CONTEXT_DATABASES["pricing"]
    messages = OutboxMessage.objects.using(alias).filter(event_type="pricing.PriceChanged")
    assert messages.count() == 2
    assert set(Delivery.objects.using(alias).filter(message__in=messages).values_list("status", flat=True)) == {
        "pending"
    }

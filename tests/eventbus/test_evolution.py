"""Events change shape over releases without stranding what is in flight (DESIGN.md rule 6).

An event stored by an older release is read back with defaults for the fields it did not have,
upcast from its stored version to the current one, and refused clearly when it does not fit.
"""

import uuid
from dataclasses import dataclass

import pytest
from django.utils import timezone

from commerce.database import atomic_in, database_for
from commerce.eventbus import Event, EventError, domain_event, publish, upcaster
from commerce.eventbus.models import Delivery, OutboxMessage
from commerce.eventbus.types import from_payload
from tests.probe_sink.events import Pinged, Renamed
from tests.probe_sink.models import ProbeCounter


def envelope() -> dict[str, str]:
    return {
        "event_id": str(uuid.uuid4()),
        "occurred_at": timezone.now().isoformat(),
        "correlation_id": "req-1",
        "causation_id": "req-1",
    }


# --- Reading a stored payload (no database) --------------------------------------------------------


def test_a_payload_without_a_defaulted_field_is_rebuilt_with_the_default():
    event = from_payload("probe.Pinged", {**envelope(), "key": "old-shape"}, version=1)
    assert event.key == "old-shape"
    assert event.fail_times == 0 and event.lines == () and event.order_id is None


def test_a_payload_with_an_unknown_field_is_refused_by_name():
    with pytest.raises(EventError, match="Pinged has no field colour"):
        from_payload("probe.Pinged", {**envelope(), "key": "k", "colour": "blue"}, version=1)


def test_a_payload_without_a_required_field_is_refused_by_name():
    with pytest.raises(EventError, match="missing the required field key"):
        from_payload("probe.Pinged", envelope(), version=1)


def test_the_envelope_is_never_made_up_for_an_event_read_back():
    stored = envelope()
    del stored["event_id"]
    with pytest.raises(EventError, match="event_id"):
        from_payload("probe.Pinged", {**stored, "key": "k"}, version=1)


def test_a_nested_value_in_an_older_shape_takes_its_defaults_and_refuses_unknown_fields():
    line = {"sku": "SKU-1", "quantity": 1, "price": "1.00"}
    assert from_payload("probe.Pinged", {**envelope(), "key": "k", "lines": [line]}).lines[0].sku == "SKU-1"
    with pytest.raises(EventError, match="ProbeLine has no field colour"):
        from_payload("probe.Pinged", {**envelope(), "key": "k", "lines": [{**line, "colour": "red"}]})


def test_a_version_1_payload_is_upcast_to_version_2():
    event = from_payload("probe.Renamed", {**envelope(), "key": "k", "name": "old title"}, version=1)
    assert event == Renamed(**{**event_fields(event), "title": "old title", "note": ""})


def test_a_current_payload_is_not_upcast():
    event = from_payload("probe.Renamed", {**envelope(), "key": "k", "title": "t", "note": "n"}, version=2)
    assert (event.title, event.note) == ("t", "n")


def test_a_payload_from_a_newer_release_is_refused_until_that_release_runs():
    with pytest.raises(EventError, match="newer than this code's version 2"):
        from_payload("probe.Renamed", {**envelope(), "key": "k", "title": "t"}, version=3)


def test_an_upcaster_is_declared_for_a_version_the_type_has():
    @domain_event("probe.Upcastable", version=3)
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Upcastable(Event):
        pass

    with pytest.raises(EventError, match="not 3"):
        upcaster(Upcastable, from_version=3)
    with pytest.raises(EventError, match="not 0"):
        upcaster(Upcastable, from_version=0)


def test_an_upcaster_that_fails_names_the_event_and_the_step():
    @domain_event("probe.BrokenUpcast", version=2)
    @dataclass(frozen=True, slots=True, kw_only=True)
    class BrokenUpcast(Event):
        pass

    @upcaster(BrokenUpcast, from_version=1)
    def broken(payload):
        return payload["absent"]

    with pytest.raises(EventError, match=r"Upcasting probe\.BrokenUpcast from version 1 failed: KeyError"):
        from_payload("probe.BrokenUpcast", envelope(), version=1)


def event_fields(event: Event) -> dict:
    return {name: getattr(event, name) for name in ("event_id", "occurred_at", "correlation_id", "causation_id", "key")}


# --- Delivering what an older release stored ----------------------------------------------------


def publish_undispatched(monkeypatch, event: Event) -> OutboxMessage:
    """Publish as a release that died right after commit: the rows wait for the sweep."""
    from commerce.eventbus import dispatch

    monkeypatch.setattr(dispatch, "dispatch", lambda alias, ids: None)
    with atomic_in(event.context):
        publish(event)
    monkeypatch.undo()
    return OutboxMessage.objects.using(database_for(event.context)).get(event_id=event.event_id)


def rewrite(message: OutboxMessage, *, version: int, payload: dict) -> None:
    """Make the stored row look as an older release wrote it."""
    OutboxMessage.objects.using(message._state.db).filter(pk=message.pk).update(version=version, payload=payload)


@pytest.mark.django_db(transaction=True)
def test_an_event_stored_without_a_field_added_since_is_delivered(monkeypatch, settle_events):
    from tests.eventbus.support import sweep_due_now

    key = uuid.uuid4().hex
    message = publish_undispatched(monkeypatch, Pinged(key=key))
    older = {name: value for name, value in message.payload.items() if name not in {"amount", "lines", "due_at"}}
    rewrite(message, version=1, payload=older)

    sweep_due_now()
    settle_events()
    assert ProbeCounter.objects.get(key=f"{key}:count").count == 1
    assert {d.status for d in message.deliveries.using(message._state.db).all()} == {"delivered"}


@pytest.mark.django_db(transaction=True)
def test_an_event_stored_at_version_1_is_upcast_and_delivered(monkeypatch, settle_events):
    from tests.eventbus.support import sweep_due_now

    key = uuid.uuid4().hex
    message = publish_undispatched(monkeypatch, Renamed(key=key, title="new"))
    version_1 = {**{k: v for k, v in message.payload.items() if k not in {"title", "note"}}, "name": "old"}
    rewrite(message, version=1, payload=version_1)

    sweep_due_now()
    settle_events()
    assert ProbeCounter.objects.filter(key=f"{key}:renamed:old:").exists()


@pytest.mark.django_db(transaction=True)
def test_retry_deliveries_revives_an_event_an_older_release_dead_lettered(monkeypatch, settle_events, admin_client):
    """The release before this one could not read a payload missing a defaulted field and
    dead-lettered it; once this release runs, staff retry it from the admin and it is delivered."""
    key = uuid.uuid4().hex
    message = publish_undispatched(monkeypatch, Pinged(key=key))
    rewrite(message, version=1, payload={k: v for k, v in message.payload.items() if k != "amount"})
    alias = message._state.db
    dead = Delivery.objects.using(alias).get(message=message, subscription="probe_sink.count_when_pinged")
    Delivery.objects.using(alias).filter(message=message).update(
        status=Delivery.Status.DEAD, attempts=3, last_error="KeyError: 'amount'"
    )

    response = admin_client.post(
        f"/admin/eventbus/delivery/?database={alias}",
        {"action": "retry_deliveries", "_selected_action": [dead.pk]},
    )
    assert response.status_code == 302
    settle_events()
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DELIVERED
    assert ProbeCounter.objects.get(key=f"{key}:count").count == 1


@pytest.mark.django_db(transaction=True)
def test_a_payload_that_does_not_fit_dead_letters_with_a_clear_error(monkeypatch, settle_events):
    from tests.eventbus.support import retry_until_settled, sweep_due_now

    key = uuid.uuid4().hex
    message = publish_undispatched(monkeypatch, Pinged(key=key))
    rewrite(message, version=1, payload={**message.payload, "colour": "blue"})

    sweep_due_now()
    retry_until_settled(settle_events)
    deliveries = list(message.deliveries.using(message._state.db).all())
    assert {d.status for d in deliveries} == {"dead"}
    assert all("EventError: Pinged has no field colour" in d.last_error for d in deliveries)
    assert not ProbeCounter.objects.filter(key=f"{key}:count").exists()

"""Housekeeping: delivered rows are pruned after the retention, undelivered ones never; staff can
see every database's outbox; the embedded scheduler runs every periodic job."""

import html
import re
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from commerce.database import atomic_in, context_aliases, database_for
from commerce.eventbus import publish
from commerce.eventbus.delivery import prune
from commerce.eventbus.models import Delivery, InboxEntry, OutboxMessage
from commerce.periodic import beat_schedule
from tests.probe_sink.events import Pinged

pytestmark = pytest.mark.django_db(transaction=True)


def age_everything(days: int) -> None:
    past = timezone.now() - timedelta(days=days)
    for alias in context_aliases():
        OutboxMessage.objects.using(alias).update(created_at=past)
        InboxEntry.objects.using(alias).update(processed_at=past)


def test_delivered_messages_are_pruned_after_the_retention_and_undelivered_ones_never(settle_events, monkeypatch):
    from commerce.eventbus import dispatch

    with atomic_in("probe"):
        publish(Pinged(key="delivered"))
    settle_events()
    monkeypatch.setattr(dispatch, "dispatch", lambda alias, ids: None)
    with atomic_in("probe"):
        publish(Pinged(key="stuck"))
    monkeypatch.undo()

    age_everything(days=30)
    pruned = prune()

    outbox = OutboxMessage.objects.using(database_for("probe"))
    assert not outbox.filter(payload__key="delivered").exists()
    assert outbox.filter(payload__key="stuck").exists(), "an undelivered message must survive pruning"
    assert Delivery.objects.using(database_for("probe")).filter(message__payload__key="stuck").count() == 3
    assert pruned["messages"] >= 1 and pruned["inbox"] >= 2


def test_nothing_younger_than_the_retention_is_pruned(settle_events):
    with atomic_in("probe"):
        publish(Pinged(key="young"))
    settle_events()
    assert prune() == {"messages": 0, "inbox": 0}
    assert OutboxMessage.objects.using(database_for("probe")).filter(payload__key="young").exists()


@pytest.mark.parametrize("page", ["outboxmessage", "delivery", "inboxentry"])
def test_staff_can_list_the_bus_of_every_database(admin_client, page, settle_events):
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    message = OutboxMessage.objects.using(database_for("probe")).get(payload__key=key, event_type="probe.Pinged")
    holders = {database_for("probe")} if page != "inboxentry" else {database_for("probe_sink")}
    for alias in context_aliases():
        response = admin_client.get(f"/admin/eventbus/{page}/", {"database": alias})
        assert response.status_code == 200
        rows = response.context["cl"].result_list
        shown = {row.message.event_id if page == "delivery" else row.event_id for row in rows}
        listed = message.event_id in shown
        assert listed == (alias in holders), f"{page} on {alias}"
    filtered = admin_client.get(
        "/admin/eventbus/delivery/", {"database": database_for("probe"), "status": "delivered", "age": "1h"}
    )
    assert filtered.status_code == 200
    assert filtered.context["cl"].result_count == 0, "nothing delivered a moment ago is older than an hour"
    recent = admin_client.get("/admin/eventbus/delivery/", {"database": database_for("probe"), "status": "delivered"})
    assert {d.message.event_id for d in recent.context["cl"].result_list} >= {message.event_id}


def links(response, page: str) -> list[str]:
    return [
        html.unescape(href)
        for href in re.findall(rf'href="(/admin/eventbus/{page}/\d+/change/[^"]*)"', response.content.decode())
    ]


def test_every_admin_page_of_the_bus_stays_on_the_selected_database(admin_client, settle_events):
    """In split mode the probe's outbox is not on ``default``: the list, a message's page, its
    deliveries inline, the event-type filter and the links between message and deliveries must all
    read the database picked in the list (they used to read ``default`` and redirect)."""
    key = uuid.uuid4().hex
    with atomic_in("probe"):
        publish(Pinged(key=key))
    settle_events()
    alias = database_for("probe")
    message = OutboxMessage.objects.using(alias).get(payload__key=key, event_type="probe.Pinged")
    subscriptions = set(Delivery.objects.using(alias).filter(message=message).values_list("subscription", flat=True))

    listing = admin_client.get(
        "/admin/eventbus/outboxmessage/", {"database": alias, "q": str(message.event_id), "event_type": "probe.Pinged"}
    )
    (message_page_url,) = links(listing, "outboxmessage")
    message_page = admin_client.get(message_page_url)
    assert message_page.status_code == 200
    page = message_page.content.decode()
    assert str(message.event_id) in page
    assert all(name in page for name in subscriptions), "the deliveries inline come from the same database"

    delivery_urls = links(message_page, "delivery")
    assert len(delivery_urls) == len(subscriptions)
    delivery_page = admin_client.get(delivery_urls[0])
    assert delivery_page.status_code == 200, "a delivery link opens the delivery, no redirect"
    assert delivery_page.context["original"].message_id == message.pk
    (back_to_message,) = links(delivery_page, "outboxmessage")
    assert admin_client.get(back_to_message).status_code == 200

    deliveries = admin_client.get("/admin/eventbus/delivery/", {"database": alias})
    (event_filter,) = [
        f for f in deliveries.context["cl"].filter_specs if getattr(f, "lookup_kwarg", None) == "message__event_type"
    ]
    assert "probe.Pinged" in set(event_filter.lookup_choices)
    on_default = admin_client.get("/admin/eventbus/delivery/", {"database": "default"})
    (default_filter,) = [
        f for f in on_default.context["cl"].filter_specs if getattr(f, "lookup_kwarg", None) == "message__event_type"
    ]
    default_types = set(Delivery.objects.using("default").values_list("message__event_type", flat=True).distinct())
    assert set(default_filter.lookup_choices) == default_types

    (delivery_in_list,) = links(
        admin_client.get(
            "/admin/eventbus/delivery/",
            {"database": alias, "q": f"{message.event_id}", "subscription": "probe_sink.record_when_pinged"},
        ),
        "delivery",
    )
    assert admin_client.get(delivery_in_list).status_code == 200


def test_staff_cannot_delete_an_outbox_message(admin_client, settle_events):
    with atomic_in("probe"):
        publish(Pinged(key=uuid.uuid4().hex))
    settle_events()
    message = OutboxMessage.objects.using(database_for("probe")).first()
    response = admin_client.post(
        f"/admin/eventbus/outboxmessage/{message.pk}/delete/?database={database_for('probe')}", {"post": "yes"}
    )
    assert response.status_code == 403
    assert OutboxMessage.objects.using(database_for("probe")).filter(pk=message.pk).exists()


def test_periodic_jobs_are_declared_in_code_for_beat_and_the_embedded_scheduler():
    schedule = beat_schedule()
    assert {"eventbus.sweep_outbox", "eventbus.prune_outbox"} <= set(schedule)


def test_the_embedded_scheduler_runs_every_job_once(capsys):
    call_command("run_periodic", "--once")
    assert "eventbus.sweep_outbox" in capsys.readouterr().out


@pytest.mark.skipif(
    settings.EVENTBUS["DISPATCH"] != "celery",
    reason="beat's tables are installed with Celery dispatch only (the Celery stage of .ci/run runs this)",
)
def test_celery_beat_installs_the_periodic_jobs_into_a_fresh_database():
    from django_celery_beat.models import PeriodicTask

    from commerce.beat import PeriodicJobsScheduler
    from commerce.celery import app

    PeriodicJobsScheduler(app=app, lazy=False)
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"eventbus.sweep_outbox", "eventbus.prune_outbox"} <= names

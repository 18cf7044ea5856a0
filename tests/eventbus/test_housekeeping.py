"""Housekeeping: delivered rows are pruned after the retention, undelivered ones never; staff can
see every database's outbox; the embedded scheduler runs every periodic job."""

from datetime import timedelta

import pytest
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
    with atomic_in("probe"):
        publish(Pinged(key="visible"))
    settle_events()
    for alias in context_aliases():
        response = admin_client.get(f"/admin/eventbus/{page}/", {"database": alias})
        assert response.status_code == 200
    filtered = admin_client.get("/admin/eventbus/delivery/", {"status": "delivered", "age": "1h"})
    assert filtered.status_code == 200


def test_periodic_jobs_are_declared_in_code_for_beat_and_the_embedded_scheduler():
    schedule = beat_schedule()
    assert {"eventbus.sweep_outbox", "eventbus.prune_outbox"} <= set(schedule)


def test_the_embedded_scheduler_runs_every_job_once(capsys):
    call_command("run_periodic", "--once")
    assert "eventbus.sweep_outbox" in capsys.readouterr().out


def test_celery_beat_installs_the_periodic_jobs_into_a_fresh_database():
    from django_celery_beat.models import PeriodicTask

    from commerce.beat import PeriodicJobsScheduler
    from commerce.celery import app

    PeriodicJobsScheduler(app=app, lazy=False)
    names = set(PeriodicTask.objects.values_list("task", flat=True))
    assert {"eventbus.sweep_outbox", "eventbus.prune_outbox"} <= names

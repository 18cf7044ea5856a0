"""Which relay deliveries a relay may take now (``relay.claim``), against the real database: never an
event of a stream whose earlier event is still owed, and never nothing while a healthy stream waits."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from commerce.database import atomic_in, database_for
from commerce.eventbus import publish_many
from commerce.eventbus.models import Delivery
from commerce.eventbus.remote.relay import claim
from tests.eventbus.relay.events import Stepped

pytestmark = pytest.mark.django_db(transaction=True)


def test_followers_of_a_failed_head_filling_the_window_do_not_stall_a_healthy_stream(settings):
    settings.LIFTED = frozenset({"probe_sink"})
    alias = database_for("probe")
    run, stuck, healthy = uuid.uuid4().hex, uuid.uuid4(), uuid.uuid4()
    with atomic_in("probe"):
        publish_many([Stepped(run=run, order_id=stuck, step=step) for step in range(12)])
    with atomic_in("probe"):
        publish_many([Stepped(run=run, order_id=healthy, step=0)])
    owed = Delivery.objects.using(alias).filter(message__payload__run=run).order_by("pk")
    head = owed.filter(message__payload__order_id=str(stuck)).first()
    # The stuck stream's first event failed and waits an hour for its retry; its 11 followers are due.
    Delivery.objects.using(alias).filter(pk=head.pk).update(
        status="failed", attempts=3, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    (waiting,) = owed.filter(message__payload__order_id=str(healthy))

    with transaction.atomic(using=alias):
        claimed = claim(alias, limit=4)  # a window the stuck stream's followers alone could fill
    assert claimed == [waiting.pk]

"""The event-bus tests' helpers: the deliveries of every database, and time passing for retries."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from commerce.database import context_aliases
from commerce.eventbus.dispatch import sweep
from commerce.eventbus.models import Delivery


def deliveries(**filters) -> list[Delivery]:
    return [d for alias in context_aliases() for d in Delivery.objects.using(alias).filter(**filters)]


def sweep_due_now() -> None:
    """Make every waiting retry due and sweep, as time passing and the periodic job would."""
    for alias in context_aliases():
        Delivery.objects.using(alias).filter(status__in=["pending", "failed"]).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
    sweep()


def retry_until_settled(settle_events) -> None:
    """Drive retries until every delivery is delivered or dead: a worker retries on its own timer,
    inline mode needs the sweep (the periodic job) to run."""
    if settings.EVENTBUS["DISPATCH"] == "celery":
        settle_events()
        return
    for _ in range(100):  # inline, the sweep delivers before it returns: no waiting needed
        if not deliveries(status__in=["pending", "failed"]):
            return
        sweep_due_now()
    raise AssertionError(f"deliveries still due after 100 sweeps: {deliveries(status__in=['pending', 'failed'])}")

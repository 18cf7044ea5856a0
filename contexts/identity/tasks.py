"""Celery tasks of the identity context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.identity import services
from contexts.identity.services import notifications


@periodic(every=60)
@shared_task(name="identity.send_due_notifications", ignore_result=True)
def send_due_notifications() -> int:
    """Send notifications left unsent (a process died after recording them) or waiting out a retry."""
    return notifications.send_due_notifications()


@periodic(every=300)
@shared_task(name="identity.resume_erasures", ignore_result=True)
def resume_erasures() -> int:
    """Finish account erasures that a crash or a failing context left half done."""
    return services.resume_erasures()

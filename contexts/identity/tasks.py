"""Celery tasks of the identity context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.identity.services import notifications


@periodic(every=60)
@shared_task(name="identity.send_due_notifications", ignore_result=True)
def send_due_notifications() -> int:
    """Send notifications left unsent (a process died after recording them) or waiting out a retry."""
    return notifications.send_due_notifications()

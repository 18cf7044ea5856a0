"""Celery tasks of the notifications context: one service call each."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.notifications import services


@periodic(every=60)
@shared_task(name="notifications.send_due_notifications", ignore_result=True)
def send_due_notifications() -> int:
    """Send messages left unsent (a process died after recording them) or waiting out a retry."""
    return services.send_due_notifications()

"""Celery tasks of the identity context: fetch by id, one service call."""

from celery import shared_task

from commerce.periodic import periodic
from contexts.identity import services


@periodic(every=300)
@shared_task(name="identity.resume_erasures", ignore_result=True)
def resume_erasures() -> int:
    """Finish account erasures that a crash or a failing context left half done."""
    return services.resume_erasures()

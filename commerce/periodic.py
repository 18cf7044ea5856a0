"""One registry of periodic jobs, for Celery beat and for the embedded scheduler alike.

A context declares a job with ``@periodic(every=seconds)`` on a Celery task in its ``tasks.py``.
Beat gets them all (``beat_schedule``); without a broker, ``manage.py run_periodic`` runs the same
functions in process, so the embedded shop also expires reservations and sweeps the outbox.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    every_seconds: float
    task: Any  # a Celery task; calling it runs it in process


_JOBS: dict[str, PeriodicJob] = {}


def periodic(*, every: float) -> Callable[[Any], Any]:
    """Declare a Celery task as a periodic job running every ``every`` seconds."""

    def register(task: Any) -> Any:
        _JOBS[task.name] = PeriodicJob(name=task.name, every_seconds=every, task=task)
        return task

    return register


def jobs() -> tuple[PeriodicJob, ...]:
    """Every declared job; importing each installed app's ``tasks`` module first declares them all."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("tasks")
    return tuple(_JOBS.values())


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {job.name: {"task": job.name, "schedule": job.every_seconds} for job in jobs()}

"""Celery beat's scheduler: django-celery-beat's DatabaseScheduler, fed the jobs declared in code.

The scheduler copies ``app.conf.beat_schedule`` into its tables when it starts, so a fresh database
gets every job of ``commerce.periodic``; staff can still pause or retime them in the admin.
"""

from django_celery_beat.schedulers import DatabaseScheduler

from commerce.periodic import beat_schedule


class PeriodicJobsScheduler(DatabaseScheduler):
    def setup_schedule(self) -> None:
        self.app.conf.beat_schedule = beat_schedule()
        super().setup_schedule()

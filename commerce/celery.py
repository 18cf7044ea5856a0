"""The Celery application. Periodic jobs are declared here, in code, so that a fresh database gets
them: django-celery-beat's DatabaseScheduler copies ``beat_schedule`` into its tables on start."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

app = Celery("commerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(lambda: __import__("django.conf").conf.settings.INSTALLED_APPS)

# Every periodic job of the shop. Contexts add theirs to ``PERIODIC_TASKS`` in their tasks module;
# the kernel collects them through ``commerce.periodic`` so that it still imports no context.
app.conf.beat_schedule = {}


@app.on_after_finalize.connect
def _install_periodic_tasks(sender: Celery, **_: object) -> None:
    from commerce.periodic import beat_schedule

    sender.conf.beat_schedule = beat_schedule()

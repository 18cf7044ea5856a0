"""The Celery application. Periodic jobs are declared in code (``commerce.periodic``) and handed to
beat by ``commerce.beat.PeriodicJobsScheduler``, so a fresh database gets them all."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce.settings")

app = Celery("commerce")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # every installed app's tasks module

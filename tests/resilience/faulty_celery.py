"""The shop's Celery application with the fault point of ``RESILIENCE_BLOCK_AT`` installed (tests only):
``celery -A tests.resilience.faulty_celery worker``."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from commerce.celery import app  # noqa: E402
from tests.resilience import faults  # noqa: E402

faults.install()

__all__ = ["app"]

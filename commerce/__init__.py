"""The deployable and its platform kernel. It imports no business context."""

from commerce.celery import app as celery_app

__all__ = ["celery_app"]

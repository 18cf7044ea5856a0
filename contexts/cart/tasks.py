"""Celery tasks of the cart context: fetch by id, one service call."""

"""Celery tasks of the catalogue context: fetch by id, one service call."""

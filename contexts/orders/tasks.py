"""Celery tasks of the orders context: fetch by id, one service call."""

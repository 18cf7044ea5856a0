"""Celery tasks of the inventory context: fetch by id, one service call."""

"""Celery tasks of the pricing context: fetch by id, one service call."""

"""Celery tasks of the identity context: fetch by id, one service call."""

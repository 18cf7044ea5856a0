"""Reads inside the inventory context."""

"""Reads inside the orders context."""

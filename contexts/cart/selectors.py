"""Reads inside the cart context."""

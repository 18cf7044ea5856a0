"""Reads inside the pricing context."""

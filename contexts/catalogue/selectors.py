"""Reads inside the catalogue context."""

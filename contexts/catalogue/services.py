"""Writes of the catalogue context: atomic on its own database, publish events last."""

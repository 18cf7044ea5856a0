"""Writes of the inventory context: atomic on its own database, publish events last."""

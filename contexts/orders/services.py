"""Writes of the orders context: atomic on its own database, publish events last."""

"""Writes of the pricing context: atomic on its own database, publish events last."""

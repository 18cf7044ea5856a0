"""Writes of the cart context: atomic on its own database, publish events last."""

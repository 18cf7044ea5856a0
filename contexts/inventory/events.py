"""Events published by the inventory context."""

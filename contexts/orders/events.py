"""Events published by the orders context."""

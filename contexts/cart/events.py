"""Events published by the cart context."""

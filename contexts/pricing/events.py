"""Events published by the pricing context."""

"""Events published by the catalogue context."""

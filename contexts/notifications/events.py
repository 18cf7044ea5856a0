"""Events published by the notifications context: none. It only listens (DESIGN.md: fed by events only)."""

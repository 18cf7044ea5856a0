"""The cart context's own state. No relation leaves this context."""

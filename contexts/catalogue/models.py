"""The catalogue context's own state. No relation leaves this context."""

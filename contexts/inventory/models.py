"""The inventory context's own state. No relation leaves this context."""

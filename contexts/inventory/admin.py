"""Staff screens of the inventory context."""

"""Staff screens of the orders context."""

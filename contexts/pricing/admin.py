"""Staff screens of the pricing context."""

"""Staff screens of the cart context."""

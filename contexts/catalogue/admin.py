"""Staff screens of the catalogue context."""

"""The cart context's REST endpoints: one call into the context each."""

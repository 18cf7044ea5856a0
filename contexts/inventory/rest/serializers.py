"""Input and output shapes of the inventory context's REST API."""

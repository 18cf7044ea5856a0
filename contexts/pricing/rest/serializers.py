"""Input and output shapes of the pricing context's REST API."""

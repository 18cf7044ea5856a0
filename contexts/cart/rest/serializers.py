"""Input and output shapes of the cart context's REST API."""

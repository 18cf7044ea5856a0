"""Input and output shapes of the orders context's REST API."""

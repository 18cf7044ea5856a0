"""Input and output shapes of the catalogue context's REST API."""

"""Request schemas (bounded by the server's settings) and response schemas, kept apart."""

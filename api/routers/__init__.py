"""One router per resource: searches, score, catalog, health."""

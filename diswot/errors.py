"""The one exception type users see (defined with the search spaces, the bottom layer), and its per-field form."""

from search_spaces.errors import DiswotError

__all__ = ["DiswotError", "FieldError"]


class FieldError(DiswotError):
    """A DiswotError about one named field of a request (so a batch file can point at its line)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field

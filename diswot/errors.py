"""The one exception type users see: a message that says what was wrong and what is valid."""


class DiswotError(ValueError):
    """Bad input or an unmet request, explained in one line for the person who made it."""


class FieldError(DiswotError):
    """A DiswotError about one named field of a request (so a batch file can point at its line)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field

"""The one exception type users see: a message that says what was wrong and what is valid."""


class DiswotError(ValueError):
    """Bad input or an unmet request, explained in one line for the person who made it."""

"""The one exception type users see: a message that says what was wrong and what is valid.

It lives in the bottom layer so that search spaces raise it without importing `diswot`; `diswot.errors`
re-exports it, and it is the class users catch as `diswot.DiswotError`.
"""


class DiswotError(ValueError):
    """Bad input or an unmet request, explained in one line for the person who made it."""

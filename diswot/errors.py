"""The one exception type users see (defined with the search spaces, the bottom layer), and its per-field form."""

from typing import Callable

from search_spaces.errors import DiswotError

__all__ = ["DiswotError", "FieldError", "in_field"]


class FieldError(DiswotError):
    """A DiswotError about one named field of a request (so a batch file can point at its line)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"field {field!r}: {message}")
        self.field = field


def in_field(name: str, check: Callable[[], object]) -> None:
    """Run `check`; a DiswotError it raises becomes a FieldError naming `name` (one already naming a field stays)."""
    try:
        check()
    except FieldError:
        raise
    except DiswotError as error:
        raise FieldError(name, str(error)) from None

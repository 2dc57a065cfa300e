"""Files read only from inside an allowed directory.

A path is resolved (every symbolic link followed) each time a file is about to be read, and refused when the
result lies outside the directory: a link placed inside it, or swapped in after a request was accepted, cannot
lead a reader elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from diswot.errors import DiswotError


def resolve_inside(path: str | Path, allowed_dir: str | Path | None, what: str) -> Path:
    """`path` resolved; with `allowed_dir`, a DiswotError unless it resolves to inside that directory."""
    resolved = Path(path).expanduser().resolve()
    if allowed_dir is not None:
        root = Path(allowed_dir).expanduser().resolve()
        if not resolved.is_relative_to(root):
            raise DiswotError(f"{what} {str(path)!r} is outside the allowed directory {str(root)!r}")
    return resolved

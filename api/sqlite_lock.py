"""One server per SQLite file: SQLite is the embedded, single-replica store, and a second `diswot serve` on the
same file is refused at start-up (several replicas share a PostgreSQL database instead).

The running server holds an exclusive lock (flock) on `<database>.server-lock` for its lifetime; the operating
system lets it go when the process ends, a kill -9 included, so a crashed server never blocks the next one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import make_url

from diswot.errors import DiswotError


def sqlite_server_lock(url: str) -> Optional["SqliteServerLock"]:
    """The lock of the SQLite file at `url`; None for another database (or SQLite in memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return SqliteServerLock(Path(parsed.database))


class SqliteServerLock:
    def __init__(self, database_file: Path):
        self.path = Path(f"{database_file}.server-lock")
        self.handle: Optional[int] = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(handle, 64).decode(errors="replace").strip() or "unknown"
            os.close(handle)
            raise DiswotError(
                f"another diswot server (process {holder}) is using the SQLite database {self.path.with_suffix('')}: "
                "SQLite serves one server process; to run several replicas, give them one PostgreSQL database "
                "(DISWOT_DATABASE_URL=postgresql+psycopg://...)"
            ) from None
        os.ftruncate(handle, 0)
        os.write(handle, str(os.getpid()).encode())
        self.handle = handle

    def check_free(self) -> None:
        """Raise the error `acquire` would, now: `diswot serve` says it in one line before it starts the app."""
        self.acquire()
        self.release()

    def release(self) -> None:
        if self.handle is not None:
            os.close(self.handle)  # closing the descriptor drops the lock
            self.handle = None

"""Paths inside the server's folders as clients see them: relative to the configured teacher, data and
distillation folders.

A job stores and reads absolute paths (resolved inside those folders), and the library's messages name the file
they are about; answered as they are, they would tell every client where the server keeps its files. Every JSON
answer of the app goes through `ServerFolders.relative` (its default response class, and the DiswotError
handler): a path inside a folder loses the folder's part, so 'npz:/srv/data/c10.npz' reads 'npz:c10.npz', the
form a request gives it in, and the folder itself reads '.'.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from fastapi.responses import JSONResponse

from api.settings import Settings

# What may follow a folder's own name when it ends there (not a longer name such as /srv/data2).
NAME_CHARACTER = r"[\w.\-]"


class ServerFolders:
    def __init__(self, settings: Settings):
        folders = {
            str(folder.expanduser().resolve())
            for folder in (settings.teacher_dir, settings.data_dir, settings.distill_dir)
            if folder is not None
        }
        # Longest first: a folder inside another loses its whole path.
        alternatives = "|".join(re.escape(folder) for folder in sorted(folders, key=len, reverse=True))
        self.pattern: Optional[re.Pattern] = (
            re.compile(f"(?:{alternatives})(?:/|(?!{NAME_CHARACTER}))") if folders else None
        )

    def relative(self, value: Any) -> Any:
        """`value` (a JSON-like document or a string) with every path inside a folder relative to it."""
        if self.pattern is None:
            return value
        if isinstance(value, str):
            return self.pattern.sub(lambda match: "" if match.group().endswith("/") else ".", value)
        if isinstance(value, dict):
            return {key: self.relative(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.relative(item) for item in value]
        return value


def relative_paths_response(folders: ServerFolders) -> type[JSONResponse]:
    """The app's JSON response class: its content with `folders`' paths relative."""

    class RelativePathsJSONResponse(JSONResponse):
        def render(self, content: Any) -> bytes:
            return super().render(folders.relative(content))

    return RelativePathsJSONResponse

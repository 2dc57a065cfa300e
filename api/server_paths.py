"""Paths inside the server's folders as clients see them: relative to the configured teacher, data and
distillation folders.

A job stores and reads absolute paths (resolved inside those folders), and the library's messages name the file
they are about; answered as they are, they would tell every client where the server keeps its files. Every JSON
answer of the app goes through `ServerFolders` (its default response class, and the DiswotError handler): a
path inside a folder loses the folder's part, so 'npz:/srv/data/c10.npz' reads 'npz:c10.npz', the form a
request gives it in, and the folder itself reads '.'.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional

from fastapi.responses import JSONResponse

from api.settings import Settings

# What may follow a folder's own name when it ends there (not a longer name such as /srv/data2).
NAME_CHARACTER = r"[\w.\-]"


def folder_pattern(folders: Iterable[str]) -> Optional[str]:
    """A folder followed by '/' (group 1: dropped with it) or by the end of its name (then read as '.'); longest
    first, so that a folder inside another loses its whole path."""
    ordered = sorted(set(folders), key=len, reverse=True)
    if not ordered:
        return None
    return f"(?:{'|'.join(re.escape(folder) for folder in ordered)})(?:(/)|(?!{NAME_CHARACTER}))"


class ServerFolders:
    def __init__(self, settings: Settings):
        folders = [
            str(folder.expanduser().resolve())
            for folder in (settings.teacher_dir, settings.data_dir, settings.distill_dir)
            if folder is not None
        ]
        text = folder_pattern(folders)
        # A rendered answer is matched as its bytes, where a folder appears as JSON writes it inside a string
        # (ensure_ascii=False, as JSONResponse renders): one scan of the bytes instead of a walk of the document.
        rendered = folder_pattern(json.dumps(folder, ensure_ascii=False)[1:-1] for folder in folders)
        self.text = None if text is None else re.compile(text)
        self.rendered = None if rendered is None else re.compile(rendered.encode())

    def relative(self, text: str) -> str:
        if self.text is None:
            return text
        return self.text.sub(lambda match: "" if match.group(1) else ".", text)

    def relative_rendered(self, body: bytes) -> bytes:
        if self.rendered is None:
            return body
        return self.rendered.sub(lambda match: b"" if match.group(1) else b".", body)


def relative_paths_response(folders: ServerFolders) -> type[JSONResponse]:
    """The app's JSON response class: its body with `folders`' paths relative."""

    class RelativePathsJSONResponse(JSONResponse):
        def render(self, content: Any) -> bytes:
            return folders.relative_rendered(super().render(content))

    return RelativePathsJSONResponse

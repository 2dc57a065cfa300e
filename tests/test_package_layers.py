"""The layers import one way: `search_spaces` is the bottom and imports nothing of `diswot`, so what it
registers does not depend on what was imported before it. Each case runs in a fresh interpreter."""

import json
import subprocess
import sys

import pytest

from diswot.errors import DiswotError
from search_spaces import get_space


def fresh_interpreter(code: str) -> dict:
    """Run `code` (which sets `answer`) in a new Python and return `answer`, as JSON."""
    completed = subprocess.run(
        [sys.executable, "-c", f"import json\n{code}\nprint(json.dumps(answer))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def test_search_spaces_alone_imports_nothing_of_diswot():
    imported = fresh_interpreter(
        "import sys, search_spaces\nanswer = sorted(m for m in sys.modules if m.split('.')[0] == 'diswot')"
    )
    assert imported == []


@pytest.mark.parametrize("first", ["search_spaces", "diswot.teachers", "diswot.student_search", "api.app"])
def test_list_spaces_does_not_depend_on_what_was_imported_first(first):
    spaces = fresh_interpreter(f"import {first}\nfrom search_spaces import list_spaces\nanswer = list_spaces()")
    assert spaces == ["nb201", "resnet_cifar", "resnet_cifar_wide", "zoo", "mobilenet", "resnet_imagenet"]


def test_a_search_space_raises_the_error_users_catch_from_diswot():
    with pytest.raises(DiswotError, match="unknown search space 'nb202'"):
        get_space("nb202")

"""The layers import one way: `search_spaces` is the bottom and imports nothing of `diswot`, so what it
registers does not depend on what was imported before it. Each case runs in a fresh interpreter."""

import ast
import json
import subprocess
import sys
from pathlib import Path

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


PACKAGES = ("diswot", "api", "search_spaces")
ROOT = Path(__file__).resolve().parents[1]


def module_imports() -> dict[str, set[str]]:
    """Each package module -> the package modules it imports when it is imported (module level, outside
    `if TYPE_CHECKING:`; importing `a.b.c` imports `a` and `a.b` too), leaving out imports marked
    `(registration)`: a registry importing the modules that register into it."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        source = path.read_text()
        lines = source.splitlines()
        package_parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        found: set[str] = set()

        def visit(body):
            for node in body:
                if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                    continue
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    if "(registration)" in " ".join(lines[node.lineno - 1:node.end_lineno]):
                        continue
                    if isinstance(node, ast.Import):
                        found.update(alias.name for alias in node.names)
                        continue
                    base = node.module or ""
                    if node.level:
                        base = ".".join(package_parts[:len(package_parts) - node.level + 1] + [base] * bool(base))
                    found.update([base, *(f"{base}.{alias.name}" for alias in node.names)])
                elif isinstance(node, (ast.If, ast.Try)):
                    visit(node.body + node.orelse + [n for h in getattr(node, "handlers", []) for n in h.body])

        visit(ast.parse(source).body)
        targets = set()
        for imported in found:
            pieces = imported.split(".")
            targets.update(".".join(pieces[:i]) for i in range(1, len(pieces) + 1))
        graph[name] = {t for t in targets if t in modules and t != name and not name.startswith(t + ".")}
    return graph


def test_no_import_cycle_but_registration():
    graph = module_imports()
    assert "diswot.student_search.runner" in graph and "diswot.scoring_setup" in graph["diswot.student_search.request"]
    cycles = []
    for start in graph:  # a module that reaches itself again
        seen, frontier = set(), list(graph[start])
        while frontier:
            module = frontier.pop()
            if module == start:
                cycles.append(start)
                break
            if module not in seen:
                seen.add(module)
                frontier.extend(graph[module])
    assert cycles == []

"""Batch files: many searches (teachers x spaces x budgets) from one YAML file, validated before any runs.

    defaults: {strategy: aging, evaluations: 200, num_classes: 100}
    searches:                       # explicit searches ...
      - {teacher: resnet56, space: nb201, max_params: 0.5M}
    matrix:                         # ... and/or every combination of these lists
      teacher: [resnet56, resnet110]
      space: [resnet_cifar]
      budget: [{max_params: 0.3M}, {max_params: 1M}]

Any error names the file, the line and the field that is wrong.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from diswot.errors import DiswotError, FieldError
from diswot.student_search.request import SearchRequest

TOP_LEVEL_KEYS = ("defaults", "searches", "matrix")
MATRIX_KEYS = ("teacher", "space", "budget")


@dataclass(frozen=True)
class BatchEntry:
    name: str  # also the run sub-folder
    request: SearchRequest


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, where: str, path: Path) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise DiswotError(f"{path}:{_line(node)}: {where} must be a mapping of field: value")
    return {key.value: (key, value) for key, value in node.value}


def _value(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _fields(pairs: dict[str, tuple[yaml.Node, yaml.Node]]) -> tuple[dict[str, Any], dict[str, int]]:
    return {name: _value(value) for name, (_, value) in pairs.items()}, {name: _line(key) for name, (key, _) in pairs.items()}


def load_batch(path: str | Path) -> list[BatchEntry]:
    """Every search of the file, each parsed once into a SearchRequest (scored in-process unless the caller
    runs it otherwise, `SearchRequest.with_execution`), or a DiswotError 'FILE:LINE: field ...: why'."""
    path = Path(path)
    try:
        root = yaml.compose(path.read_text())
    except OSError as error:
        raise DiswotError(f"cannot read batch file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise DiswotError(f"{path}{line}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if root is None:
        raise DiswotError(f"{path}: the batch file is empty; it needs 'searches' or 'matrix'")
    top = _mapping(root, "the batch file", path)
    for key, (key_node, _) in top.items():
        if key not in TOP_LEVEL_KEYS:
            raise DiswotError(f"{path}:{_line(key_node)}: unknown key {key!r}; valid: {', '.join(TOP_LEVEL_KEYS)}")
    defaults, default_lines = _fields(_mapping(top["defaults"][1], "defaults", path)) if "defaults" in top else ({}, {})

    requests: list[tuple[dict[str, Any], dict[str, int], int]] = []
    if "searches" in top:
        searches = top["searches"][1]
        if not isinstance(searches, yaml.SequenceNode):
            raise DiswotError(f"{path}:{_line(searches)}: 'searches' must be a list of searches")
        for item in searches.value:
            values, lines = _fields(_mapping(item, "each search", path))
            requests.append(({**defaults, **values}, {**default_lines, **lines}, _line(item)))
    if "matrix" in top:
        requests += _matrix_requests(top["matrix"][1], defaults, default_lines, path)
    if not requests:
        raise DiswotError(f"{path}: no searches; add a 'searches' list or a 'matrix'")

    entries = []
    for number, (values, lines, item_line) in enumerate(requests, start=1):
        try:
            request = SearchRequest.parse(values)
        except FieldError as error:
            line = lines.get(error.field, item_line)
            raise DiswotError(f"{path}:{line}: search {number}: {error}") from None
        except DiswotError as error:
            raise DiswotError(f"{path}:{item_line}: search {number}: {error}") from None
        name = f"{number:03d}-{_slug(request.scoring.teacher)}-{request.space}"
        entries.append(BatchEntry(name, request))
    return entries


def _matrix_requests(node, defaults, default_lines, path):
    matrix = _mapping(node, "matrix", path)
    for key, (key_node, _) in matrix.items():
        if key not in MATRIX_KEYS:
            raise DiswotError(f"{path}:{_line(key_node)}: unknown matrix key {key!r}; valid: {', '.join(MATRIX_KEYS)}")
    axes = []
    for key in MATRIX_KEYS:
        if key not in matrix:
            axes.append([({}, {})])
            continue
        key_node, value_node = matrix[key]
        if not isinstance(value_node, yaml.SequenceNode) or not value_node.value:
            raise DiswotError(f"{path}:{_line(key_node)}: matrix {key!r} must be a non-empty list")
        if key == "budget":
            axes.append([_fields(_mapping(item, "each budget", path)) for item in value_node.value])
        else:
            axes.append([({key: _value(item)}, {key: _line(item)}) for item in value_node.value])
    line = _line(node)
    return [
        ({**defaults, **{k: v for values, _ in combo for k, v in values.items()}},
         {**default_lines, **{k: v for _, lines in combo for k, v in lines.items()}}, line)
        for combo in itertools.product(*axes)
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:40]

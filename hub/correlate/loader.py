"""Load rule packs from YAML, with errors that name the file, the line and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from hub.correlate.spec import RulePack
from hub.events import EVENT_TYPES


@dataclass(frozen=True)
class RuleProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class RuleFileError(Exception):
    def __init__(self, problems: list[RuleProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _line_index(node: yaml.Node, path: tuple[Any, ...], index: dict[tuple[Any, ...], int]) -> None:
    index[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            index[(*path, key)] = key_node.start_mark.line + 1
            _line_index(value_node, (*path, key), index)
            index[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, (*path, i), index)


def _line_of(loc: tuple[Any, ...], index: dict[tuple[Any, ...], int]) -> int | None:
    path = tuple(loc)
    while path:
        if path in index:
            return index[path]
        path = path[:-1]
    return index.get(())


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union tags (`threshold`, `function-after[...]`) from error paths."""
    kinds = {"threshold", "sequence", "absence", "colocation"}
    out: list[Any] = []
    previous: Any = None
    for part in loc:
        # The union's tag follows a list index (`rules.2.threshold.window`); a field that
        # happens to share a kind's name (`threshold:`) sits elsewhere and is kept.
        tag = part in kinds and isinstance(previous, int)
        previous = part
        if isinstance(part, str) and (tag or "[" in part):
            continue
        out.append(part)
    return tuple(out)


def load_text(text: str, name: str = "<rules>") -> RulePack:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleFileError([RuleProblem(name, line, "", f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise RuleFileError([RuleProblem(name, 1, "", "must be a mapping with `name` and `rules`")])
    index: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), index)
    try:
        pack = RulePack.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _clean_loc(tuple(err["loc"]))
            field = _describe(loc, data)
            problems.append(RuleProblem(name, _line_of(loc, index), field, err["msg"]))
        raise RuleFileError(problems) from None
    # An unknown type can never arrive (the hub rejects it at the door), so a rule naming one
    # would silently never match: a typo, said so here.
    unknown_types = []
    for i, rule in enumerate(pack.rules):
        unknown = sorted(rule.event_types() - EVENT_TYPES.keys())
        if unknown:
            unknown_types.append(
                RuleProblem(
                    name,
                    _line_of(("rules", i), index),
                    f"rules[{i}] ({rule.name})",
                    f"unknown event type {', '.join(unknown)}; "
                    f"known: {', '.join(sorted(EVENT_TYPES))}",
                )
            )
    if unknown_types:
        raise RuleFileError(unknown_types)
    return pack


def _describe(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    """`rules[2] (incident-burst).distance`: the index and the rule's name, when it has one."""
    parts: list[str] = []
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                named = node[part].get("name")
                if named and parts == ["rules"]:
                    label += f" ({named})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + str(part))
        node = node[part] if isinstance(node, dict | list) and _has(node, part) else None
    return "".join(parts)


def _has(node: dict[str, Any] | list[Any], part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def load_file(path: Path) -> RulePack:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(
            [RuleProblem(str(path), None, "", f"cannot read: {exc.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RuleFileError(
            [
                RuleProblem(
                    str(path),
                    line,
                    "",
                    f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8",
                )
            ]
        ) from None
    return load_text(text, str(path))


def rule_files(path: Path) -> list[Path]:
    """A file, or every *.yaml / *.yml rule file of a folder (rule tests excluded)."""
    if path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".yaml", ".yml") and not p.name.endswith((".test.yaml", ".test.yml"))
        )
    return [path]

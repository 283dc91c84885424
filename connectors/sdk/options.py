"""Build a click command from a connector's pydantic Options, so --help documents every option."""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any, Literal

import click
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from hub.errors import UserError


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _click_type(annotation: Any) -> tuple[Any, bool]:
    """(click type, multiple) for a field annotation."""
    annotation = _unwrap_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        inner, _ = _click_type(typing.get_args(annotation)[0])
        return inner, True
    if origin is Literal:
        return click.Choice([str(a) for a in typing.get_args(annotation)]), False
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return click.Choice([str(m.value) for m in annotation]), False
        if issubclass(annotation, bool):
            return bool, False
        if issubclass(annotation, int):
            return int, False
        if issubclass(annotation, float):
            return float, False
        if issubclass(annotation, Path):
            return click.Path(path_type=Path), False
    return str, False


def option_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def _option(name: str, info: FieldInfo) -> click.Option:
    ctype, multiple = _click_type(info.annotation)
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    help_text = info.description or ""
    if ctype is bool:
        return click.Option(
            [f"{option_name(name)}/--no-{name.replace('_', '-')}"],
            default=bool(default),
            show_default=True,
            help=help_text,
        )
    return click.Option(
        [option_name(name)],
        type=ctype,
        multiple=multiple,
        required=required,
        default=list(default) if multiple and default else default,
        show_default=not required and default not in (None, [], ()),
        help=help_text,
    )


def build_options(model: type[BaseModel]) -> list[click.Option]:
    return [_option(name, info) for name, info in model.model_fields.items()]


def validate(model: type[BaseModel], values: dict[str, Any]) -> BaseModel:
    """Validate parsed options; a bad value is a user error naming the option."""
    cleaned = {k: v for k, v in values.items() if v is not None and v != ()}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        problems = []
        for e in exc.errors()[:3]:
            where = ", ".join(option_name(str(p)) for p in e["loc"][:1])
            problems.append(f"{where}: {e['msg']}" if where else e["msg"])
        raise UserError(
            "invalid connector option " + "; ".join(problems),
            hint="see `onenet connector run NAME --help`",
            exit_code=2,
        ) from None

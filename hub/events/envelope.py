"""The CloudEvents 1.0 envelope every hub event travels in.

Strict mode (no coercion) because producers are other departments' systems: a number where a
string belongs is a bug to report back to them through the dead-letter topic, not to guess at.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from hub.events.fields import (
    DISTRICT_PATTERN,
    ID_PATTERN,
    JSON_MEDIA_PATTERN,
    TEXT_PATTERN,
    TYPE_PATTERN,
    URI_PATTERN,
    URI_REF_PATTERN,
    Rfc3339Time,
)

#: Attributes CloudEvents defines; everything else in the envelope is an extension.
CORE_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema"}
)
MAX_EXTENSIONS = 16
MAX_EXTENSION_TEXT = 1024
_INT32 = 2**31
# CloudEvents naming rule: lowercase ASCII letters and digits, at most 20 characters.
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")

ExtensionValue = str | int | bool


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 envelope with the hub's required ``time`` and ``district`` extension.

    ``data`` is the raw object as received; the typed view lives on :class:`hub.events.Event`.
    """

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=ID_PATTERN)]
    source: Annotated[
        str, StringConstraints(min_length=1, max_length=1024, pattern=URI_REF_PATTERN)
    ]
    type: Annotated[str, StringConstraints(min_length=3, max_length=256, pattern=TYPE_PATTERN)]
    time: Rfc3339Time
    subject: (
        Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=TEXT_PATTERN)]
        | None
    ) = None
    datacontenttype: Annotated[
        str, StringConstraints(max_length=256, pattern=JSON_MEDIA_PATTERN)
    ] = "application/json"
    dataschema: Annotated[str, StringConstraints(max_length=1024, pattern=URI_PATTERN)] | None = (
        None
    )
    district: Annotated[str, StringConstraints(pattern=DISTRICT_PATTERN)] | None = None
    data: dict[str, Any]

    @model_validator(mode="after")
    def _check_extensions(self) -> CloudEvent:
        extra = self.__pydantic_extra__
        if extra:
            # The JSON event format says a null attribute is the same as an absent one.
            for name in [name for name, value in extra.items() if value is None]:
                del extra[name]
            check_extensions(extra)
        return self

    @property
    def extensions(self) -> dict[str, ExtensionValue]:
        """Extension attributes other than ``district`` (which is a declared field)."""
        return dict(self.__pydantic_extra__ or {})

    def attributes(self) -> dict[str, str | int | bool | datetime]:
        """Every context attribute that is set (core and extensions), without ``data``."""
        out: dict[str, str | int | bool | datetime] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
        }
        if self.subject is not None:
            out["subject"] = self.subject
        out["datacontenttype"] = self.datacontenttype
        if self.dataschema is not None:
            out["dataschema"] = self.dataschema
        if self.district is not None:
            out["district"] = self.district
        if self.__pydantic_extra__:
            out.update(self.__pydantic_extra__)
        return out


def check_extensions(extra: dict[str, Any]) -> None:
    """Enforce the CloudEvents naming rule and type system (String, Integer, Boolean).

    Floats and nested values are not CloudEvents attribute types and could not survive the
    Kafka binary binding, where every attribute is a header string.
    """
    if len(extra) > MAX_EXTENSIONS:
        raise ValueError(f"at most {MAX_EXTENSIONS} extension attributes (got {len(extra)})")
    for name, value in extra.items():
        if name == "data_base64":
            raise ValueError("data_base64 is not accepted; send data as a JSON object")
        if not _EXTENSION_NAME.fullmatch(name):
            raise ValueError(
                f"extension {name[:40]!r}: names must be 1-20 lowercase letters or digits"
            )
        if isinstance(value, bool):
            continue
        if isinstance(value, int):
            if not -_INT32 <= value < _INT32:
                raise ValueError(f"extension {name!r}: integers must fit in 32 bits")
        elif isinstance(value, str):
            if len(value) > MAX_EXTENSION_TEXT:
                raise ValueError(f"extension {name!r}: at most {MAX_EXTENSION_TEXT} characters")
        else:
            raise ValueError(
                f"extension {name!r}: must be a string, integer or boolean "
                f"(got {type(value).__name__})"
            )

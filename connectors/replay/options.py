"""Options of the `replay` connector, checked before anything connects to Kafka.

Every mistake a person can make on the command line (a missing file, an unknown event type, a
column pair without `=`, a constant that is not a number) is reported here as the option it
concerns, so `onenet connector run replay` exits 2 with one clear line instead of failing
half-way through a file.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from connectors.replay.columns import ColumnMapping, parse_pairs, parse_timezone
from connectors.replay.source import STDIN, format_of, is_tsv
from connectors.sdk.mapping import load_mapping
from hub.errors import UserError
from hub.events import EVENT_TYPES


def _invalid(message: str) -> PydanticCustomError:
    # A custom error keeps the message as written (no "Value error, " prefix) in the CLI.
    return PydanticCustomError("replay_option", message)


class ReaderOptions(BaseModel):
    """What to read and how fast: shared by `replay` and connectors made from a mapping."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(
        description="JSONL or CSV file to replay (.jsonl, .ndjson, .csv, .tsv, also .gz); "
        "- reads standard input (which cannot resume)."
    )
    format: Literal["auto", "jsonl", "csv"] = Field(
        default="auto", description="Record format; auto picks it from the file's extension."
    )
    encoding: str = Field(
        default="utf-8-sig",
        description="Text encoding of a CSV file, e.g. gb18030 for exports from Excel in China.",
    )
    delimiter: str = Field(
        default=",",
        description="CSV delimiter (one character; \\t or tab for tabs, the default for .tsv).",
    )
    pace: Literal["fast", "original"] = Field(
        default="fast",
        description="fast: as fast as the broker takes them; original: wait between records "
        "as long as their event times are apart (divided by --speed).",
    )
    speed: float = Field(
        default=1.0,
        gt=0,
        description="Speed-up of --pace original: 60 replays one hour of events per minute.",
    )
    max_wait: float | None = Field(
        default=None,
        gt=0,
        description="With --pace original, never wait longer than this many seconds between "
        "two records (skips long quiet gaps).",
    )
    limit: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many records in this run; the next run resumes after them.",
    )

    @field_validator("file")
    @classmethod
    def _file_exists(cls, value: str) -> str:
        if value != STDIN and not Path(value).is_file():
            raise _invalid(f"no such file: {value}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            return codecs.lookup(value).name
        except LookupError:
            raise _invalid(f"unknown encoding {value!r}; try utf-8 or gb18030") from None

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        value = {"\\t": "\t", "tab": "\t"}.get(value.lower(), value)
        if len(value) != 1:
            raise _invalid(f"the delimiter must be one character, got {value!r}")
        return value

    @model_validator(mode="after")
    def _resolve_format(self) -> ReaderOptions:
        if self.format == "auto":
            found = format_of(self.file)
            if found is None:
                what = "standard input" if self.file == STDIN else repr(self.file)
                raise _invalid(
                    f"cannot tell the format of {what} from its name; pass --format jsonl or csv"
                )
            self.format = found
        if is_tsv(self.file) and "delimiter" not in self.model_fields_set:
            self.delimiter = "\t"
        return self


class ReplayOptions(ReaderOptions):
    mapping: str | None = Field(
        default=None,
        description="module:function mapping each record (a dict) to a Draft, or None to "
        "skip it; instead of the column options.",
    )
    type: str | None = Field(
        default=None,
        description="Event type of every CSV row, e.g. city.safety.hydrogen.reading.",
    )
    column: list[str] = Field(
        default_factory=list,
        description="FIELD=COLUMN, repeatable: event field from a CSV column, e.g. "
        "data.h2_ppm=ppm, time=timestamp, id=reading_no, data.location.lat=lat.",
    )
    set: list[str] = Field(
        default_factory=list,
        description="FIELD=VALUE, repeatable: a constant for every row, e.g. "
        "data.site_id=H2-07 or district=310115.",
    )
    district_column: str | None = Field(
        default=None,
        description="CSV column holding the district code (same as --column district=COLUMN).",
    )
    timezone: str | None = Field(
        default=None,
        description="Zone of CSV times written without an offset: +08:00, Z or Asia/Shanghai.",
    )

    @field_validator("mapping")
    @classmethod
    def _importable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                load_mapping(value)
            except ValueError as exc:
                raise _invalid(str(exc)) from None
        return value

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str | None) -> str | None:
        if value is not None and value not in EVENT_TYPES:
            raise _invalid(f"{value!r} is not a v1 event type; use one of {', '.join(EVENT_TYPES)}")
        return value

    @field_validator("column", "set")
    @classmethod
    def _pairs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        try:
            parse_pairs(value, right="COLUMN" if info.field_name == "column" else "VALUE")
        except ValueError as exc:
            raise _invalid(str(exc)) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_timezone(value)
            except ValueError as exc:
                raise _invalid(str(exc)) from None
        return value

    @property
    def uses_columns(self) -> bool:
        return bool(self.column or self.set or self.type or self.district_column)

    @model_validator(mode="after")
    def _one_way_to_map(self) -> ReplayOptions:
        if self.mapping and self.uses_columns:
            raise _invalid(
                "--mapping and the column options (--type, --column, --set, --district-column) "
                "exclude each other; use one"
            )
        if self.format == "csv" and not self.mapping and not self.uses_columns:
            raise _invalid(
                "a CSV file needs --type and --column FIELD=COLUMN pairs (or --mapping "
                "module:function); see --help"
            )
        if self.format != "csv" and self.uses_columns:
            raise _invalid(
                "--type, --column, --set and --district-column map CSV files; JSONL lines are "
                "CloudEvents already, or need --mapping module:function"
            )
        if self.uses_columns:
            try:
                self.column_mapping()
            except UserError as exc:
                raise _invalid(f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None
        return self

    def column_mapping(self) -> ColumnMapping:
        columns = parse_pairs(self.column, right="COLUMN")
        if self.district_column is not None:
            if "district" in columns:
                raise UserError(
                    "district is given by --column and by --district-column",
                    hint="use one of them",
                )
            columns["district"] = self.district_column
        return ColumnMapping(
            columns=columns,
            constants=parse_pairs(self.set, right="VALUE"),
            event_type=self.type,
            tz=parse_timezone(self.timezone) if self.timezone else None,
        )

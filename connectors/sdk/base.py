"""The connector class a department implements: options, and a `run` that feeds the sink."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from connectors.sdk.sink import Sink


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Connector(ABC):
    """Subclass, set `name`, `summary` and `Options`, and implement `run`.

    `Options` is a pydantic model: each field becomes a `--kebab-case` option of
    `onenet connector run NAME`, with the field's description as its help.
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, options: BaseModel) -> None:
        self.options = options

    @abstractmethod
    async def run(self, sink: Sink) -> None:
        """Read records and hand them to `sink` until the input ends or `sink.stopping` is set.

        Resume from `sink.resume_from` (the last checkpointed position, or None).
        """

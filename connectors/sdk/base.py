"""The connector class a department implements: options, and a `run` that feeds the sink."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from connectors.sdk.sink import Sink


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


OptionsT = TypeVar("OptionsT", bound=BaseModel)


class Connector(ABC, Generic[OptionsT]):
    """Subclass as `Connector[MyOptions]`, set `name`, `summary` and `Options`, implement `run`.

    `Options` is a pydantic model: each field becomes a `--kebab-case` option of
    `onenet connector run NAME`, with the field's description as its help. The type parameter
    types `self.options`; the constructor checks the instance against `Options`, so no
    connector narrows it again.
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, options: OptionsT) -> None:
        expected = type(self).Options
        if not isinstance(options, expected):
            raise TypeError(
                f"{type(self).__name__} takes {expected.__name__}, got {type(options).__name__}"
            )
        self.options: OptionsT = options

    @abstractmethod
    async def run(self, sink: Sink) -> None:
        """Read records and hand them to `sink` until the input ends or `sink.stopping` is set.

        Resume from `sink.resume_from` (the last checkpointed position, or None).
        """

    @classmethod
    def for_mapping(cls, name: str, func: Any) -> type[Connector[Any]]:
        """A connector called `name` that runs records through the mapping function `func`.

        The registry asks the connector registered as `MAPPING_HOST` (see `registry`) for this
        when an entry point names a bare function; other connectors need not provide it.
        """
        raise NotImplementedError(f"{cls.__name__} does not host mapping functions")


async def pause(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep between polls or scans, waking at once when asked to stop; True if it was."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout=max(seconds, 0))
    return stopping.is_set()

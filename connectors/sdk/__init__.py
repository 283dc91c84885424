"""The connector SDK: a department writes what to read and how to map it; the runner does the rest.

The rest is validation, CloudEvents wrapping, keys, a durable producer, dead-lettering with
reasons, de-duplication of re-sent `(source, id)`, a checkpoint to resume from, graceful
shutdown, and metrics.
"""

from connectors.sdk.base import Connector, NoOptions, pause
from connectors.sdk.item import Draft, Item, MappingError, SendOutcome
from connectors.sdk.sink import Sink

__all__ = [
    "Connector",
    "Draft",
    "Item",
    "MappingError",
    "NoOptions",
    "SendOutcome",
    "Sink",
    "pause",
]

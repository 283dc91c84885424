"""The `replay` connector: a JSONL or CSV export (or standard input) replayed as events.

`source` reads lines and rows with their problems, `columns` maps CSV columns without Python,
`options` checks the command line, `pace` keeps the original rhythm, `feed` reads in a
thread, `connector` resumes after the last acknowledged line. It also hosts plug-ins that
are only a mapping function (`connector_from_mapping`).
"""

from connectors.replay.connector import ReplayConnector, connector_from_mapping
from connectors.replay.options import ReaderOptions, ReplayOptions

__all__ = ["ReaderOptions", "ReplayConnector", "ReplayOptions", "connector_from_mapping"]

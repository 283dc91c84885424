"""The `cap` connector: OASIS CAP 1.2 alerts from files or an HTTP/Atom feed.

`parse` reads the XML, `mapping` turns an alert's infos into drafts, `sources` finds new
files and feed entries, `connector` runs them.
"""

from connectors.cap.connector import CapConnector, CapOptions

__all__ = ["CapConnector", "CapOptions"]

"""The `open311` connector: a GeoReport v2 server polled for service requests.

`client` polls with retries, `mapping` turns a request into opened/closed drafts,
`connector` keeps the time bound it resumes from.
"""

from connectors.open311.connector import Open311Connector, Open311Options

__all__ = ["Open311Connector", "Open311Options"]

"""The `http` connector: an HTTP ingest endpoint for CloudEvents, scoped by bearer tokens.

`decode` tells the content modes apart, `body` reads a bounded body, `auth` holds the token
file (and its `python -m connectors.http` helper), `app` answers requests, `connector`
serves them.
"""

from connectors.http.connector import HttpIngestConnector, HttpOptions

__all__ = ["HttpIngestConnector", "HttpOptions"]

"""`python -m connectors.http new|hash [TOKEN]`: make ingest tokens without storing them."""

import sys

from connectors.http.auth import main

raise SystemExit(main(sys.argv[1:]))

"""Run the correlation app as a Faust worker, with /metrics served beside it."""

from __future__ import annotations

import logging

import faust
from prometheus_client import start_http_server

from hub.settings import Settings
from hub.stream.app import create_app


def run_worker(settings: Settings, *, loglevel: str = "info", metrics_port: int = 6066) -> None:
    server, _thread = start_http_server(metrics_port, addr="127.0.0.1")
    logging.getLogger("onenet").info("metrics on http://127.0.0.1:%d/metrics", server.server_port)
    app = create_app(settings)
    worker = faust.Worker(app, loglevel=loglevel, redirect_stdouts=False)
    worker.execute_from_commandline()

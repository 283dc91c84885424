"""What an SRE needs from every hub process: /metrics, /healthz, /readyz, JSON logs, lag.

Each process (worker, connector, view) starts one `ObservabilityServer` on loopback and tells
it two things: that its main loop is alive (`beat`) and whether it can do its job
(`set_ready`). Prometheus scrapes the same port; orchestrators probe the health endpoints.
"""

from __future__ import annotations

from hub.observe.logs import JsonFormatter, configure_logging, log_format_from_env
from hub.observe.server import ObservabilityServer, start_observability_server

__all__ = [
    "JsonFormatter",
    "ObservabilityServer",
    "configure_logging",
    "log_format_from_env",
    "start_observability_server",
]

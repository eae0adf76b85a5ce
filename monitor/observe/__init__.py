"""Operating the service: its metrics, and the HTTP endpoints that show them and its health.

`recorder` is the small interface the pipeline and the dispatcher call; `metrics` counts
for Prometheus; `http` serves /healthz, /readyz and /metrics (`monitor run --http`).
"""

from __future__ import annotations

import os
import socket


def instance_id(configured: str | None) -> str:
    """`[service] instance`, else hostname-pid: several instances tell themselves apart."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"

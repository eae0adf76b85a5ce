"""veille: news monitoring and alerting for French digital-sovereignty policy.

`open_monitor` is the public Python API (see docs/api.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Monitor", "__version__", "open_monitor"]

if TYPE_CHECKING:
    from monitor.api import Monitor, open_monitor


def __getattr__(name: str) -> Any:
    # Imported on first use: `monitor --version` and the worker processes need none of it.
    if name in ("Monitor", "open_monitor"):
        from monitor import api

        return getattr(api, name)
    raise AttributeError(f"module 'monitor' has no attribute {name!r}")

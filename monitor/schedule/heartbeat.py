"""The running service's pulse: a small file rewritten by a scheduler job.

A fresh file proves that the process is alive and that its scheduler still runs
jobs, which is what a container's health check or a supervisor needs to know;
`monitor health` reads it. The service removes it when it stops cleanly, so a
file left behind by a killed process goes stale instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

HEARTBEAT_EVERY = timedelta(seconds=30)


def heartbeat_path(data_dir: Path) -> Path:
    return data_dir / "heartbeat.json"


@dataclass(frozen=True)
class Heartbeat:
    at: datetime
    pid: int
    sources: int
    rules: int
    # With `--http`: where the service answers /healthz, for `monitor health` to ask too.
    health_url: str | None = None

    def age(self, now: datetime) -> timedelta:
        return now - self.at


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Replace the file in one step, so that a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    data = asdict(beat) | {"at": beat.at.isoformat()}
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(path)


def read_heartbeat(path: Path) -> Heartbeat | None:
    """The last beat, or None when there is none (never started, or stopped cleanly)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Heartbeat(
            datetime.fromisoformat(data["at"]),
            int(data["pid"]),
            int(data["sources"]),
            int(data["rules"]),
            data.get("health_url"),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"unreadable heartbeat file {path}: {exc}") from exc


def service_health(data_dir: Path, max_age: timedelta, now: datetime) -> tuple[bool, str]:
    """Is the service alive: its heartbeat at most `max_age` old and, when it serves
    /healthz, that answering too. The verdict and one line saying why."""
    path = heartbeat_path(data_dir)
    try:
        beat = read_heartbeat(path)
    except ValueError as exc:
        return False, f"unhealthy: {exc}"
    if beat is None:
        return False, f"not running: no heartbeat at {path}"
    age = beat.age(now)
    healthy = age <= max_age
    answer = _ask_healthz(beat.health_url) if beat.health_url and healthy else ""
    healthy = healthy and not answer.startswith("did not")
    line = (
        f"{'running' if healthy else 'unhealthy'}: pid {beat.pid}, last heartbeat "
        f"{age.total_seconds():.0f}s ago (at most {max_age.total_seconds():.0f}s), "
        f"{beat.sources} sources, {beat.rules} rules"
        + (f"; {beat.health_url} {answer}" if answer else "")
    )
    return healthy, line


def _ask_healthz(url: str) -> str:
    """With `--http` on, a fresh heartbeat is not enough: the event loop must answer."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only)
            return (
                "answered" if response.status == 200 else f"did not answer 200: {response.status}"
            )
    except (urllib.error.URLError, OSError) as exc:
        return f"did not answer: {getattr(exc, 'reason', exc)}"

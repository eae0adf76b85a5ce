"""A real Matrix homeserver (Synapse) on loopback, for the Matrix delivery tests.

Synapse lives in a venv of its own (`.ci/install-synapse` creates it and prints its
python); `MONITOR_TEST_SYNAPSE_PYTHON` points at that python. The server runs as a
subprocess on 127.0.0.1 with SQLite, registration closed, federation and every
outbound request off, and rate limits raised (apprise logs in on every send, and
Synapse's default login limit answers the sixth login with a 429 and a wait of
several minutes). Users are created through the shared-secret admin API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support import free_port

PYTHON_VARIABLE = "MONITOR_TEST_SYNAPSE_PYTHON"
SECRET = "veille-test-shared-secret"
SERVER_NAME = "localhost"
_GENEROUS = "{per_second: 1000, burst_count: 1000}"


def synapse_python() -> tuple[str | None, str]:
    """The python of the Synapse venv, or None and why the Matrix tests cannot run."""
    value = os.environ.get(PYTHON_VARIABLE)
    if not value:
        return None, (
            f"Matrix tests need a Synapse venv: run .ci/install-synapse and set "
            f"{PYTHON_VARIABLE} to the python path it prints"
        )
    if not os.access(value, os.X_OK):
        return None, f"{PYTHON_VARIABLE}={value} is not an executable python"
    return value, ""


def _config(directory: Path, port: int) -> str:
    return textwrap.dedent(
        f"""\
        server_name: {SERVER_NAME}
        public_baseurl: http://127.0.0.1:{port}/
        listeners:
          - port: {port}
            bind_addresses: ["127.0.0.1"]
            type: http
            tls: false
            x_forwarded: false
            resources: [{{names: [client], compress: false}}]
        database: {{name: sqlite3, args: {{database: {directory}/homeserver.db}}}}
        log_config: {directory}/log.yaml
        media_store_path: {directory}/media
        signing_key_path: {directory}/signing.key
        registration_shared_secret: {SECRET}
        macaroon_secret_key: veille-test-macaroon
        form_secret: veille-test-form
        report_stats: false
        enable_registration: false
        trusted_key_servers: []
        federation_domain_whitelist: []
        url_preview_enabled: false
        presence: {{enabled: false}}
        enable_metrics: false
        ip_range_blacklist: ["0.0.0.0/0", "::/0"]
        bcrypt_rounds: 4
        rc_message: {_GENEROUS}
        rc_login:
          address: {_GENEROUS}
          account: {_GENEROUS}
          failed_attempts: {_GENEROUS}
        rc_joins: {{local: {_GENEROUS}}}
        rc_room_creation: {_GENEROUS}
        """
    )


def _log_config(directory: Path) -> str:
    handler = f"{{class: logging.FileHandler, filename: {directory}/homeserver.log}}"
    return (
        "version: 1\n"
        f"handlers: {{file: {handler}}}\n"
        "root: {level: WARNING, handlers: [file]}\n"
        "disable_existing_loggers: false\n"
    )


class Homeserver:
    """The client-server and admin APIs of a running Synapse, through the standard library."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.base = f"http://127.0.0.1:{port}"

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def register(self, user: str, password: str) -> str:
        """A new user (shared-secret registration); returns its access token."""
        nonce = self.call("GET", "/_synapse/admin/v1/register")[1]["nonce"]
        fields = [nonce, user, password, "notadmin"]
        mac = hmac.new(SECRET.encode(), "\0".join(fields).encode(), hashlib.sha1).hexdigest()
        status, reply = self.call(
            "POST",
            "/_synapse/admin/v1/register",
            {"nonce": nonce, "username": user, "password": password, "admin": False, "mac": mac},
        )
        assert status == 200, reply
        return str(reply["access_token"])

    def create_room(self, alias: str, token: str) -> str:
        """A public room `#alias:localhost` (anyone may join without an invitation)."""
        status, reply = self.call(
            "POST",
            "/_matrix/client/v3/createRoom",
            {"preset": "public_chat", "room_alias_name": alias},
            token,
        )
        assert status == 200, reply
        return str(reply["room_id"])

    def messages(self, room_id: str, token: str) -> list[dict[str, Any]]:
        """Every `m.room.message` event of the room, oldest first."""
        room = urllib.parse.quote(room_id, safe="")
        query = urllib.parse.urlencode({"dir": "b", "limit": 100})
        status, reply = self.call(
            "GET", f"/_matrix/client/v3/rooms/{room}/messages?{query}", token=token
        )
        assert status == 200, reply
        events = [event for event in reply["chunk"] if event["type"] == "m.room.message"]
        return list(reversed(events))

    def log(self) -> str:
        path = self.directory / "homeserver.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_homeserver(python: str, directory: Path, timeout: float = 60.0) -> Iterator[Homeserver]:
    """Start Synapse, wait until it answers, and stop it (by its own PID) afterwards."""
    port = free_port()
    (directory / "log.yaml").write_text(_log_config(directory))
    (directory / "homeserver.yaml").write_text(_config(directory, port))
    server = Homeserver(port, directory)
    with (directory / "stdout.log").open("wb") as output:
        process = subprocess.Popen(
            [python, "-m", "synapse.app.homeserver", "-c", str(directory / "homeserver.yaml")],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(server, process, time.monotonic() + timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_up(server: Homeserver, process: subprocess.Popen[bytes], deadline: float) -> None:
    while True:
        try:
            if server.call("GET", "/_matrix/client/versions")[0] == 200:
                return
        except OSError:
            pass
        if process.poll() is not None:
            output = (server.directory / "stdout.log").read_text(errors="replace")
            raise RuntimeError(f"Synapse exited with {process.returncode}:\n{output[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Synapse did not answer within the timeout:\n{server.log()[-3000:]}"
            )
        time.sleep(0.1)

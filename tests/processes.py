"""Real `fediverse serve` processes on free loopback ports, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    """One instance: its folder, config file, port and (while running) its process."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def config_path(self) -> Path:
        return self.directory / "instance.toml"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run a `fediverse` command against this instance's config."""
        return subprocess.run(
            [sys.executable, "-m", "fediverse", "--config", str(self.config_path), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=_env(),
        )

    def start(self, *extra: str) -> None:
        log = (self.directory / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fediverse", "--config", str(self.config_path), "serve", *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
        wait_until_up(self.base_url + "/.well-known/nodeinfo", self)

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log_text(self) -> str:
        path = self.directory / "serve.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "FEDIVERSE_CONFIG"}


def wait_until_up(url: str, server: ServerProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log_text()}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer within {timeout} s:\n{server.log_text()}")


def write_config(
    directory: Path,
    port: int,
    *,
    database_url: str | None = None,
    schema: str = "",
    extra: str = "",
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    url = database_url or "sqlite+aiosqlite:///data/instance.sqlite3"
    (directory / "instance.toml").write_text(
        f"""
[instance]
domain = "127.0.0.1:{port}"
base_url = "http://127.0.0.1:{port}"
name = "Instance on {port}"

[server]
host = "127.0.0.1"
port = {port}

[database]
url = "{url}"
schema = "{schema}"

[federation]
allow_private_addresses = true

[workers]
poll_interval_seconds = 0.1
{extra}
"""
    )


@contextmanager
def servers(base: Path, count: int, **config: str) -> Iterator[list[ServerProcess]]:
    """Yield `count` configured (not yet started) instances; stop them all afterwards."""
    started: list[ServerProcess] = []
    try:
        for index in range(count):
            port = free_port()
            directory = base / f"instance{index}"
            write_config(directory, port, **config)
            started.append(ServerProcess(directory=directory, port=port))
        yield started
    finally:
        for server in started:
            server.stop()

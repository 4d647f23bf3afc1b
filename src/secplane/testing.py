"""Run a throw-away secplane server from your tests (what moto's ThreadedMotoServer is for AWS users).

    from secplane.testing import server

    with server() as s:
        client = Client(s.tea_config())          # alibabacloud_ecs20140526.client.Client
        client.describe_regions(DescribeRegionsRequest())

With pytest, the ``secplane_server`` fixture (session-scoped) gives the same ``RunningServer``; it is
registered automatically when secplane is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class RunningServer:
    endpoint: str  # host:port, plain HTTP
    account_id: str
    access_key_id: str
    access_key_secret: str
    region_id: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def tea_config(self, **overrides: Any) -> Any:
        """An ``alibabacloud_tea_openapi`` Config pointing at this server with the root credentials."""
        from alibabacloud_tea_openapi.models import Config

        values = {
            "access_key_id": self.access_key_id,
            "access_key_secret": self.access_key_secret,
            "endpoint": self.endpoint,
            "protocol": "http",
            "region_id": self.region_id,
        }
        values.update(overrides)
        return Config(**values)

    def legacy_client(self) -> Any:
        """An ``aliyunsdkcore`` AcsClient with the root credentials (set each request's endpoint with
        ``request.set_endpoint(server.endpoint)`` and ``request.set_protocol_type("http")``)."""
        from aliyunsdkcore.client import AcsClient

        return AcsClient(self.access_key_id, self.access_key_secret, self.region_id)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(
    *,
    database_url: str | None = None,
    data_dir: Path | str | None = None,
    workers: int = 1,
    env: dict[str, str] | None = None,
    startup_timeout: float = 60.0,
    extra_args: list[str] | None = None,
) -> Iterator[RunningServer]:
    """Start ``secplane serve`` on a free port with a fresh data dir; stop it and clean up on exit.
    ``extra_args`` go to ``serve`` as they are (e.g. ``["--dataplane", "netns"]``)."""
    own_dir = data_dir is None
    path = Path(tempfile.mkdtemp(prefix="secplane-")) if own_dir else Path(data_dir)  # type: ignore[arg-type]
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "secplane",
        "serve",
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(path),
    ]
    cmd += ["--workers", str(workers)]
    if database_url:
        cmd += ["--database-url", database_url]
    cmd += extra_args or []
    path.mkdir(parents=True, exist_ok=True)
    log = open(path / "server.log", "ab")  # noqa: SIM115  (closed in finally)
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        _wait_healthy(port, proc, startup_timeout, path / "server.log")
        creds = json.loads((path / "credentials.json").read_text())
        yield RunningServer(
            endpoint=f"127.0.0.1:{port}",
            account_id=creds["account_id"],
            access_key_id=creds["access_key_id"],
            access_key_secret=creds["access_key_secret"],
            region_id=creds["region_id"],
            data_dir=path,
            database_url=database_url or f"sqlite:///{path / 'secplane.db'}",
            process=proc,
        )
    finally:
        stop(proc)
        log.close()
        if own_dir:
            shutil.rmtree(path, ignore_errors=True)


def stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, wait for a clean shutdown, kill if it does not come."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"secplane exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"secplane did not become healthy within {timeout}s:\n{log.read_text()[-4000:]}")


try:
    import pytest
except ImportError:  # pragma: no cover - the context manager works without pytest
    pass
else:

    @pytest.fixture(scope="session")
    def secplane_server() -> Iterator[RunningServer]:
        """A secplane server on SQLite for the whole test session."""
        with server() as running:
            yield running

"""First start and later starts: files, modes, printed credentials, health."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import psycopg
import pytest

from secplane.testing import server
from tests.rawclient import get, signed_v1_query


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_first_start_creates_key_account_and_credentials(tmp_path: Path) -> None:
    with server(data_dir=tmp_path) as running:
        creds = json.loads((tmp_path / "credentials.json").read_text())
        assert set(creds) == {"account_id", "access_key_id", "access_key_secret", "endpoint", "region_id"}
        assert len(creds["account_id"]) == 16 and creds["account_id"].isdigit()
        assert creds["endpoint"] == running.endpoint
        assert _mode(tmp_path / "credentials.json") == 0o600
        assert _mode(tmp_path / "master.key") == 0o600
        printed = (tmp_path / "server.log").read_text()
        assert creds["access_key_secret"] in printed and "alibabacloud_ecs20140526" in printed
        # the secret is sealed at rest: it is nowhere in the database file in clear
        assert creds["access_key_secret"].encode() not in (tmp_path / "secplane.db").read_bytes()
    first_log = (tmp_path / "server.log").read_text()
    with server(data_dir=tmp_path) as again:
        assert again.access_key_id == creds["access_key_id"]
        status, _ = get(again.endpoint, signed_v1_query(again, "DescribeRegions"))
        assert status == 200
    second_run = (tmp_path / "server.log").read_text()[len(first_log) :]
    assert creds["access_key_secret"] not in second_run  # nothing printed twice


def test_init_command_is_idempotent(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "secplane", "init", "--data-dir", str(tmp_path)]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert json.loads(first.stdout)["account_id"].isdigit()
    second = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "already initialized" in second.stdout


def test_health_turns_503_when_the_database_goes_away(pg_database: str) -> None:
    admin = pg_database.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    name = "secplane_health_" + os.urandom(4).hex()
    url = pg_database.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with server(database_url=url) as running:
        with urllib.request.urlopen(f"{running.url}/health", timeout=5) as r:
            assert r.status == 200
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{running.url}/health", timeout=10)
        assert err.value.code == 503
        status, body = get(running.endpoint, signed_v1_query(running, "DescribeRegions"))
        assert (status, body["Code"]) == (503, "ServiceUnavailable")
        assert body["RequestId"]


def test_calls_recover_when_the_database_drops_every_connection(own_pg_database: str) -> None:
    """Threads keep their connections between calls; when PostgreSQL ends them (a restart, a failover)
    the next call on each gets a retryable 503 and the ones after it succeed."""
    name = own_pg_database.rsplit("/", 1)[1]
    admin = own_pg_database.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with server(database_url=own_pg_database) as running:

        def call(action: str) -> tuple[int, str]:
            status, body = get(running.endpoint, signed_v1_query(running, action, RegionId=running.region_id))
            return status, str(body.get("Code", ""))

        assert call("CreateSecurityGroup")[0] == call("DescribeSecurityGroups")[0] == 200
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        first = [call("CreateSecurityGroup"), call("DescribeSecurityGroups")]
        assert all(r in ((200, ""), (503, "ServiceUnavailable")) for r in first), first
        assert [call("CreateSecurityGroup"), call("DescribeSecurityGroups")] == [(200, "")] * 2

"""Several server processes on one database: both serve, and a nonce used on one is refused by the other."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from secplane.testing import RunningServer, server
from tests.rawclient import get, signed_v1_query


@contextmanager
def two_servers(database_url: str | None) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two processes sharing a database (and, as documented, the same master key)."""
    first_dir = Path(tempfile.mkdtemp(prefix="secplane-a-"))
    second_dir = Path(tempfile.mkdtemp(prefix="secplane-b-"))
    try:
        with server(data_dir=first_dir, database_url=database_url) as first:
            for name in ("master.key", "credentials.json"):
                shutil.copy(first_dir / name, second_dir / name)
            if database_url is None:  # SQLite: the second process opens the first one's file
                database_url = first.database_url
            with server(data_dir=second_dir, database_url=database_url) as second:
                yield first, second
    finally:
        shutil.rmtree(first_dir, ignore_errors=True)
        shutil.rmtree(second_dir, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("pg_database")).replace("secplane_test_", "secplane_mp_")


@pytest.fixture
def fresh_pg(database_url: str | None) -> Iterator[str | None]:
    """A database of its own for this test (the session database already has a root account)."""
    if database_url is None:
        yield None
        return
    import psycopg

    admin = database_url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_processes_share_state_and_nonces(fresh_pg: str | None) -> None:
    with two_servers(fresh_pg) as (first, second):
        # the second process found the account the first created: the same credentials work on both
        assert second.access_key_id == first.access_key_id
        for running in (first, second):
            status, body = get(running.endpoint, signed_v1_query(first, "DescribeRegions"))
            assert status == 200, body
        replayed = signed_v1_query(first, "DescribeRegions", nonce="fixed-nonce-for-replay-test")
        status, body = get(first.endpoint, replayed)
        assert status == 200, body
        status, body = get(second.endpoint, replayed)
        assert (status, body["Code"]) == (400, "SignatureNonceUsed")


def test_second_process_with_another_master_key_refuses_to_start(tmp_path: Path) -> None:
    first_dir = tmp_path / "a"
    with server(data_dir=first_dir) as first, pytest.raises(RuntimeError, match="master key"):  # noqa: SIM117
        with server(data_dir=tmp_path / "b", database_url=first.database_url, startup_timeout=30):
            pass


def test_a_policy_change_in_one_process_applies_at_the_next_call_in_the_other(fresh_pg: str | None) -> None:
    """RAM-7 with several processes: each caches compiled policies, keyed on the account's revision."""
    from alibabacloud_ecs20140526 import models as m
    from alibabacloud_ram20150501 import models as ram_models
    from alibabacloud_tea_openapi.exceptions import ClientException

    from tests.ram_helpers import ecs, make_user, ram

    with two_servers(fresh_pg) as (first, second):
        creds = make_user(first, "mover", system=("AliyunECSReadOnlyAccess",))
        reader = ecs(second, creds)
        request = m.DescribeSecurityGroupsRequest(region_id="cn-hangzhou")
        reader.describe_security_groups(request)  # second process: allowed, and now cached
        ram(first).detach_policy_from_user(
            ram_models.DetachPolicyFromUserRequest(
                policy_type="System", policy_name="AliyunECSReadOnlyAccess", user_name="mover"
            )
        )
        with pytest.raises(ClientException) as info:
            reader.describe_security_groups(request)
        assert info.value.status_code == 403  # type: ignore[attr-defined]
        ram(first).update_access_key(
            ram_models.UpdateAccessKeyRequest(
                user_name="mover", user_access_key_id=creds.access_key_id, status="Inactive"
            )
        )
        with pytest.raises(ClientException) as info:
            reader.describe_security_groups(request)
        assert info.value.code == "InvalidAccessKeyId.Inactive"  # type: ignore[attr-defined]

"""Shared fixtures: live servers (SQLite and PostgreSQL) and the official SDK clients pointed at them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Connection

from secplane.store.db import Database
from secplane.testing import RunningServer, server

# Property tests judge behaviour, not speed: no per-example deadline on a busy 2-core CI machine.
settings.register_profile("secplane", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("secplane")

PG_ADMIN_URL = os.environ.get("SECPLANE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(_libpq(PG_ADMIN_URL), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def _fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    import psycopg

    if not _pg_available():
        if os.environ.get("SECPLANE_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required but does not answer at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    name = f"secplane_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(_libpq(PG_ADMIN_URL), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """The session's PostgreSQL database: the ``pg_api`` server's. A test that starts its own server
    (with its own master key) takes ``own_pg_database`` instead."""
    with _fresh_pg_database() as url:
        yield url


@pytest.fixture()
def own_pg_database() -> Iterator[str]:
    """A PostgreSQL database of this test alone."""
    with _fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def api(secplane_server: RunningServer) -> RunningServer:
    """The session's server on the SQLite default."""
    return secplane_server


@pytest.fixture(scope="session")
def pg_api(pg_database: str) -> Iterator[RunningServer]:
    """A server on PostgreSQL for the session."""
    with server(database_url=pg_database) as running:
        yield running


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def any_api(request: pytest.FixtureRequest) -> RunningServer:
    """Each test using this runs once against SQLite and once against PostgreSQL."""
    name = "api" if request.param == "sqlite" else "pg_api"
    return request.getfixturevalue(name)


@pytest.fixture(scope="session")
def ecs(api: RunningServer):  # type: ignore[no-untyped-def]
    """Tea (V3-signing) ECS client on the SQLite server."""
    from alibabacloud_ecs20140526.client import Client

    return Client(api.tea_config())


@pytest.fixture(scope="session")
def vpc(api: RunningServer):  # type: ignore[no-untyped-def]
    """Tea (V3-signing) VPC client on the SQLite server."""
    from alibabacloud_vpc20160428.client import Client

    return Client(api.tea_config())


def legacy_call(running: RunningServer, request, fmt: str = "JSON") -> bytes:  # type: ignore[no-untyped-def]
    """Send a legacy ``aliyunsdk*`` request (V1 HMAC-SHA1) to ``running``; returns the raw body.

    Errors raise ``ServerException``. ``do_action_with_exception`` forces JSON, so for XML the SDK's
    lower-level call is used and the status checked here.
    """
    request.set_endpoint(running.endpoint)
    request.set_protocol_type("http")
    client = running.legacy_client()
    if fmt == "JSON":
        return client.do_action_with_exception(request)
    request.set_accept_format(fmt)
    status, _headers, body, exception = client._implementation_of_do_action(request)
    if exception is not None:
        raise exception
    assert status == 200, body
    return body


@contextmanager
def server_db(running: RunningServer) -> Iterator[Connection]:
    """A write transaction on the running server's own database: set-up the API cannot do, and
    inspection of what it stored."""
    db = Database(running.database_url, pool_size=1)
    try:
        with db.write() as conn:
            yield conn
    finally:
        db.dispose()

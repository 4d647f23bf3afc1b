"""Every operation in the registry passes the authorize step before its handler (DESIGN: a must).

The gateway runs in-process here. For each registered action, a request with well-typed values for its
required parameters is sent by a RAM user without any policy: every action must answer 403 with its
product's denial code and Alibaba's AccessDeniedDetail — which it can only do if authorization ran
before the handler, and which fails for an action added without RAM metadata. The same request by the
account root is never denied by RAM.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest
from sqlalchemy import insert

from secplane import gateway
from secplane.bootstrap import initialize
from secplane.config import Settings
from secplane.domain import ids
from secplane.operations.registry import REGISTRY, Operation
from secplane.protocol.signature import v1_sign, v1_string_to_sign
from secplane.protocol.wire import WireRequest
from secplane.store import accounts
from secplane.store.schema import ram_users


@pytest.fixture(scope="module")
def inproc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[gateway.Gateway, Any, Any]]:
    """An in-process gateway, the root's credentials, and a RAM user's key with no policy at all."""
    data_dir: Path = tmp_path_factory.mktemp("authz")
    settings = Settings.from_env(data_dir=data_dir, database_url="")
    creds = initialize(settings)
    gw = gateway.Gateway(settings)
    now = time.time()
    with gw.db.write() as conn:
        conn.execute(
            insert(ram_users).values(
                id=ids.ram_id(), account_id=creds.account_id, name="nobody", created_at=now, updated_at=now
            )
        )
        key = accounts.create_access_key(conn, gw.master_key, creds.account_id, "nobody")
    user = SimpleNamespace(access_key_id=key.id, access_key_secret=key.secret)
    # No self-service either: with the defaults a user may change its own password without a policy.
    no_self_service = {
        "AllowUserToChangePassword": "false",
        "AllowUserToManageAccessKeys": "false",
        "AllowUserToManageMFADevices": "false",
    }
    preference = REGISTRY[("2015-05-01", "SetSecurityPreference")]
    assert gw.handle(_signed(creds, preference, no_self_service)).status == 200
    try:
        yield gw, creds, user
    finally:
        gw.close()


def _required_params(op: Operation[Any]) -> dict[str, str]:
    info = msgspec.inspect.type_info(op.request)
    assert isinstance(info, msgspec.inspect.StructType)
    params = {}
    for field in info.fields:
        if field.required:
            params[field.encode_name] = "1" if isinstance(field.type, msgspec.inspect.IntType) else "x"
    params["RegionId"] = "cn-hangzhou"
    return params


def _signed(creds: Any, op: Operation[Any], params: dict[str, str]) -> WireRequest:
    query = {
        "Action": op.action,
        "Version": op.product.version,
        "Format": "JSON",
        "AccessKeyId": creds.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **params,
    }
    query["Signature"] = v1_sign(creds.access_key_secret, v1_string_to_sign("GET", list(query.items())))
    from urllib.parse import urlencode

    return WireRequest.parse("GET", "/", urlencode(query), {"host": "127.0.0.1"}, b"", "127.0.0.1")


def test_registry_is_not_empty_and_every_action_is_unique() -> None:
    assert len(REGISTRY) >= 2
    assert all(op.ram_action == f"{op.product.service}:{op.action}" for op in REGISTRY.values())


@pytest.mark.parametrize("key", sorted(REGISTRY), ids=lambda k: f"{k[0]}:{k[1]}")
def test_every_action_is_authorized(inproc: tuple[gateway.Gateway, Any, Any], key: tuple[str, str]) -> None:
    gw, root, user = inproc
    op = REGISTRY[key]
    params = _required_params(op)
    response = gw.handle(_signed(user, op, params))
    body = msgspec.json.decode(response.body)
    if op.always_allowed:  # e.g. sts:GetCallerIdentity: anyone may ask who they are
        assert response.status == 200, body
        return
    assert (response.status, body["Code"]) == (403, op.product.denied_code), body
    detail = body["AccessDeniedDetail"]
    assert detail["AuthAction"] == op.ram_action
    assert detail["NoPermissionType"] == "ImplicitDeny"
    assert detail["AuthPrincipalDisplayName"] == "nobody"

    as_root = msgspec.json.decode(gw.handle(_signed(root, op, params)).body)
    assert "AccessDeniedDetail" not in as_root, as_root
